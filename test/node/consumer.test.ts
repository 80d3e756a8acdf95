/**
 * The package as its users get it: `npm pack`, the tarball installed into an empty folder, and
 * the two fixture Workers (test/fixtures) type-checked with Workers types and no DOM library,
 * then bundled with esbuild, as a user's build would. `npm test` builds dist/ first.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromiumOrThrow } from '../../scripts/chromium.ts';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const APP = mkdtempSync(join(tmpdir(), 'ets-consumer-'));
const run = (command: string, args: string[], cwd: string) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/worker/index.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does)');
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', APP], ROOT).trim().split('\n').at(-1)!;
  writeFileSync(
    join(APP, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'edge-token-store': `file:./${tarball}`, hono: '^4' } }),
  );
  // From npm's cache when it can (the repository's own install filled it), from the registry if not.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], APP);
  // The Workers types a user's project has; taken from this repository instead of downloaded again.
  mkdirSync(join(APP, 'node_modules/@cloudflare'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules/@cloudflare/workers-types'), join(APP, 'node_modules/@cloudflare/workers-types'));
  // The MCP server's peers, as docs/mcp.md has a user install them (the framework-free fixture serves /mcp).
  mkdirSync(join(APP, 'node_modules/@modelcontextprotocol'), { recursive: true });
  for (const name of ['@cloudflare/workers-oauth-provider', '@modelcontextprotocol/sdk', 'zod'])
    symlinkSync(join(ROOT, 'node_modules', name), join(APP, 'node_modules', name));
  for (const kind of ['hono', 'plain']) cpSync(join(ROOT, `test/fixtures/${kind}/index.ts`), join(APP, `${kind}.ts`));
  writeFileSync(
    join(APP, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        types: ['@cloudflare/workers-types'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['hono.ts', 'plain.ts'],
    }),
  );
  // A page of a user's (DOM types, no Workers types): the IndexedDB store, a manager, Zoho's client.
  writeFileSync(
    join(APP, 'page.ts'),
    `import { createTokenManager, isTokenStoreError } from 'edge-token-store';
import { browserCipher, openIndexedDBStore } from 'edge-token-store/idb';
import { createPkce, zohoOAuth } from 'edge-token-store/zoho';

const store = await openIndexedDBStore({ cipher: await browserCipher() });
const oauth = zohoOAuth({ dataCenter: 'eu', clientId: '1000.PAGE', redirectUrl: location.origin + '/' });
const manager = createTokenManager({ store, oauth });
const { challenge } = await createPkce();
document.querySelector('a')!.href = oauth.authorizationUrl({ scope: 'ZohoCRM.modules.ALL', state: crypto.randomUUID(), codeChallenge: challenge });
try {
  const leads: Response = await manager.fetchCrm({ userName: 'ana@example.com:7001' }, '/crm/v8/Leads?fields=Last_Name');
  console.log(leads.status);
} catch (error) {
  if (isTokenStoreError(error)) console.log(error.code, error.retryable);
}
`,
  );
  writeFileSync(
    join(APP, 'tsconfig.page.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023', 'DOM'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['page.ts'],
    }),
  );
}, 240_000);

describe('the packed package in a fresh project', () => {
  it('installs with only its own files: dist/, no sources, no tests', () => {
    const installed = JSON.parse(readFileSync(join(APP, 'node_modules/edge-token-store/package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(installed.exports)).toEqual(expect.arrayContaining(['./worker', './hono']));
    expect(existsSync(join(APP, 'node_modules/edge-token-store/src'))).toBe(false);
    expect(existsSync(join(APP, 'node_modules/edge-token-store/dist/worker/index.d.ts'))).toBe(true);
  });

  /** What tsc prints for a project: nothing when it type-checks. */
  const typeCheck = (project: string) => {
    try {
      run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(APP, project)], APP);
      return '';
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? error);
    }
  };

  it('type-checks a Hono Worker and a framework-free one with Workers types and no DOM library', () => {
    expect(typeCheck('tsconfig.json')).toBe('');
  });

  it("type-checks docs/mcp.md's MCP server (Workers types), with the provider, the MCP SDK and zod installed", () => {
    const guide = readFileSync(join(ROOT, 'docs/mcp.md'), 'utf8');
    const server = /## Your own server\n\n```ts\n([\s\S]*?)```/.exec(guide)![1]!;
    writeFileSync(join(APP, 'mcp.ts'), server);
    writeFileSync(join(APP, 'tsconfig.mcp.json'), JSON.stringify({ extends: './tsconfig.json', include: ['mcp.ts'] }));
    expect(typeCheck('tsconfig.mcp.json')).toBe('');
  });

  it("refuses a subclass of the library's objects that overrides alarm(), and accepts one that overrides onAlarm()", () => {
    const subclass = (member: string) =>
      `import { ZohoUserObject } from 'edge-token-store/worker';\nexport class Mine extends ZohoUserObject {\n  ${member}\n}\n`;
    writeFileSync(join(APP, 'on-alarm.ts'), subclass("protected override async onAlarm(): Promise<void> { await this.ctx.storage.put('ran', true); }"));
    writeFileSync(join(APP, 'own-alarm.ts'), subclass('override async alarm(): Promise<void> {}'));
    for (const name of ['on-alarm', 'own-alarm'])
      writeFileSync(join(APP, `tsconfig.${name}.json`), JSON.stringify({ extends: './tsconfig.json', include: [`${name}.ts`] }));
    expect(typeCheck('tsconfig.on-alarm.json')).toBe('');
    expect(typeCheck('tsconfig.own-alarm.json')).toMatch(/own-alarm\.ts.*error TS2425/s);
  });

  it('type-checks every ts block of README.md and docs/ as a file of its own (a block whose first line says `// sketch` is skipped; `// file:` blocks run below)', () => {
    const docs = [
      'README.md',
      ...readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const blocks = docs.flatMap((doc) =>
      [...readFileSync(join(ROOT, doc), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match, i) => ({
        name: `${doc.replace(/\W/g, '-')}-${i + 1}`,
        body: match[1]!,
      })),
    );
    const checked = blocks.filter(({ body }) => !/^\s*\/\/ (sketch|file:)/.test(body));
    expect(checked.length).toBeGreaterThan(15);
    mkdirSync(join(APP, 'doc-blocks'), { recursive: true });
    const page: string[] = [];
    const node: string[] = [];
    const worker: string[] = [];
    for (const { name, body } of checked) {
      writeFileSync(join(APP, 'doc-blocks', `${name}.ts`), `${body}\nexport {};\n`);
      // Where the block runs: a page (IndexedDB, the DOM), Node (node:*, process, the official SDK), else a Worker.
      const where = /edge-token-store\/idb|\blocation\.|\bdocument\./.test(body) ? page : /from 'node:|\bprocess\.|@zohocrm\//.test(body) ? node : worker;
      where.push(`doc-blocks/${name}.ts`);
    }
    // The official SDK and Node's types, as a Node project of the user's has them.
    for (const name of ['@zohocrm/typescript-sdk-8.0', '@types/node']) {
      mkdirSync(dirname(join(APP, 'node_modules', name)), { recursive: true });
      if (!existsSync(join(APP, 'node_modules', name))) symlinkSync(join(ROOT, 'node_modules', name), join(APP, 'node_modules', name));
    }
    writeFileSync(join(APP, 'tsconfig.docs-worker.json'), JSON.stringify({ extends: './tsconfig.json', include: worker }));
    writeFileSync(join(APP, 'tsconfig.docs-page.json'), JSON.stringify({ extends: './tsconfig.page.json', include: page }));
    // Node's types (with the DOM library's Web Crypto names, as most Node projects have them); the SDK's own declarations do not check cleanly.
    writeFileSync(
      join(APP, 'tsconfig.docs-node.json'),
      JSON.stringify({ extends: './tsconfig.json', compilerOptions: { types: ['node'], lib: ['ES2023', 'DOM'], skipLibCheck: true }, include: node }),
    );
    expect(typeCheck('tsconfig.docs-worker.json')).toBe('');
    expect(typeCheck('tsconfig.docs-page.json')).toBe('');
    expect(typeCheck('tsconfig.docs-node.json')).toBe('');
  });

  it('type-checks a page (DOM types, no Workers types) using the IndexedDB store, a manager and the Zoho client', () => {
    expect(typeCheck('tsconfig.page.json')).toBe('');
  });

  it('bundles both with esbuild as a Worker build would', async () => {
    for (const kind of ['hono', 'plain']) {
      const result = await build({
        entryPoints: [join(APP, `${kind}.ts`)],
        bundle: true,
        format: 'esm',
        platform: 'neutral',
        // As wrangler bundles a Worker.
        conditions: ['workerd', 'worker', 'browser'],
        mainFields: ['browser', 'module', 'main'],
        external: ['cloudflare:*'],
        minify: true,
        write: false,
        logLevel: 'silent',
      });
      const code = result.outputFiles[0]!.text;
      expect(code.length).toBeGreaterThan(1000);
      // The classes a user exports and binds are in the bundle, under their names.
      for (const name of ['ZohoUserObject', 'ZohoLoginStates', 'ZohoDirectory']) expect(code).toContain(name);
    }
  });
});

describe("docs/testing.md's examples, as a user writes them from the guide", () => {
  /** The guide's files: each code block that starts with a `file:` comment. */
  const guideFiles = () =>
    [...readFileSync(join(ROOT, 'docs/testing.md'), 'utf8').matchAll(/```(?:ts|toml)\n(?:\/\/|#) file: (\S+)\n([\s\S]*?)```/g)].map(([, path, body]) => ({
      path: path!,
      body: body!,
    }));

  it('holds the files of a project: a Worker, its wrangler.toml, its vitest config and test; a page test and its config; a Node script with the official SDK', () => {
    expect(guideFiles().map((f) => f.path)).toEqual([
      'src/index.ts',
      'wrangler.toml',
      'vitest.config.ts',
      'test/contacts.test.ts',
      'vitest.page.config.ts',
      'test/page.test.ts',
      'sdk-script.ts',
    ]);
  });

  it('runs them: the Worker test logs a user in and lists, creates, searches and deletes Contacts through zohoRoutes(); the page test in Chromium; the SDK script', () => {
    const project = join(APP, 'my-app');
    mkdirSync(project, { recursive: true });
    for (const { path, body } of guideFiles()) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), body);
    }
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
    // The package and hono come from the folder above (the packed tarball, installed); the test
    // tools a user installs with `npm install -D` are this repository's own, linked rather than downloaded again.
    mkdirSync(join(project, 'node_modules/@cloudflare'), { recursive: true });
    mkdirSync(join(project, 'node_modules/@zohocrm'), { recursive: true });
    for (const name of ['edge-token-store', 'hono']) symlinkSync(join(APP, 'node_modules', name), join(project, 'node_modules', name));
    mkdirSync(join(project, 'node_modules/@vitest'), { recursive: true });
    for (const name of [
      'vitest',
      '@vitest/browser-playwright',
      '@cloudflare/vitest-plugin',
      '@cloudflare/workers-types',
      'wrangler',
      '@zohocrm/typescript-sdk-8.0',
    ])
      symlinkSync(join(ROOT, 'node_modules', name), join(project, 'node_modules', name));
    // Fails (throws) unless vitest exits 0; the output names the one test that passed.
    const output = execFileSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: project,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PWD: project, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    expect(output).toMatch(/Tests\s+1 passed \(1\)/);
    // The guide's page test, in Chromium.
    const page = execFileSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.page.config.ts'], {
      cwd: project,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PWD: project, NO_COLOR: '1', FORCE_COLOR: '0', CHROMIUM_PATH: chromiumOrThrow() },
    });
    expect(page).toMatch(/Tests\s+1 passed \(1\)/);
    // The guide's Node script with the official SDK, run as the guide says.
    const script = execFileSync(process.execPath, ['sdk-script.ts'], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(script).toContain('the SDK listed 2 Contacts through the local Zoho');
  }, 300_000);
});
