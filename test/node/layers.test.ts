/**
 * The layer plan of src/ (the README's folder table) holds for every file, type imports
 * included: no import cycle; store <- backends (storage only), store <- zoho, and nothing
 * imports the Worker library but its Hono adapter and the MCP server; src/ uses Web APIs only (no node: module; the testing kit's Node server is the one exception,
 * and nothing of the library imports the testing kit).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
/** Every module specifier a file imports or re-exports, `import type` included. */
const specifiers = (file: string) => [...readFileSync(join(SRC, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)].map((m) => m[1]!);
const graph = new Map(
  files.map((file) => [
    file,
    specifiers(file)
      .filter((s) => s.startsWith('.'))
      .map((s) => normalize(relative(SRC, join(SRC, dirname(file), s)))),
  ]),
);
const layerOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '(root)');

describe('the layers of src/', () => {
  it('read every file', () => {
    expect(files.length).toBeGreaterThan(30);
    expect([...graph.values()].flat().length).toBeGreaterThan(50);
  });

  it('have no import cycle, types included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), file, next].join(' -> '));
        else if (!state.has(next) && graph.has(next)) visit(next, [...path, file]);
      }
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file, []);
    expect(cycles).toEqual([]);
  });

  /** Imports from `layer` to any layer but `allowed`. */
  const crossing = (layer: string, allowed: string[]) =>
    [...graph]
      .filter(([file]) => layerOf(file) === layer)
      .flatMap(([file, deps]) => deps.filter((d) => !allowed.includes(layerOf(d))).map((d) => `${file} -> ${d}`));

  it('keep the store below everything: it imports only itself', () => {
    expect(crossing('store', ['store'])).toEqual([]);
  });

  it('keep the backends storage only: they import the store and nothing about Zoho', () => {
    expect(crossing('backends', ['backends', 'store'])).toEqual([]);
  });

  it('keep Zoho above the store and below the Worker: zoho/ imports only the store', () => {
    expect(crossing('zoho', ['zoho', 'store'])).toEqual([]);
  });

  it('let only the Hono adapter and the MCP server import the Worker library', () => {
    const into = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => layerOf(d) === 'worker' && !['worker', 'hono', 'mcp'].includes(layerOf(file))).map((d) => `${file} -> ${d}`),
    );
    expect(into).toEqual([]);
  });

  it("keep the MCP server out of the Worker library's bundle: worker/ and hono/ import nothing of mcp/", () => {
    expect([...crossing('worker', ['worker', 'store', 'backends', 'zoho']), ...crossing('hono', ['hono', 'worker', 'store', 'backends', 'zoho'])]).toEqual([]);
  });

  it('keep the testing kit apart: it imports nothing of the library, and nothing imports it', () => {
    expect(crossing('testing', ['testing'])).toEqual([]);
    const into = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => layerOf(d) === 'testing' && layerOf(file) !== 'testing').map((d) => `${file} -> ${d}`),
    );
    expect(into).toEqual([]);
  });

  it("use Web APIs only: no node: module in src/ but the testing kit's Node server", () => {
    const nodeOnly = ['testing/node.ts'];
    expect(
      files
        .filter((f) => !nodeOnly.includes(f))
        .flatMap((file) =>
          specifiers(file)
            .filter((s) => s.startsWith('node:'))
            .map((s) => `${file}: ${s}`),
        ),
    ).toEqual([]);
    expect(specifiers('testing/node.ts')).toContain('node:http');
  });
});
