// Fails the build when package.json's `exports` map and the built files in dist/ disagree:
// every entry (and the bin) must point at files that exist, come from a source entry in src/, carry no
// unrewritten `.ts` specifiers, and import in Node (workerd-only entries are imported by the
// workers test project instead). It also counts the values each entry point exports (from its
// declarations) and fails past PUBLIC_VALUES_LIMIT: every value is something a user calls, and
// internals stay internal. Types are not capped: a type a public signature names must be
// importable, however many there are (public-surface.ts checks that, and that every public
// value has a doc comment).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { publicSurface } from './public-surface.ts';

const PUBLIC_VALUES_LIMIT = 30;
/** The testing kit (a local Zoho for users' tests) is counted on its own: it never reaches production. */
const TESTING_VALUES_LIMIT = 12;
const isTesting = (subpath: string) => subpath.startsWith('./testing');

const WORKERD_ONLY = new Set(['./durable-object', './worker', './hono', './mcp']);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const problems: string[] = [];

for (const [subpath, target] of Object.entries<{ types: string; default: string }>(pkg.exports)) {
  for (const file of [target.types, target.default]) {
    if (!existsSync(file)) problems.push(`${subpath}: ${file} was not built`);
  }
  const source = target.default.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
  if (!existsSync(source)) problems.push(`${subpath}: no source entry ${source}`);
  if (existsSync(target.default) && !WORKERD_ONLY.has(subpath)) {
    try {
      const mod = await import(pathToFileURL(target.default).href);
      if (Object.keys(mod).length === 0) problems.push(`${subpath}: exports nothing`);
    } catch (error) {
      problems.push(`${subpath}: does not import in Node: ${(error as Error).message}`);
    }
  }
}

for (const [name, file] of Object.entries<string>(pkg.bin ?? {})) {
  if (!existsSync(file)) problems.push(`bin ${name}: ${file} was not built`);
  else if (!readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node')) problems.push(`bin ${name}: ${file} has no #! line`);
}

// package.json's "license" names the terms; the text itself must ship in the package.
if (!existsSync('LICENSE') || !readFileSync('LICENSE', 'utf8').startsWith(`${pkg.license} License`)) {
  problems.push(`LICENSE: missing, or not the ${pkg.license} text package.json names`);
}

for (const file of readdirSync('dist', { recursive: true, encoding: 'utf8' })) {
  if (!/\.(js|d\.ts)$/.test(file)) continue;
  if (/from '\.[^']*\.ts'/.test(readFileSync(`dist/${file}`, 'utf8'))) problems.push(`dist/${file}: imports a .ts file`);
}

/** The names an entry point's declarations export: values, and types (marked so). */
function exportsOf(declarations: string): { values: string[]; types: string[] } {
  const program = ts.createProgram([declarations], { skipLibCheck: true, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(declarations)!)!;
  const values: string[] = [];
  const types: string[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
  }
  return { values, types };
}

const counts = Object.entries<{ types: string }>(pkg.exports)
  .filter(([, target]) => existsSync(target.types))
  .map(([subpath, target]) => ({ subpath, ...exportsOf(target.types) }));
const sum = (testing: boolean) => counts.filter((c) => isTesting(c.subpath) === testing).reduce((n, c) => n + c.values.length, 0);
const total = sum(false);
const testing = sum(true);
if (total > PUBLIC_VALUES_LIMIT) problems.push(`the public API has ${total} values, more than ${PUBLIC_VALUES_LIMIT}: keep internals out of the entry points`);
if (testing > TESTING_VALUES_LIMIT) problems.push(`the testing kit has ${testing} values, more than ${TESTING_VALUES_LIMIT}`);

// What the declarations promise users: every type they name importable, every value documented.
const surface = publicSurface(Object.fromEntries(Object.entries<{ types: string }>(pkg.exports).map(([subpath, target]) => [subpath, target.types])));
for (const type of surface.unexported) problems.push(`a public declaration names ${type}, which no entry point exports`);
for (const value of surface.undocumented) problems.push(`${value} has no doc comment`);

if (problems.length > 0) {
  console.error(`exports check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `exports check: ${Object.keys(pkg.exports).length} entry points match dist/; ${total} public values (at most ${PUBLIC_VALUES_LIMIT}) and ${testing} in the testing kit (at most ${TESTING_VALUES_LIMIT}):`,
);
for (const { subpath, values, types } of counts)
  console.log(`  ${subpath.padEnd(18)} ${String(values.length + types.length).padStart(2)}  (${values.length} values, ${types.length} types)`);
