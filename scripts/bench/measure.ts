// Runtime-neutral measuring: the same code times stores in Node, workerd and Chromium.
import { createCipher } from '../../src/store/cipher.ts';
import type { OAuthToken, TokenQuery, TokenStore } from '../../src/store/types.ts';

export interface Stat {
  median: number;
  p99: number;
  /** Storage operations per call (KV reads and writes, IndexedDB requests, SQL statements), when counted. */
  storageOps?: number;
}
export type Stats = Record<string, Stat>;

export const CLIENT = { clientId: '1000.BENCHCLIENT', clientSecret: 'bench-client-secret' };
/** A fixed key so every runtime measures the same work. */
export const BENCH_CIPHER = () => createCipher({ keys: { k1: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' }, current: 'k1' });

export function token(n: number): TokenQuery {
  return {
    userName: `user${n}@example.com:${7000 + (n % 50)}`,
    ...CLIENT,
    refreshToken: `1000.refresh.${n}.${'r'.repeat(48)}`,
    accessToken: `1000.access.${n}.${'a'.repeat(48)}`,
    grantToken: `1000.grant.${n}.${'g'.repeat(48)}`,
    expiryTime: 1_900_000_000_000,
    redirectUrl: 'https://app.example.com/callback',
    apiDomain: 'https://www.zohoapis.com',
  };
}

export async function seed(store: TokenStore, n: number): Promise<OAuthToken[]> {
  const saved: OAuthToken[] = [];
  for (let i = 0; i < n; i++) saved.push(await store.saveToken(token(i)));
  return saved;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Median and p99 of latencies (in any order). */
export function latencyStat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/**
 * Times each operation (after 3 warm-ups) on a probe token that varies per call. Each sample
 * is the mean of `batch` calls: browsers coarsen timers to 0.1 ms and workerd advances its
 * clock only at I/O, so single fast calls cannot be timed there one by one.
 */
export async function time(
  ops: Record<string, (i: number) => Promise<unknown>>,
  iterations: number,
  counter?: { reset(): void; read(): number },
  batch = 1,
): Promise<Stats> {
  const stats: Stats = {};
  for (const [name, op] of Object.entries(ops)) {
    for (let i = 0; i < 3; i++) await op(i);
    const samples: number[] = [];
    counter?.reset();
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      for (let b = 0; b < batch; b++) await op(i * batch + b);
      samples.push((performance.now() - start) / batch);
    }
    const ops = counter ? counter.read() / (iterations * batch) : undefined;
    samples.sort((a, b) => a - b);
    stats[name] = { median: percentile(samples, 0.5), p99: percentile(samples, 0.99), ...(ops === undefined ? {} : { storageOps: ops }) };
  }
  return stats;
}

/** The store operations measured everywhere, spread over the stored tokens. */
/** Spreads calls over the stored tokens; saves replace the entry, so later lookups use current values. */
const slot = (saved: unknown[], i: number) => (i * 7919) % saved.length;

export function storeOps(store: TokenStore, saved: OAuthToken[]): Record<string, (i: number) => Promise<unknown>> {
  const pick = (i: number) => saved[slot(saved, i)]!;
  const found = async (promise: Promise<OAuthToken | null>) => {
    if (!(await promise)) throw new Error('benchmark lookup found nothing');
  };
  return {
    'findToken userName': (i) => found(store.findToken({ userName: pick(i).userName! })),
    'findToken accessToken': (i) => found(store.findToken({ accessToken: pick(i).accessToken! })),
    'findToken refresh+client': (i) => found(store.findToken({ refreshToken: pick(i).refreshToken!, ...CLIENT })),
    'findToken grant+client': (i) => found(store.findToken({ grantToken: pick(i).grantToken!, ...CLIENT })),
    findTokenById: (i) => found(store.findTokenById(pick(i).id)),
    'saveToken (refresh)': async (i) => {
      saved[slot(saved, i)] = await store.saveToken({ id: pick(i).id, accessToken: `1000.access.new.${i}.${pick(i).id}`, expiryTime: 1_900_000_000_000 + i });
    },
  };
}

/** Tokens as a user of a generic key-value layer would keep them: JSON per id, found by reading records. */
export interface KeyValueLike {
  getKeys(): Promise<string[]>;
  getItem(key: string): Promise<unknown>;
  setItem(key: string, value: unknown): Promise<void>;
}

export function keyValueOps(kv: KeyValueLike, saved: OAuthToken[]): Record<string, (i: number) => Promise<unknown>> {
  const pick = (i: number) => saved[slot(saved, i)]!;
  const scan = async (match: (t: OAuthToken) => boolean) => {
    for (const key of await kv.getKeys()) {
      const t = (await kv.getItem(key)) as OAuthToken;
      if (match(t)) return t;
    }
    throw new Error('benchmark scan found nothing');
  };
  return {
    'findToken userName': (i) => scan((t) => t.userName === pick(i).userName),
    'findToken accessToken': (i) => scan((t) => t.accessToken === pick(i).accessToken),
    'findToken refresh+client': (i) => scan((t) => t.refreshToken === pick(i).refreshToken && t.clientId === CLIENT.clientId),
    'findToken grant+client': (i) => scan((t) => t.grantToken === pick(i).grantToken && t.clientId === CLIENT.clientId),
    findTokenById: (i) => kv.getItem(pick(i).id),
    'saveToken (refresh)': async (i) => {
      const next = { ...((await kv.getItem(pick(i).id)) as OAuthToken), accessToken: `1000.access.new.${i}.${pick(i).id}` };
      await kv.setItem(next.id, next);
      saved[slot(saved, i)] = next;
    },
  };
}

export async function seedKeyValue(kv: KeyValueLike, n: number): Promise<OAuthToken[]> {
  const saved: OAuthToken[] = [];
  for (let i = 0; i < n; i++) {
    const t = { id: `t${i}`, ...token(i) } as OAuthToken;
    await kv.setItem(t.id, t);
    saved.push(t);
  }
  return saved;
}

/** Seal and open per record, and findToken with and without the cipher (memory store). */
export async function cipherOps(makeMemory: (sealed: boolean) => TokenStore): Promise<Record<string, (i: number) => Promise<unknown>>> {
  const cipher = BENCH_CIPHER();
  const body = JSON.stringify(token(1));
  const sealed = await cipher.seal(body, ['bench', 'record', 'x']);
  const plain = makeMemory(false);
  const withCipher = makeMemory(true);
  const [p, s] = [await seed(plain, 100), await seed(withCipher, 100)];
  return {
    'seal one record': () => cipher.seal(body, ['bench', 'record', 'x']),
    'open one record': () => cipher.open(sealed, ['bench', 'record', 'x']),
    'findToken, plain': (i) => plain.findToken({ userName: p[i % 100]!.userName! }),
    'findToken, sealed': (i) => withCipher.findToken({ userName: s[i % 100]!.userName! }),
  };
}
