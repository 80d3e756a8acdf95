// `edge-token-store import`: the readers, then the built command itself (dist/node/cli/main.js,
// as `npx edge-token-store` runs it) on files these tests write.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readTokenFile, UnreadableFile, type SourceRow } from '../../cli/read-tokens.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { importTokens } from '../../src/zoho/import-tokens.ts';
import { createKVStore, type KVStoreOptions } from '../../src/backends/kv.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createSqlStore } from '../../src/backends/sql.ts';
import { expectNothingInClear } from '../shared/in-clear.ts';

type KVNamespaceLike = KVStoreOptions['kv'];

const HEADER = 'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain';
const CLI = join(import.meta.dirname, '../../dist/node/cli/main.js');
const WRANGLER = join(import.meta.dirname, '../../node_modules/wrangler/bin/wrangler.js');
const run = promisify(execFile);

const dir = () => mkdtempSync(join(tmpdir(), 'ets-import-'));
function file(name: string, text: string) {
  const path = join(dir(), name);
  writeFileSync(path, text);
  return path;
}
async function rows(path: string): Promise<SourceRow[]> {
  const all: SourceRow[] = [];
  for await (const row of readTokenFile(path)) all.push(row);
  return all;
}
/** A row's whole token as the fixtures below write it, for `userName` (and `apiDomain` when the row has one). */
const wholeToken = (userName: string, apiDomain?: string) => ({
  id: '1',
  userName,
  clientId: '1000.C',
  clientSecret: 'sec',
  refreshToken: 'r1',
  accessToken: 'a1',
  expiryTime: 1_900_000_000_000,
  redirectUrl: 'https://app.example.com/cb',
  ...(apiDomain ? { apiDomain } : {}),
});

/** The two rows both SDK formats' fixtures hold: ana's whole one at `apiDomain`, and one with only its id, client and refresh token. */
const sdkRows = (where: [string, string], apiDomain: string): SourceRow[] => [
  { where: where[0], problem: null, token: wholeToken('ana@example.com:7001', apiDomain) },
  { where: where[1], problem: null, token: { id: '2', clientId: '1000.C', clientSecret: 'sec', refreshToken: 'r2' } },
];

async function unreadable(path: string): Promise<string> {
  const error = await rows(path).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnreadableFile);
  return (error as Error).message;
}

/** Runs the built command; never throws, so exit codes can be checked. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, WRANGLER_SEND_METRICS: 'false', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('reading FileStore CSV', () => {
  it('reads rows the SDK writes, leaving empty fields out', async () => {
    const path = file(
      'tokens.csv',
      `${HEADER}\n1,ana@example.com:7001,1000.C,sec,r1,a1,,1900000000000,https://app.example.com/cb,https://www.zohoapis.eu\n2,,1000.C,sec,r2,,,,,\n`,
    );
    expect(await rows(path)).toEqual(sdkRows(['line 2', 'line 3'], 'https://www.zohoapis.eu'));
  });

  it('reads quoted fields: commas, doubled quotes, line breaks, CRLF; lines count from where a row starts', async () => {
    const path = file(
      'quoted.csv',
      `${HEADER}\r\n"1","ana@example.com:7001","1000.C","se,c","r""1",,,,"https://app.example.com/cb?a=1,\nb",\r\n2,,1000.C,sec,r2,,,,,\r\n`,
    );
    const [first, second] = await rows(path);
    expect(first).toMatchObject({ where: 'line 2', token: { clientSecret: 'se,c', refreshToken: 'r"1', redirectUrl: 'https://app.example.com/cb?a=1,\nb' } });
    expect(second).toMatchObject({ where: 'line 4', token: { id: '2', refreshToken: 'r2' } });
  });

  it('reads legacy 9-column files (no api_domain)', async () => {
    const path = file(
      'legacy.csv',
      `${HEADER.split(',').slice(0, 9).join(',')}\n1,bo@example.com:7002,1000.C,sec,r1,a1,,1900000000000,https://app.example.com/cb\n`,
    );
    expect((await rows(path))[0]!.token).toEqual(wholeToken('bo@example.com:7002'));
  });

  it('names the line of each bad row', async () => {
    const path = file('bad.csv', `${HEADER}\n1,a:1,c,s,r1,,,,,\n2,b:1,c,s,r2,,,soon,,\n3,c:1,c,s\n4,d"x,c,s,r4,,,,,\n`);
    expect((await rows(path)).map((r) => [r.where, r.problem])).toEqual([
      ['line 2', null],
      ['line 3', 'expiry_time is not a number of epoch milliseconds'],
      ['line 4', '4 columns, the header has 10'],
      ['line 5', 'a quote inside an unquoted field'],
    ]);
  });

  it('refuses files that are not token stores', async () => {
    expect(await unreadable(file('empty.csv', ''))).toMatch(/empty/);
    expect(await unreadable(file('other.csv', 'name,email\nx,y\n'))).toMatch(/line 1: not a Zoho SDK token file/);
    expect(await unreadable(file('open.csv', `${HEADER}\n1,"a:1,c,s,r1,,,,,\n`))).toMatch(/line 2: a quoted field is never closed/);
  });
});

describe('reading zohooauth.db (SQLite, from the Python samples)', () => {
  it('reads table oauthtoken; refuses a database without it', async () => {
    const path = join(dir(), 'zohooauth.db');
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
    );
    const insert = db.prepare('INSERT INTO oauthtoken VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('1', 'ana@example.com:7001', '1000.C', 'sec', 'r1', 'a1', null, '1900000000000', 'https://app.example.com/cb', 'https://www.zohoapis.in');
    insert.run('2', null, '1000.C', 'sec', 'r2', '', null, null, null, null);
    db.close();
    expect(await rows(path)).toEqual(sdkRows(['row 1', 'row 2'], 'https://www.zohoapis.in'));

    const other = join(dir(), 'other.db');
    new DatabaseSync(other).exec('CREATE TABLE t (x)');
    expect(await unreadable(other)).toMatch(/no table oauthtoken/);
  });
});

describe('importTokens (the rules every target applies)', () => {
  it('merges by the store rules, and never lets a kept id take over another user', async () => {
    const store = createMemoryStore();
    await store.saveToken({ id: '1', userName: 'ana:1', refreshToken: 'r-ana' });
    const result = await importTokens(store, [
      { id: '9', userName: 'ana:1', accessToken: 'a-ana' },
      { id: '2', userName: 'bo:1', refreshToken: 'r-bo' },
      { id: '1', userName: 'cy:1', refreshToken: 'r-cy' },
      { id: '3', userName: 'dee:1', refreshToken: 'r-dee' },
    ]);
    expect(result.actions).toEqual(['merged', 'inserted']);
    expect(result.failure).toEqual({ index: 2, code: 'CONFLICT', message: "the row's id is already used by another user's record" });
    expect(await store.findTokenById('1')).toMatchObject({ userName: 'ana:1', refreshToken: 'r-ana', accessToken: 'a-ana' });
    expect(await store.getTokens()).toHaveLength(2);
  });
});

describe('the import command', () => {
  const keys = { k1: generateSecret() };
  const keyEnv = { TOKEN_STORE_KEYS: JSON.stringify(keys), TOKEN_STORE_CURRENT_KEY: 'k1' };
  const ana = {
    userName: 'ana@example.com:7001',
    clientSecret: 'client-secret-1',
    refreshToken: '1000.refresh.ana-first',
    accessToken: '1000.access.ana-first',
  };
  const csv = [
    HEADER,
    `1,${ana.userName},1000.C,${ana.clientSecret},${ana.refreshToken},${ana.accessToken},,1900000000000,https://app.example.com/cb,https://www.zohoapis.com`,
    `2,bo@example.com:7002,1000.C,${ana.clientSecret},1000.refresh.bo,,,,,`,
    // The same user again, later: merges into record 1 (its newer tokens win).
    `7,${ana.userName},1000.C,${ana.clientSecret},1000.refresh.ana-second,1000.access.ana-second,,1900000000999,,`,
  ].join('\n');

  it('kv-bulk: sealed records and index entries, nothing in clear, readable by the KV store', async () => {
    const source = file('tokens.csv', csv);
    const out = join(dir(), 'bulk.json');
    const result = await cli(['import', source, '--to', 'kv-bulk', '--out', out], keyEnv);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('3 rows: 2 imported, 1 merged, 0 rejected');

    const raw = readFileSync(out, 'utf8');
    expectNothingInClear(raw, [ana, { refreshToken: '1000.refresh.ana-second', accessToken: '1000.access.ana-second', userName: 'bo@example.com:7002' }]);
    const entries = new Map((JSON.parse(raw) as { key: string; value: string }[]).map((e) => [e.key, e.value]));
    const readOnly = async () => {
      throw new Error('read only');
    };
    const kv = {
      get: async (key: string | string[]) => (Array.isArray(key) ? new Map(key.map((k) => [k, entries.get(k) ?? null])) : (entries.get(key) ?? null)),
      put: readOnly,
      delete: readOnly,
      list: readOnly,
    } as unknown as KVNamespaceLike;
    const store = createKVStore({ kv, cipher: createCipher({ keys, current: 'k1' }) });
    expect(await store.findToken({ userName: ana.userName })).toMatchObject({
      id: '1',
      refreshToken: '1000.refresh.ana-second',
      accessToken: '1000.access.ana-second',
      expiryTime: 1_900_000_000_999,
      redirectUrl: 'https://app.example.com/cb',
    });
    expect(await store.findTokenById('2')).toMatchObject({ userName: 'bo@example.com:7002' });
  });

  it('a broken row: every bad line listed, exit 1, nothing written; --dry-run writes nothing either', async () => {
    const broken = file('broken.csv', `${csv}\n8,cy@example.com:7003,1000.C,sec,,,,,,\n9,dee:1,1000.C,sec,r9,,,tomorrow,,\n`);
    const out = join(dir(), 'bulk.json');
    const result = await cli(['import', broken, '--to', 'kv-bulk', '--out', out], keyEnv);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 5: INVALID_INPUT');
    expect(result.stderr).toContain('line 6: expiry_time is not a number of epoch milliseconds');
    expect(result.stderr).toContain('5 rows: 2 imported, 1 merged, 2 rejected. Nothing was written');
    expect(existsSync(out)).toBe(false);
    expect(result.stderr).not.toContain(ana.clientSecret);

    const dry = await cli(['import', file('tokens.csv', csv), '--dry-run']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain('dry run, nothing written. 3 rows: 2 imported, 1 merged, 0 rejected');
  });

  it('refuses a key ring it cannot use, without echoing it', async () => {
    const result = await cli(['import', file('tokens.csv', csv), '--to', 'kv-bulk', '--out', join(dir(), 'x.json')], {
      TOKEN_STORE_KEYS: 'not-json-but-a-secret',
      TOKEN_STORE_CURRENT_KEY: 'k1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TOKEN_STORE_KEYS');
    expect(result.stderr).not.toContain('not-json-but-a-secret');
  });

  it('sqlite: a SQLite file the SQL store reads, nothing in clear; a second run merges every row', async () => {
    const source = file('tokens.csv', csv);
    const out = join(dir(), 'tokens.db');
    const result = await cli(['import', source, '--to', 'sqlite', '--out', out], keyEnv);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('3 rows: 2 imported, 1 merged, 0 rejected');
    const db = new DatabaseSync(out);
    try {
      expectNothingInClear(JSON.stringify(db.prepare('SELECT * FROM ets_tokens').all()), [
        ana,
        { refreshToken: '1000.refresh.ana-second', accessToken: '1000.access.ana-second', userName: 'bo@example.com:7002' },
      ]);
      const store = createSqlStore({ db, cipher: createCipher({ keys, current: 'k1' }) });
      expect(await store.findToken({ userName: ana.userName })).toMatchObject({ id: '1', refreshToken: '1000.refresh.ana-second' });
      expect(await store.getTokens()).toHaveLength(2);
    } finally {
      db.close();
    }
    expect((await cli(['import', source, '--to', 'sqlite', '--out', out], keyEnv)).stdout).toContain('3 rows: 0 imported, 3 merged, 0 rejected');
  });

  it('writes its files owner-only (0600), and follows no link planted where it writes', async () => {
    const source = file('tokens.csv', csv);
    const folder = dir();
    const victim = join(folder, 'victim.txt');
    writeFileSync(victim, 'untouched');
    // Links planted where a predictable temporary file, or the SQLite file itself, would be.
    const bulk = join(folder, 'bulk.json');
    symlinkSync(victim, `${bulk}.partial`);
    expect((await cli(['import', source, '--to', 'kv-bulk', '--out', bulk], keyEnv)).code).toBe(0);
    expect(statSync(bulk).mode & 0o777).toBe(0o600);
    const sqlite = join(folder, 'tokens.db');
    expect((await cli(['import', source, '--to', 'sqlite', '--out', sqlite], keyEnv)).code).toBe(0);
    expect(statSync(sqlite).mode & 0o777).toBe(0o600);
    const linked = join(folder, 'linked.db');
    symlinkSync(victim, linked);
    const refused = await cli(['import', source, '--to', 'sqlite', '--out', linked], keyEnv);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('not a plain file')]);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(readdirSync(folder).filter((name) => name.endsWith('.partial'))).toEqual(['bulk.json.partial']);
  });

  /** A project whose wrangler.toml binds one D1 database as TOKENS_D1 (`extra`: more of the config). */
  const d1Project = (extra: string) => {
    const project = dir();
    const config = join(project, 'wrangler.toml');
    writeFileSync(
      config,
      `name = "import-d1"\nmain = "worker.js"\ncompatibility_date = "2026-11-01"\n${extra}[[d1_databases]]\nbinding = "TOKENS_D1"\ndatabase_name = "tokens"\ndatabase_id = "11111111-2222-3333-4444-555555555555"\n`,
    );
    return { project, config };
  };
  /** The CSV's two users in the project's local D1, table zoho_tokens, as the SQL store reads them. */
  async function expectImportedIntoLocalD1(project: string) {
    const { getPlatformProxy } = await import('wrangler');
    const proxy = await getPlatformProxy<{ TOKENS_D1: unknown }>({
      configPath: join(project, 'wrangler.toml'),
      persist: { path: join(project, '.wrangler/state/v3') },
    });
    try {
      const store = createSqlStore({ db: proxy.env.TOKENS_D1, cipher: createCipher({ keys, current: 'k1' }), table: 'zoho_tokens' });
      expect(await store.findToken({ userName: ana.userName })).toMatchObject({ id: '1', refreshToken: '1000.refresh.ana-second' });
      expect(await store.getTokens()).toHaveLength(2);
    } finally {
      await proxy.dispose();
    }
  }

  it('wrangler-d1: into the local D1 wrangler dev reads, in the table asked for', async () => {
    const { project, config } = d1Project('[vars]\nTOKEN_STORE_CURRENT_KEY = "k1"\n');
    writeFileSync(join(project, '.dev.vars'), `TOKEN_STORE_KEYS='${JSON.stringify(keys)}'\n`);
    const result = await cli(['import', file('tokens.csv', csv), '--to', 'wrangler-d1', '--config', config, '--table', 'zoho_tokens']);
    expect(result.stdout).toContain('3 rows: 2 imported, 1 merged, 0 rejected');
    await expectImportedIntoLocalD1(project);
  });

  it('d1-sql: a file wrangler d1 execute applies; run twice, the second fails on the UNIQUE indexes and replaces nothing', async () => {
    const { project, config } = d1Project('');
    const out = join(project, 'tokens.sql');
    expect((await cli(['import', file('tokens.csv', csv), '--to', 'd1-sql', '--out', out, '--table', 'zoho_tokens'], keyEnv)).stdout).toContain(
      '3 rows: 2 imported, 1 merged, 0 rejected',
    );
    const sql = readFileSync(out, 'utf8');
    expectNothingInClear(sql, [ana, { refreshToken: '1000.refresh.ana-second', accessToken: '1000.access.ana-second', userName: 'bo@example.com:7002' }]);
    // What a user runs (with --remote for their deployed database): offline, the local one.
    const execute = () =>
      run(process.execPath, [WRANGLER, 'd1', 'execute', 'TOKENS_D1', '--local', '--file', out, '--config', config], {
        cwd: project,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      });
    await execute();
    await expect(execute()).rejects.toThrow(/UNIQUE constraint failed/);
    await expectImportedIntoLocalD1(project);
  });

  it('wrangler-kv and wrangler-durable-object: into the local persistence wrangler dev reads', async () => {
    const project = dir();
    writeFileSync(
      join(project, 'wrangler.toml'),
      `name = "import-test"\nmain = "worker.js"\ncompatibility_date = "2026-11-01"\n[vars]\nTOKEN_STORE_CURRENT_KEY = "k1"\n` +
        `[[durable_objects.bindings]]\nname = "ZOHO_USERS"\nclass_name = "ZohoUserObject"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["ZohoUserObject"]\n` +
        `[[kv_namespaces]]\nbinding = "TOKENS_KV"\nid = "0123456789abcdef0123456789abcdef"\n`,
    );
    writeFileSync(join(project, '.dev.vars'), `TOKEN_STORE_KEYS='${JSON.stringify(keys)}'\n`);
    const source = file('tokens.csv', csv);
    const config = join(project, 'wrangler.toml');

    const intoKv = await cli(['import', source, '--to', 'wrangler-kv', '--config', config]);
    expect(intoKv.stdout).toContain('3 rows: 2 imported, 1 merged, 0 rejected');
    // What wrangler itself (its platform proxy, same persistence as `wrangler dev`) sees:
    const { getPlatformProxy } = await import('wrangler');
    const proxy = await getPlatformProxy<{ TOKENS_KV: KVNamespaceLike }>({ configPath: config, persist: { path: join(project, '.wrangler/state/v3') } });
    try {
      const store = createKVStore({ kv: proxy.env.TOKENS_KV, cipher: createCipher({ keys, current: 'k1' }) });
      expect(await store.findToken({ userName: ana.userName })).toMatchObject({ id: '1', refreshToken: '1000.refresh.ana-second' });
      expect(await store.getTokens()).toHaveLength(2);
    } finally {
      await proxy.dispose();
    }

    // The Worker keeps each user in an object named with its USER_OBJECT_SECRET: without it, no guessing.
    const unnamed = await cli(['import', source, '--to', 'wrangler-durable-object', '--config', config]);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toContain('USER_OBJECT_SECRET');
    writeFileSync(join(project, '.dev.vars'), `TOKEN_STORE_KEYS='${JSON.stringify(keys)}'\nUSER_OBJECT_SECRET='${'s'.repeat(40)}'\n`);
    const intoObjects = await cli(['import', source, '--to', 'wrangler-durable-object', '--config', config]);
    expect(intoObjects.stdout).toContain('3 rows: 2 imported, 1 merged, 0 rejected');
    // A second run finds every row already there: each user's object persisted, under the same id.
    const again = await cli(['import', source, '--to', 'wrangler-durable-object', '--config', config]);
    expect(again.stdout).toContain('3 rows: 0 imported, 3 merged, 0 rejected');
    // A row without a user name has no user object: refused in the check, before anything is written.
    const nameless = file('nameless.csv', [HEADER, `9,,1000.C,${ana.clientSecret},1000.refresh.nameless,,,,,`].join('\n'));
    const refused = await cli(['import', nameless, '--to', 'wrangler-durable-object', '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no user name');
    // Users of several data centers in one file: each into their own object (refreshed later at their own data center).
    const mixed = file(
      'mixed.csv',
      [
        HEADER,
        `11,carol@example.com:8001,1000.C,${ana.clientSecret},1000.refresh.carol,,,,,https://www.zohoapis.com`,
        `12,dieter@example.de:8101,1000.C,${ana.clientSecret},1000.refresh.dieter,,,,,https://www.zohoapis.eu`,
        `13,emma@example.de:8102,1000.C,${ana.clientSecret},1000.refresh.emma,,,,,https://sandbox.zohoapis.eu`,
      ].join('\n'),
    );
    const intoPlaces = await cli(['import', mixed, '--to', 'wrangler-durable-object', '--config', config]);
    expect(intoPlaces.stdout).toContain('3 rows: 3 imported, 0 merged, 0 rejected (by data center: us 1, eu 2)');
    // One named object instead (a shard of the application's own): everything goes there.
    const intoOne = await cli(['import', nameless, '--to', 'wrangler-durable-object', '--config', config, '--object-name', 'tenant-1']);
    expect(intoOne.stdout).toContain('1 rows: 1 imported, 0 merged, 0 rejected');
  });

  it('100,000 rows stream through in bounded memory, with progress', async () => {
    const path = join(dir(), 'big.csv');
    const lines = [HEADER];
    for (let i = 1; i <= 100_000; i++) {
      const hex = i.toString(16).padStart(40, '0');
      lines.push(`${i},user${i}@example.com:7001,1000.C,sec,1000.refresh.${hex},1000.access.${hex},,1900000000000,,https://www.zohoapis.com`);
    }
    writeFileSync(path, lines.join('\n'));
    const { stdout, stderr } = await run(process.execPath, ['--max-old-space-size=256', CLI, 'import', path, '--dry-run']);
    expect(stderr).toContain('checked: 50000 rows');
    expect(stdout).toContain('100000 rows: 100000 imported, 0 merged, 0 rejected');
  });
});
