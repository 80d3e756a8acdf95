// What the built declarations promise users, checked with TypeScript's own checker: every
// type a public declaration names (a parameter, a result, a property, a base class) is one a
// user can import from some entry point, and every public value carries a doc comment, so an
// editor shows what it does. dist/ only: types from the platform or a peer are theirs to export.
import { resolve, sep } from 'node:path';
import ts from 'typescript';

/** What a user writes as a type: interfaces, aliases, classes, enums. */
const NAMED_TYPE = ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum;

export interface SurfaceProblems {
  /** `<type>` (named by `<export>` of `<entry>`) is reachable but exported by no entry. */
  unexported: string[];
  /** Public values without a doc comment. */
  undocumented: string[];
}

/** Checks the declarations of every entry (`subpath` -> its `.d.ts`), all under `root`. */
export function publicSurface(entries: Record<string, string>, root = 'dist'): SurfaceProblems {
  const files = Object.values(entries).map((file) => resolve(file));
  const program = ts.createProgram(files, { skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const dist = resolve(root) + sep;
  const inDist = (symbol: ts.Symbol) => (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(dist));
  const resolved = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

  // Everything any entry exports, by the symbol it resolves to.
  const exported = new Set<ts.Symbol>();
  const byEntry: { subpath: string; name: string; symbol: ts.Symbol }[] = [];
  for (const [subpath, file] of Object.entries(entries)) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(resolve(file))!)!;
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = resolved(symbol);
      exported.add(target);
      byEntry.push({ subpath, name: symbol.name, symbol: target });
    }
  }

  const unexported = new Map<ts.Symbol, string>();
  const visited = new Set<ts.Symbol>();
  /** Every named type a declaration's signatures and members mention, followed into our own declarations. */
  function visit(symbol: ts.Symbol, from: string): void {
    if (visited.has(symbol)) return;
    visited.add(symbol);
    for (const declaration of symbol.declarations ?? []) {
      if (!declaration.getSourceFile().fileName.startsWith(dist)) continue;
      const walk = (node: ts.Node): void => {
        // A private member (`#x`, `private x`) is not part of what users touch.
        if (ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) {
          const modifiers = ts.getCombinedModifierFlags(node as ts.Declaration);
          if (modifiers & ts.ModifierFlags.Private || (node.name && ts.isPrivateIdentifier(node.name))) return;
        }
        if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
          const found = checker.getSymbolAtLocation(ts.isTypeReferenceNode(node) ? node.typeName : node.expression);
          const target = found && resolved(found);
          if (target && inDist(target)) {
            // Types only: a value named in an `extends` clause is the library's to keep.
            if (target.flags & NAMED_TYPE && !exported.has(target)) unexported.set(target, from);
            visit(target, from);
          }
        }
        ts.forEachChild(node, walk);
      };
      walk(declaration);
    }
  }
  for (const { subpath, name, symbol } of byEntry) visit(symbol, `${name} of ${subpath}`);

  const undocumented = byEntry
    .filter(({ symbol }) => symbol.flags & ts.SymbolFlags.Value && !(symbol.flags & ts.SymbolFlags.ValueModule))
    .filter(({ symbol }) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '')
    .map(({ subpath, name }) => `${name} of ${subpath}`);

  return {
    unexported: [...unexported].map(([symbol, from]) => `${symbol.name} (named by ${from})`).sort(),
    undocumented: [...new Set(undocumented)].sort(),
  };
}
