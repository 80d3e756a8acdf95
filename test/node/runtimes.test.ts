/**
 * "Isomorphic", tested where it is claimed: the shared conformance suite on memory, sealed
 * memory and the SQL store over the runtime's SQLite (bun:sqlite; node:sqlite in Deno;
 * better-sqlite3 in Node), run by Deno and by Bun themselves (their binaries from npm:
 * @deno/linux-x64-glibc, @oven/bun-linux-x64) and by the Node that better-sqlite3 was compiled
 * for, with `vitest` resolved to test/runtimes/mini-vitest.ts. Each run must pass every case:
 * three stores times the suite's 63.
 */
import { execFileSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const ENTRY = 'test/runtimes/conformance.ts';
/** The suite's 63 cases (as Node's run of test/node/memory.test.ts has them per store) times three stores. */
const EXPECTED = /: 189 passed, 0 failed/;

const run = (binary: string, args: string[]) =>
  execFileSync(resolve(ROOT, binary), args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });

describe('the shared conformance suite in other runtimes', () => {
  it('passes under Deno', () => {
    const output = run('node_modules/@deno/linux-x64-glibc/deno', ['run', '--quiet', '--no-prompt', '--config', 'test/runtimes/deno.json', ENTRY]);
    expect(output).toMatch(/^deno/m);
    expect(output).toMatch(EXPECTED);
  });

  it('passes under Bun', () => {
    const output = run('node_modules/@oven/bun-linux-x64/bin/bun', ['run', '--tsconfig-override', './test/runtimes/tsconfig.bun.json', ENTRY]);
    expect(output).toMatch(/^bun/m);
    expect(output).toMatch(EXPECTED);
  });

  it('passes under Node with better-sqlite3', async () => {
    const node = nodeForBetterSqlite();
    // Node runs no TypeScript before 22.6: the suite goes to it bundled, better-sqlite3 left to load from node_modules.
    const outfile = join(ROOT, 'node_modules/.cache/edge-token-store/conformance.mjs');
    await build({
      entryPoints: [join(ROOT, ENTRY)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      alias: { vitest: join(ROOT, 'test/runtimes/mini-vitest.ts') },
      external: ['better-sqlite3', 'bun:sqlite'],
      logLevel: 'error',
    });
    const output = run(node, [outfile]);
    expect(output).toMatch(/^node/m);
    expect(output).toMatch(EXPECTED);
  });
});

/**
 * better-sqlite3 is a native addon, built at install for the Node whose headers npm builds
 * against (on this machine kind, the system's Node 20; `npm test` itself runs Node 22): the
 * first `node` that loads it, this process's own first.
 */
function nodeForBetterSqlite(): string {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !dir.includes('node_modules'))
    .map((dir) => join(dir, 'node'));
  const candidates = [...new Set([process.execPath, ...onPath, '/usr/bin/node', '/usr/local/bin/node'])];
  for (const node of candidates) {
    try {
      execFileSync(node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: ROOT, stdio: 'ignore' });
      return node;
    } catch {
      // Not there, or an addon built for another Node version: the next.
    }
  }
  throw new Error(`no Node here loads better-sqlite3 (tried ${candidates.join(', ')}): run \`npm rebuild better-sqlite3\``);
}
