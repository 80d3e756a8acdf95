/**
 * "Isomorphic", tested where it is claimed: the shared conformance suite on memory, sealed
 * memory and the SQL store over the runtime's own SQLite (bun:sqlite; node:sqlite in Deno), run
 * by Deno and by Bun themselves (their binaries from npm: @deno/linux-x64-glibc,
 * @oven/bun-linux-x64), with `vitest` resolved to test/runtimes/mini-vitest.ts. Each run must
 * pass every case: three stores times the suite's 63.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
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
});
