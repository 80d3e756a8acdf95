import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { browserCipher, openIndexedDBStore } from '../../src/backends/idb.ts';
import { runConformance, sampleToken } from '../conformance.ts';
import { expectNothingInClear } from '../shared/in-clear.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

let databases = 0;
const freshName = () => `idb-test-${Date.now()}-${databases++}`;
const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });

runConformance('indexeddb', () => openIndexedDBStore({ name: freshName(), cipher }));

/** Every stored value, read with the raw IndexedDB API (no library code in the way). */
function rawValues(name: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const request = db.transaction('tokens').objectStore('tokens').getAll();
      request.onsuccess = () => {
        db.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    };
  });
}

describe('indexeddb store', () => {
  it('keeps no token, client secret or user name in clear in any stored value', async () => {
    const name = freshName();
    const store = await openIndexedDBStore({ name, cipher: await browserCipher(`${name}-keys`) });
    const tokens = [sampleToken(1, { grantToken: 'grant-secret-1' }), sampleToken(2)];
    for (const token of tokens) await store.saveToken(token);
    const raw = JSON.stringify(await rawValues(name));
    expect(raw).toContain('"data":"v2.');
    expectNothingInClear(raw, tokens);
  });

  it('without Web Locks, the re-check inside the write transaction still keeps one record', async () => {
    const name = freshName();
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    try {
      const [tabA, tabB] = await Promise.all([openIndexedDBStore({ name, cipher }), openIndexedDBStore({ name, cipher })]);
      const saved = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? tabA : tabB).saveToken(sampleToken(1, { accessToken: `a-${i}` }))));
      expect(new Set(saved.map((t) => t.id)).size).toBe(1);
      expect(await rawValues(name)).toHaveLength(1);
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
    expect(navigator.locks).toBeDefined();
  });

  it('two tabs saving one user at once end with one record', async () => {
    const name = freshName();
    // Two connections, two stores: the per-store lock does not span them, as it would not span tabs.
    const [tabA, tabB] = await Promise.all([openIndexedDBStore({ name, cipher }), openIndexedDBStore({ name, cipher })]);
    const saves = Array.from({ length: 40 }, (_, i) => (i % 2 ? tabA : tabB).saveToken(sampleToken(1, { accessToken: `access-${i}`, expiryTime: i })));
    const saved = await Promise.all(saves);
    expect(new Set(saved.map((t) => t.id)).size).toBe(1);
    expect(await rawValues(name)).toHaveLength(1);
  });

  it('browserCipher creates one non-extractable key pair and reuses it across page loads', async () => {
    const keysName = `${freshName()}-keys`;
    const [first, second] = await Promise.all([browserCipher(keysName), browserCipher(keysName)]);
    expect(first.currentKeyId).toBe(second.currentKeyId);
    const name = freshName();
    const saved = await (await openIndexedDBStore({ name, cipher: first })).saveToken(sampleToken(1));
    // a "reload": new cipher and store objects over the same databases
    const reloaded = await openIndexedDBStore({ name, cipher: await browserCipher(keysName) });
    expect(await reloaded.findToken({ userName: sampleToken(1).userName! })).toEqual(saved);

    const db = await openDB(keysName);
    const [record] = await db.getAll('keys');
    db.close();
    expect(record.encryption.extractable).toBe(false);
    expect(record.blindIndex.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', record.encryption)).rejects.toThrow();
  });

  it('reopening an existing database keeps every token (the upgrade runs once)', async () => {
    const name = freshName();
    const first = await openIndexedDBStore({ name, cipher });
    for (let n = 0; n < 5; n++) await first.saveToken(sampleToken(n));
    const again = await openIndexedDBStore({ name, cipher });
    expect(await again.getTokens()).toHaveLength(5);
  });

  it('a database from a newer release is reported, not overwritten', async () => {
    const name = freshName();
    const newer = await openDB(name, 99, { upgrade: (db) => void db.createObjectStore('tokens', { keyPath: 'id' }) });
    await newer.put('tokens', { id: 'from-the-newer-release', data: 'kept' });
    newer.close();
    expect((await tokenErrorOf(openIndexedDBStore({ name, cipher }))).code).toBe('STORAGE_FAILED');
    // Still the newer release's database, its version and its record untouched.
    const after = await openDB(name);
    expect(after.version).toBe(99);
    expect(await after.get('tokens', 'from-the-newer-release')).toEqual({ id: 'from-the-newer-release', data: 'kept' });
    after.close();
  });

  it('surfaces a closed connection (another tab deleting the database) as STORAGE_FAILED', async () => {
    const name = freshName();
    const store = await openIndexedDBStore({ name, cipher });
    await store.saveToken(sampleToken(1));
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    const error = await tokenErrorOf(store.saveToken(sampleToken(2)));
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.cause).toBeDefined();
  });

  it('rejects a missing cipher', async () => {
    const error = await tokenErrorOf(openIndexedDBStore({ cipher: undefined as never }));
    expect(error.code).toBe('INVALID_INPUT');
  });
});
