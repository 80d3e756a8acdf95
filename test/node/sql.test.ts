// The SQL store over node:sqlite: the shared conformance suite, and what a file shared by
// processes needs (one record per user under racing writers, a lease for one refresh, faults).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { runConformance, sampleToken } from '../conformance.ts';
import { localZoho } from '../shared/local-zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });
const run = promisify(execFile);

runConformance('sql (node:sqlite)', () => createSqlStore({ db: new DatabaseSync(':memory:'), cipher }));

describe('sql store over node:sqlite', () => {
  it('keeps nothing in clear: the table holds sealed data and digests only', async () => {
    const db = new DatabaseSync(':memory:');
    const store = createSqlStore({ db, cipher });
    await store.saveToken(sampleToken(1));
    const rows = JSON.stringify(db.prepare('SELECT * FROM ets_tokens').all());
    for (const value of Object.values(sampleToken(1))) if (typeof value === 'string' && value.length > 3) expect(rows).not.toContain(value);
    expect(db.prepare("SELECT value FROM ets_tokens_meta WHERE key = 'schema_version'").get()).toEqual({ value: '1' });
  });

  it('two stores on one database saving the same user at once end with one record (the UNIQUE index backs the matching)', async () => {
    const db = new DatabaseSync(':memory:');
    const [a, b] = [createSqlStore({ db, cipher }), createSqlStore({ db, cipher })];
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).saveToken({ ...sampleToken(1), accessToken: `access-${i}` })));
    expect(await a.getTokens()).toHaveLength(1);
  });

  it('refuses a database written by a newer schema, and a table name that is not a plain name', async () => {
    const db = new DatabaseSync(':memory:');
    db.exec("CREATE TABLE ets_tokens_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL); INSERT INTO ets_tokens_meta VALUES ('schema_version', '9')");
    expect((await tokenErrorOf(createSqlStore({ db, cipher }).findToken({ userName: 'x' }))).message).toMatch(/schema version 9/);
    expect(() => createSqlStore({ db, cipher, table: 'a; DROP TABLE x' })).toThrow(/plain SQL name/);
    expect(() => createSqlStore({ db: {}, cipher })).toThrow(/D1 binding/);
  });

  it('a read-only database: a save fails as STORAGE_FAILED saying so, and nothing changes', async () => {
    const db = new DatabaseSync(':memory:');
    const store = createSqlStore({ db, cipher });
    const saved = await store.saveToken(sampleToken(1));
    db.exec('PRAGMA query_only = ON');
    const error = await tokenErrorOf(store.saveToken({ ...sampleToken(1), accessToken: 'new' }));
    expect([error.code, error.message]).toEqual(['STORAGE_FAILED', expect.stringMatching(/read-only/)]);
    db.exec('PRAGMA query_only = OFF');
    expect(await store.findTokenById(saved.id)).toEqual(saved);
  });

  it('lock: one holder at a time across stores on the database; a holder that never releases loses it', async () => {
    const db = new DatabaseSync(':memory:');
    const [a, b] = [createSqlStore({ db, cipher }), createSqlStore({ db, cipher })];
    const order: string[] = [];
    let release!: () => void;
    const held = a.lock('refresh:1', () => new Promise<void>((resolve) => ((release = resolve), order.push('a in'))));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = b.lock('refresh:1', async () => void order.push('b in'));
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(order).toEqual(['a in']);
    release();
    await Promise.all([held, second]);
    expect(order).toEqual(['a in', 'b in']);
    // A crashed holder: its row stays, run out.
    db.prepare('INSERT INTO ets_tokens_leases (name, holder, expires_at) VALUES (?, ?, ?)').run('refresh:2', 'gone', Date.now() - 1);
    await expect(b.lock('refresh:2', async () => 'taken over')).resolves.toBe('taken over');
  });

  it('token managers in two "processes" on one database refresh an expired token once for a storm of callers (the lease)', async () => {
    const db = new DatabaseSync(':memory:');
    const z = localZoho();
    const [a, b] = [createSqlStore({ db, cipher }), createSqlStore({ db, cipher })];
    // Each manager its own store and no in-process lock: only the database's lease can make them agree.
    const managers = [z.manager(a, { lock: undefined }), z.manager(b, { lock: undefined })];
    const saved = await managers[0]!.exchangeGrant(z.grant());
    await a.saveToken({ id: saved.id, expiryTime: Date.now() - 1_000 });
    const before = z.zoho.counts().refreshes;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => managers[i % 2]!.getAccessToken({ id: saved.id })));
    expect(z.zoho.counts().refreshes - before).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
  });

  it('two processes saving one user into one SQLite file at once end with one record, every save done', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ets-sql-')), 'tokens.db');
    const key = generateSecret();
    const child = (tag: string) =>
      run(process.execPath, ['--no-warnings', join(import.meta.dirname, 'sql-processes.ts'), file, key, tag, '25'], { encoding: 'utf8' });
    const outputs = await Promise.all([child('a'), child('b')]);
    expect(outputs.map((o) => o.stdout.trim())).toEqual(['saved 25', 'saved 25']);
    const store = createSqlStore({ db: new DatabaseSync(file), cipher: createCipher({ keys: { k1: key }, current: 'k1' }) });
    const all = await store.getTokens();
    expect(all).toHaveLength(1);
    expect(all[0]!.accessToken).toMatch(/^1000\.access\.[ab]\.24$/);
  });
});
