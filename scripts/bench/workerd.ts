// The benchmark inside workerd (bundled and run by run.ts through Miniflare). POST /run with
// {scenario, n, iterations} answers stats measured here, next to real local KV and SQLite.
import cloudflareKVBindingDriver from 'unstorage/drivers/cloudflare-kv-binding';
import { createStorage } from 'unstorage';
import { createDurableObjectStore, TokenStoreObject, type TokenStoreObjectEnv } from '../../src/backends/durable-object.ts';
import { createKVStore } from '../../src/backends/kv.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { countingD1 } from '../../test/workers/counting-d1.ts';
import { countingKV } from '../../test/workers/counting-kv.ts';
import { BENCH_CIPHER, cipherOps, keyValueOps, seed, seedKeyValue, storeOps, time } from './measure.ts';

interface Env extends TokenStoreObjectEnv {
  /** The Zoho client the storm's managers refresh with (bench only: the object itself knows no Zoho). */
  ZOHO_CLIENT_ID?: string;
  ZOHO_CLIENT_SECRET?: string;
  KV: KVNamespace;
  D1: D1Database;
  TOKEN_STORE_OBJECTS: DurableObjectNamespace<BenchTokenStoreObject>;
}

/** The real object, plus a count of the SQL statements it runs (for the report only). */
export class BenchTokenStoreObject extends TokenStoreObject {
  statements = 0;
  constructor(ctx: DurableObjectState, env: TokenStoreObjectEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    const exec = sql.exec.bind(sql);
    sql.exec = ((...args: Parameters<typeof exec>) => {
      this.statements++;
      return exec(...args);
    }) as typeof sql.exec;
  }
  countStatements(): number {
    return this.statements;
  }
}

let runs = 0;
/** Calls per timing sample: workerd's clock advances only at I/O, so samples average several calls. */
const BATCH = 10;

async function run(scenario: string, n: number, iterations: number, env: Env) {
  const tag = `${scenario}-${n}-${runs++}`;
  if (scenario === 'kv') {
    const kv = countingKV(env.KV);
    const store = createKVStore({ kv, cipher: BENCH_CIPHER(), prefix: `${tag}:` });
    const saved = await seed(store, n);
    return time(storeOps(store, saved), iterations, { reset: kv.reset, read: kv.total }, BATCH);
  }
  if (scenario === 'durable-object') {
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS as never, name: tag });
    const ops = storeOps(store, await seed(store, n));
    const stats = await time(ops, iterations, undefined, BATCH);
    // SQL statements per call, counted inside the object over one more call of each op.
    const stub = env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(tag));
    for (const [name, op] of Object.entries(ops)) {
      const before = await stub.countStatements();
      await op(1);
      stats[name]!.storageOps = (await stub.countStatements()) - before;
    }
    return stats;
  }
  if (scenario === 'd1') {
    // Statements per call, counted where they are prepared.
    const counted = countingD1(env.D1);
    const store = createSqlStore({ db: counted.d1, cipher: BENCH_CIPHER(), table: tag.replace(/[^A-Za-z0-9_]/g, '_') });
    const saved = await seed(store, n);
    return time(storeOps(store, saved), iterations, { reset: counted.reset, read: counted.total }, BATCH);
  }
  if (scenario === 'unstorage-kv') {
    const storage = createStorage({ driver: cloudflareKVBindingDriver({ binding: env.KV, base: tag }) });
    const saved = await seedKeyValue(storage, n);
    return time(keyValueOps(storage, saved), iterations, undefined, n >= 1000 ? 1 : BATCH);
  }
  if (scenario === 'storm') {
    // n callers, each with its own store client and manager (as separate isolates would
    // have), with one expired token: calls that reach Zoho, and time until all have a token.
    const zoho = 'http://zoho.local';
    const redirectUrl = 'https://bench.example/callback';
    const oauth = zohoOAuth({ accountsUrl: zoho, clientId: env.ZOHO_CLIENT_ID!, clientSecret: env.ZOHO_CLIENT_SECRET!, redirectUrl });
    const admin = <T>(op: string, params: Record<string, string>) =>
      fetch(`${zoho}/__admin/${op}?${new URLSearchParams(params)}`, { method: op === 'counts' ? 'GET' : 'POST' }).then((r) => r.json() as Promise<T>);
    const { code } = await admin<{ code: string }>('grant', { client_id: env.ZOHO_CLIENT_ID!, email: 'ana@example.com', redirect_uri: redirectUrl });
    const first = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS as never, name: tag });
    const saved = await createTokenManager({ store: first, oauth }).exchangeGrant(code);
    await first.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });
    const start = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: n }, () =>
        createTokenManager({ store: createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS as never, name: tag }), oauth }).getAccessToken({
          id: saved.id,
        }),
      ),
    );
    const ms = performance.now() - start;
    const { refreshes } = await admin<{ refreshes: number }>('counts', { refresh_token: saved.refreshToken! });
    return { ms, zohoCalls: refreshes, gotToken: results.filter((r) => r.status === 'fulfilled').length };
  }
  if (scenario.startsWith('cipher:')) {
    // CPU only: workerd's clock stands still without I/O, so run.ts times this request from
    // outside (minus an empty one) and divides by `iterations`.
    const op = (await cipherOps((sealed) => createMemoryStore(sealed ? { cipher: BENCH_CIPHER() } : {})))[scenario.slice(7)]!;
    for (let i = 0; i < iterations; i++) await op(i);
    return {};
  }
  throw new Error(`unknown scenario ${scenario}`);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { scenario, n, iterations } = (await request.json()) as { scenario: string; n: number; iterations: number };
    try {
      return Response.json(await run(scenario, n, iterations, env));
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
  },
};
