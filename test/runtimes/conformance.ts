// The shared conformance suite on memory, sealed memory, and the SQL store over the runtime's
// SQLite (bun:sqlite in Bun, node:sqlite in Deno, better-sqlite3 in Node), run by that runtime
// itself (runtimes.test.ts starts them; Node gets this file bundled). `vitest` resolves to
// mini-vitest.ts there.
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { runConformance } from '../conformance.ts';
import { run } from './mini-vitest.ts';

runConformance('memory', () => createMemoryStore());
runConformance('memory, sealed', () => createMemoryStore({ cipher: createCipher({ keys: { k1: generateSecret() }, current: 'k1' }) }));

const runtime =
  typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';
const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });
if (runtime === 'bun') {
  const { Database } = (await import('bun:sqlite' as string)) as { Database: new (path: string) => unknown };
  runConformance('sql (bun:sqlite)', () => createSqlStore({ db: new Database(':memory:'), cipher }));
} else if (runtime === 'deno') {
  const { DatabaseSync } = await import('node:sqlite');
  runConformance('sql (node:sqlite in Deno)', () => createSqlStore({ db: new DatabaseSync(':memory:'), cipher }));
} else {
  const { default: Database } = (await import('better-sqlite3' as string)) as { default: new (path: string) => unknown };
  runConformance('sql (better-sqlite3 in Node)', () => createSqlStore({ db: new Database(':memory:'), cipher }));
}
const { failed } = await run(runtime);
if (failed > 0) throw new Error(`${failed} conformance cases failed under ${runtime}`);
