// Where an import writes. Every target saves through one of the library's stores, so the
// records, index entries and merge rules are the ones the Worker reads and applies.
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cipherFromSettings } from '../src/store/cipher.ts';
import { importTokens, type ImportFailure, type ImportAction } from '../src/zoho/import-tokens.ts';
import { createKVStore, type KVStoreOptions } from '../src/backends/kv.ts';
import { createMemoryStore } from '../src/backends/memory.ts';
import { createSqlStore } from '../src/backends/sql.ts';
import type { TokenQuery, TokenStore } from '../src/store/types.ts';

/** What a KV namespace binding offers the store. */
type KVNamespaceLike = KVStoreOptions['kv'];

export interface ImportTarget {
  /** What the summary calls it. */
  describe: string;
  save(tokens: TokenQuery[]): Promise<{ actions: ImportAction[]; failure: ImportFailure | null }>;
  close(): Promise<void>;
}

function storeTarget(store: Parameters<typeof importTokens>[0], describe: string, close: () => Promise<void> = async () => {}): ImportTarget {
  return { describe, save: (tokens) => importTokens(store, tokens), close };
}

/**
 * Throwaway stores: the dry run, and the check before any write. `perUser`: one per user, as
 * the Durable Object target writes them, so the check applies the same rules (a row without a
 * user name is refused before anything is written).
 */
export function memoryTarget(perUser = false): ImportTarget {
  if (!perUser) return storeTarget(createMemoryStore(), 'nothing (dry run)');
  const stores = new Map<string, TokenStore>();
  const storeOf = async (userName: string) => {
    if (!stores.has(userName)) stores.set(userName, createMemoryStore());
    return stores.get(userName)!;
  };
  return storeTarget(storeOf, 'nothing (dry run)');
}

/** Parses a key ring the way the Worker does: JSON { keyId: base64url secret }. */
export function parseKeyRing(json: string | undefined, current: string | undefined, source: string) {
  try {
    return cipherFromSettings(json, current);
  } catch (error) {
    // The message names the settings, never their values: they are secrets.
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}

/** An in-memory KV namespace, written out at the end as the JSON `wrangler kv bulk put` reads. */
class BulkFileKV implements KVNamespaceLike {
  readonly entries = new Map<string, string>();
  get(key: string): Promise<string | null>;
  get(keys: string[]): Promise<Map<string, string | null>>;
  async get(keys: string | string[]): Promise<unknown> {
    if (typeof keys === 'string') return this.entries.get(keys) ?? null;
    return new Map(keys.map((key) => [key, this.entries.get(key) ?? null]));
  }
  async put(key: string, value: string) {
    this.entries.set(key, value);
  }
  async delete(key: string) {
    this.entries.delete(key);
  }
  async list({ prefix, cursor, limit = 1000 }: { prefix: string; cursor?: string | null; limit?: number }) {
    const names = [...this.entries.keys()].filter((key) => key.startsWith(prefix)).sort();
    const start = cursor ? Number(cursor) : 0;
    const keys = names.slice(start, start + limit).map((name) => ({ name }));
    return start + limit >= names.length ? { keys, list_complete: true as const } : { keys, list_complete: false as const, cursor: String(start + limit) };
  }
}

/** Sealed records and index entries in a JSON file for `wrangler kv bulk put` (written whole at the end). */
export function kvBulkTarget(out: string, keysJson: string | undefined, current: string | undefined, prefix?: string): ImportTarget {
  const cipher = parseKeyRing(keysJson, current, 'kv-bulk');
  const kv = new BulkFileKV();
  const store = createKVStore({ kv, cipher, prefix });
  return storeTarget(store, `${out} (for wrangler kv bulk put)`, () =>
    writeWhole(out, async (file) => {
      await file.write('[\n');
      let first = true;
      for (const [key, value] of kv.entries) {
        await file.write(`${first ? '' : ',\n'}${JSON.stringify({ key, value })}`);
        first = false;
      }
      await file.write('\n]\n');
    }),
  );
}

/** A SQLite file (node:sqlite), as a server or script using `edge-token-store/sql` opens it; the key ring from the environment. */
export async function sqliteTarget(out: string, keysJson: string | undefined, current: string | undefined, table?: string): Promise<ImportTarget> {
  const cipher = parseKeyRing(keysJson, current, 'sqlite');
  // Loaded only here: node:sqlite is experimental in Node 22 and says so when loaded.
  const { DatabaseSync } = await import('node:sqlite');
  await ownerOnlyDatabase(out);
  const db = new DatabaseSync(out);
  const store = createSqlStore({ db, cipher, table });
  return storeTarget(store, `${out}${table ? ` (table ${table})` : ''}`, async () => db.close());
}

/**
 * SQL for `wrangler d1 execute <database> --remote --file <out>` (or `--local`): the SQL store's
 * schema and its sealed rows, sealed here into an in-memory SQLite with the same statements, then
 * written out as plain INSERTs. For a table that holds none of these users yet: a row whose id or
 * digest is already there fails on its UNIQUE index instead of replacing what is stored.
 */
export async function d1SqlTarget(out: string, keysJson: string | undefined, current: string | undefined, table = 'ets_tokens'): Promise<ImportTarget> {
  const cipher = parseKeyRing(keysJson, current, 'd1-sql');
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(':memory:');
  const store = createSqlStore({ db, cipher, table });
  const write = async (file: FileHandle) => {
    // The in-memory database holds this store's tables and index only.
    const objects = db.prepare('SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name').all() as {
      type: string;
      name: string;
      sql: string;
    }[];
    // SQLite keeps each CREATE without its IF NOT EXISTS: put it back, so the file runs on a database that has the schema.
    for (const { sql } of objects) await file.write(`${sql.replace(/^CREATE (TABLE|INDEX) /, 'CREATE $1 IF NOT EXISTS ')};\n`);
    for (const { name } of objects.filter((o) => o.type === 'table')) {
      const conflict = name === `${table}_meta` ? ' ON CONFLICT(key) DO NOTHING' : '';
      for (const row of db.prepare(`SELECT * FROM ${name}`).all() as Record<string, unknown>[]) {
        const values = Object.values(row).map((v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`));
        await file.write(`INSERT INTO ${name} (${Object.keys(row).join(', ')}) VALUES (${values.join(', ')})${conflict};\n`);
      }
    }
  };
  return storeTarget(store, `${out} (for wrangler d1 execute --file, table ${table})`, () => writeWhole(out, write).finally(() => db.close()));
}

/**
 * Writes `out` through a temporary file renamed at the end: never a half-written file. The
 * temporary is new (O_EXCL, an unguessable name: nothing planted there is followed or reused)
 * and owner-only (0600), so the sealed tokens are never readable by others, even briefly.
 */
async function writeWhole(out: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const temporary = `${out}.${randomBytes(6).toString('hex')}.partial`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    await write(file);
  } catch (error) {
    await file.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(temporary, out);
}

/**
 * Opens the SQLite file `out` for the SQL store: a new file is made owner-only (0600) before
 * SQLite opens it (its journals take the same mode); an existing one must be a plain file, not
 * a link planted to send the tokens elsewhere.
 */
async function ownerOnlyDatabase(out: string): Promise<void> {
  const found = await lstat(out).catch(() => null);
  if (found?.isSymbolicLink() || (found && !found.isFile())) throw new Error(`${out} is not a plain file: refusing to write tokens through it`);
  if (!found) await (await open(out, 'wx', 0o600)).close();
}

export interface WranglerTargetOptions {
  kind: 'kv' | 'durable-object' | 'd1';
  /** wrangler.toml (or .json/.jsonc) of the project whose `wrangler dev` should see the tokens. */
  config: string;
  /** The `--persist-to` directory `wrangler dev` uses (default .wrangler/state next to the config). */
  persistTo?: string;
  /** The binding to write (default TOKENS_KV for kv, ZOHO_USERS for durable-object, TOKENS_D1 for d1). */
  binding?: string;
  /**
   * One Durable Object to write every row into. Default: the Worker's layout, each user in
   * their own object, named with the Worker's USER_OBJECT_SECRET.
   */
  objectName?: string;
  prefix?: string;
  /** d1: the SQL store's table (default ets_tokens). */
  table?: string;
}

/** The built library modules the import Worker needs: the entries and what they import. */
function moduleClosure(dist: string, entries: string[]) {
  const modules: { type: 'ESModule'; path: string; contents: string }[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const contents = readFileSync(join(dist, file), 'utf8');
    modules.push({ type: 'ESModule', path: join(dist, file), contents });
    // Relative imports, resolved against the importing module's folder (dist/ is laid out by layer).
    for (const match of contents.matchAll(/from ["'](\.{1,2}\/[\w./-]+\.js)["']/g)) visit(posix.join(posix.dirname(file), match[1]!));
  };
  entries.forEach(visit);
  return modules;
}

/** The Worker that runs inside workerd to save each batch, next to the built library. */
function importWorkerSource(
  kind: WranglerTargetOptions['kind'],
  binding: string,
  className: string,
  objectName: string | undefined,
  prefix?: string,
  table?: string,
) {
  const namespace = `env[${JSON.stringify(binding)}]`;
  const cipher = 'cipherFromSettings(env.TOKEN_STORE_KEYS, env.TOKEN_STORE_CURRENT_KEY)';
  const store =
    kind === 'kv'
      ? `createKVStore({ kv: ${namespace}, prefix: ${JSON.stringify(prefix)}, cipher: ${cipher} })`
      : kind === 'd1'
        ? `createSqlStore({ db: ${namespace}, table: ${JSON.stringify(table)}, cipher: ${cipher} })`
        : objectName !== undefined
          ? `createDurableObjectStore({ namespace: ${namespace}, name: ${JSON.stringify(objectName)} })`
          : `async (userName) => createDurableObjectStore({ namespace: ${namespace}, name: await userObjectName(env.USER_OBJECT_SECRET, userName) })`;
  return `import { cipherFromSettings } from './store/cipher.js';
import { createKVStore } from './backends/kv.js';
import { createSqlStore } from './backends/sql.js';
import { createDurableObjectStore, TokenStoreObject } from './backends/durable-object.js';
import { userObjectName } from './worker/naming.js';
import { importTokens } from './zoho/import-tokens.js';
export { TokenStoreObject as ${className} };
export default {
  async fetch(request, env) {
    return Response.json(await importTokens(${store}, await request.json()));
  },
};
`;
}

/** Writes into the local persistence of `wrangler dev`, through the same runtime (workerd) and bindings. */
export async function wranglerTarget(options: WranglerTargetOptions): Promise<ImportTarget> {
  const config = resolve(options.config);
  if (!existsSync(config)) throw new Error(`no wrangler config at ${options.config}`);
  const persistTo = resolve(options.persistTo ?? join(dirname(config), '.wrangler/state'));
  const binding = options.binding ?? { kv: 'TOKENS_KV', 'durable-object': 'ZOHO_USERS', d1: 'TOKENS_D1' }[options.kind];
  // wrangler's own Miniflare, so the files are laid out exactly as its `wrangler dev` reads them.
  const wrangler = (await import('wrangler').catch(() => {
    throw new Error('the wrangler-* targets need wrangler installed in this project (npm install --save-dev wrangler)');
  })) as typeof import('wrangler');
  const miniflarePath = createRequire(fileURLToPath(import.meta.resolve('wrangler'))).resolve('miniflare');
  const { Miniflare, convertV4MiniflareOptions } = (await import(pathToFileURL(miniflarePath).href)) as typeof import('miniflare');
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(config);
  const name = wrangler.unstable_readConfig({ config }).name;
  const vars = (workerOptions.bindings ?? {}) as Record<string, unknown>;
  const kvId = (workerOptions.kvNamespaces as Record<string, { id: string }> | undefined)?.[binding]?.id;
  const objectClass = (workerOptions.durableObjects as Record<string, { className: string }> | undefined)?.[binding]?.className;
  const d1Id = (workerOptions.d1Databases as Record<string, string | { id: string }> | undefined)?.[binding];
  if (options.kind === 'kv' && !kvId) throw new Error(`${options.config} binds no KV namespace ${binding}`);
  if (options.kind === 'd1' && !d1Id) throw new Error(`${options.config} binds no D1 database ${binding}`);
  if (options.kind === 'durable-object' && !objectClass) throw new Error(`${options.config} binds no Durable Object ${binding}`);
  const keys = typeof vars.TOKEN_STORE_KEYS === 'string' ? vars.TOKEN_STORE_KEYS : undefined;
  const current = typeof vars.TOKEN_STORE_CURRENT_KEY === 'string' ? vars.TOKEN_STORE_CURRENT_KEY : undefined;
  parseKeyRing(keys, current, `${options.config} and its .dev.vars`);
  const userObjectSecret = typeof vars.USER_OBJECT_SECRET === 'string' ? vars.USER_OBJECT_SECRET : '';
  if (options.kind === 'durable-object' && options.objectName === undefined && userObjectSecret.length < 32) {
    throw new Error(
      `${options.config} and its .dev.vars: no USER_OBJECT_SECRET (32+ characters), which names each user's object; set it as the Worker has it, or give --object-name to write one object`,
    );
  }

  const dist = fileURLToPath(new URL('../../', import.meta.url));
  const className = objectClass ?? 'TokenStoreObject';
  const entry = {
    type: 'ESModule' as const,
    path: join(dist, '__import-worker.js'),
    contents: importWorkerSource(options.kind, binding, className, options.objectName, options.prefix, options.table),
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name,
      cf: false,
      modules: [
        entry,
        ...moduleClosure(dist, [
          'store/cipher.js',
          'backends/kv.js',
          'backends/sql.js',
          'backends/durable-object.js',
          'worker/naming.js',
          'zoho/import-tokens.js',
        ]),
      ],
      modulesRoot: dist,
      compatibilityDate: workerOptions.compatibilityDate ?? '2026-11-01',
      bindings: { TOKEN_STORE_KEYS: keys!, TOKEN_STORE_CURRENT_KEY: current!, USER_OBJECT_SECRET: userObjectSecret },
      // `wrangler dev --persist-to <dir>` keeps its storage under <dir>/v3.
      resourcePersistencePath: join(persistTo, 'v3'),
      ...(options.kind === 'kv'
        ? { kvNamespaces: { [binding]: kvId! } }
        : options.kind === 'd1'
          ? { d1Databases: { [binding]: typeof d1Id === 'string' ? d1Id : d1Id!.id } }
          : { durableObjects: { [binding]: { className, useSQLite: true } } }),
    } as never),
  );
  return {
    describe: `${options.kind === 'kv' ? 'KV namespace' : options.kind === 'd1' ? 'D1 database' : options.objectName === undefined ? 'per-user Durable Objects' : `Durable Object "${options.objectName}"`} ${binding} of ${options.config}, persisted in ${persistTo}`,
    async save(tokens) {
      const response = await mf.dispatchFetch('http://import.local/', { method: 'POST', body: JSON.stringify(tokens) });
      if (!response.ok) throw new Error(`the import Worker failed with HTTP ${response.status}`);
      return (await response.json()) as { actions: ImportAction[]; failure: ImportFailure | null };
    },
    close: () => mf.dispose(),
  };
}

/** The `--to` values the import and the device login take, each sealing what it writes. */
export const TARGETS = ['wrangler-kv', 'wrangler-durable-object', 'wrangler-d1', 'sqlite', 'd1-sql', 'kv-bulk'] as const;

/** The flags that describe a target, as `parseArgs` takes them (the import's and the device login's). */
export const TARGET_FLAGS = {
  to: { type: 'string' },
  config: { type: 'string', default: 'wrangler.toml' },
  'persist-to': { type: 'string' },
  binding: { type: 'string' },
  'object-name': { type: 'string' },
  out: { type: 'string' },
  prefix: { type: 'string' },
  table: { type: 'string' },
} as const;

/** What the command line says about a target (the import's and the device login's flags). */
export interface TargetFlags {
  config: string;
  'persist-to'?: string;
  binding?: string;
  'object-name'?: string;
  out?: string;
  prefix?: string;
  table?: string;
}

/**
 * The target `--to` names, made when called (so a dry run opens nothing), with the key ring
 * from TOKEN_STORE_KEYS and TOKEN_STORE_CURRENT_KEY where the target seals here; or what is
 * wrong with the flags.
 */
export function chosenTarget(to: string, flags: TargetFlags): (() => Promise<ImportTarget>) | string {
  const keys = process.env.TOKEN_STORE_KEYS;
  const current = process.env.TOKEN_STORE_CURRENT_KEY;
  if (to === 'wrangler-kv' || to === 'wrangler-durable-object' || to === 'wrangler-d1') {
    const kind = to === 'wrangler-kv' ? ('kv' as const) : to === 'wrangler-d1' ? ('d1' as const) : ('durable-object' as const);
    const options = {
      kind,
      config: flags.config,
      persistTo: flags['persist-to'],
      binding: flags.binding,
      objectName: flags['object-name'],
      prefix: flags.prefix,
      table: flags.table,
    };
    return () => wranglerTarget(options);
  }
  const out = flags.out;
  if (to === 'sqlite') return out ? () => sqliteTarget(out, keys, current, flags.table) : '--to sqlite needs --out <file.db>';
  if (to === 'd1-sql') return out ? () => d1SqlTarget(out, keys, current, flags.table) : '--to d1-sql needs --out <file.sql>';
  if (to === 'kv-bulk') return out ? async () => kvBulkTarget(out, keys, current, flags.prefix) : '--to kv-bulk needs --out <file>';
  return `--to must be one of ${TARGETS.join(', ')}`;
}
