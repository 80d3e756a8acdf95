// The SQL store over D1 (Miniflare's local D1, in workerd): the shared conformance suite, and
// one record per user when several isolates' stores save at once.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { runConformance, sampleToken } from '../conformance.ts';
import { countingD1 } from './counting-d1.ts';
import './env.ts';

const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });
let tables = 0;
/** Each store its own table, so the suite's cases never see each other's records. */
const freshTable = () => `t${Date.now().toString(36)}_${tables++}`;

runConformance('sql (D1)', () => createSqlStore({ db: env.TOKENS_D1, cipher, table: freshTable() }));

describe('sql store over D1', () => {
  it('stores on one database saving one user at once, as isolates would, end with one record', async () => {
    const table = freshTable();
    const stores = Array.from({ length: 5 }, () => createSqlStore({ db: env.TOKENS_D1, cipher, table }));
    await Promise.all(stores.flatMap((store, i) => [0, 1].map((j) => store.saveToken({ ...sampleToken(1), accessToken: `access-${i}-${j}` }))));
    expect(await stores[0]!.getTokens()).toHaveLength(1);
  });

  it('findToken is one statement on a one-key store', async () => {
    const table = freshTable();
    const counted = countingD1(env.TOKENS_D1);
    const store = createSqlStore({ db: counted.d1, cipher, table });
    await store.saveToken(sampleToken(1));
    counted.reset();
    expect(await store.findToken({ userName: sampleToken(1).userName })).toMatchObject({ userName: sampleToken(1).userName });
    expect(counted.total()).toBe(1);
  });
});
