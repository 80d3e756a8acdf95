/**
 * The part of vitest's API the shared conformance suite uses (describe, it, beforeEach,
 * expect with toBe, toEqual, toBeNull, toContain, toHaveLength, toMatch, toBeInstanceOf and
 * .not), for runtimes vitest does not run in: Deno and Bun resolve `vitest` to this file
 * (runtimes.test.ts). `run()` runs what was declared, in order, and reports.
 */
type Hook = () => unknown;
interface Suite {
  name: string;
  hooks: Hook[];
  children: (Suite | Test)[];
}
interface Test {
  name: string;
  fn: () => unknown;
}

const root: Suite = { name: '', hooks: [], children: [] };
let current = root;

export function describe(name: string, body: () => void): void {
  const suite: Suite = { name, hooks: [], children: [] };
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    body();
  } finally {
    current = parent;
  }
}

export function it(name: string, fn: () => unknown): void {
  current.children.push({ name, fn });
}

export function beforeEach(fn: Hook): void {
  current.hooks.push(fn);
}

/** vitest's `toEqual`: deep equality that ignores properties whose value is undefined. */
function equals(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => equals(x, (b as unknown[])[i]));
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((x) => b.has(x));
  const defined = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const [ka, kb] = [defined(a), defined(b)];
  return ka.length === kb.length && ka.every((k) => equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const show = (value: unknown) => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

function matchers(actual: unknown, negated: boolean) {
  const check = (passed: boolean, message: string) => {
    if (passed === negated) throw new Error(`expected ${show(actual)} ${negated ? 'not ' : ''}${message}`);
  };
  return {
    toBe: (expected: unknown) => check(Object.is(actual, expected), `to be ${show(expected)}`),
    toEqual: (expected: unknown) => check(equals(actual, expected), `to equal ${show(expected)}`),
    toBeNull: () => check(actual === null, 'to be null'),
    toContain: (item: unknown) =>
      check(
        typeof actual === 'string' ? actual.includes(String(item)) : Array.isArray(actual) && actual.some((x) => Object.is(x, item)),
        `to contain ${show(item)}`,
      ),
    toHaveLength: (length: number) => check((actual as { length?: unknown })?.length === length, `to have length ${length}`),
    toMatch: (pattern: RegExp | string) =>
      check(typeof actual === 'string' && (typeof pattern === 'string' ? actual.includes(pattern) : pattern.test(actual)), `to match ${String(pattern)}`),
    toBeInstanceOf: (type: abstract new (...args: never[]) => unknown) => check(actual instanceof type, `to be an instance of ${type.name}`),
  };
}

export function expect(actual: unknown) {
  return Object.assign(matchers(actual, false), { not: matchers(actual, true) });
}

/** Runs every declared test (each after its suites' beforeEach hooks, outermost first); prints failures and a summary line. */
export async function run(runtime: string): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  const visit = async (suite: Suite, hooks: Hook[], path: string[]) => {
    for (const child of suite.children) {
      if ('children' in child) {
        await visit(child, [...hooks, ...child.hooks], [...path, child.name]);
        continue;
      }
      try {
        for (const hook of hooks) await hook();
        await child.fn();
        passed++;
      } catch (error) {
        failed++;
        console.log(`FAIL ${[...path, child.name].join(' > ')}: ${(error as Error)?.message ?? error}`);
      }
    }
  };
  await visit(root, root.hooks, []);
  console.log(`${runtime}: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}
