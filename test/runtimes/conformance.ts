// The shared conformance suite on memory, sealed memory, and the SQL store over the runtime's
// own SQLite (bun:sqlite in Bun, node:sqlite in Deno), run by Deno or Bun itself
// (runtimes.test.ts starts them). `vitest` resolves to mini-vitest.ts in those runtimes.
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { runConformance } from '../conformance.ts';
import { run } from './mini-vitest.ts';

runConformance('memory', () => createMemoryStore());
runConformance('memory, sealed', () => createMemoryStore({ cipher: createCipher({ keys: { k1: generateSecret() }, current: 'k1' }) }));

const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'unknown';
const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });
if (runtime === 'bun') {
  const { Database } = (await import('bun:sqlite' as string)) as { Database: new (path: string) => unknown };
  runConformance('sql (bun:sqlite)', () => createSqlStore({ db: new Database(':memory:'), cipher }));
} else {
  const { DatabaseSync } = await import('node:sqlite');
  runConformance('sql (node:sqlite in Deno)', () => createSqlStore({ db: new DatabaseSync(':memory:'), cipher }));
}
const { failed } = await run(runtime);
if (failed > 0) throw new Error(`${failed} conformance cases failed under ${runtime}`);
