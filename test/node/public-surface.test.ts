// The export check's own rules (scripts/public-surface.ts), on declarations made for the purpose:
// a type a public signature names but no entry exports, and a value without a doc comment, are
// each reported; the same declarations exported and documented pass.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicSurface } from '../../scripts/public-surface.ts';

function declarations(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ets-surface-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return root;
}

describe('the export check (public-surface.ts)', () => {
  it('reports a reachable type no entry exports, through options and results alike, and an undocumented value', () => {
    const root = declarations({
      'inner.d.ts': 'export interface Options { lock: Lock }\nexport interface Lock { release(): void }\nexport interface Answer { ok: boolean }\n',
      'index.d.ts':
        "import type { Options, Answer } from './inner.js';\nexport declare function make(options: Options): Answer;\n/** Documented. */\nexport declare const documented: number;\n",
    });
    const found = publicSurface({ '.': join(root, 'index.d.ts') }, root);
    expect(found.unexported.map((line) => line.split(' ')[0])).toEqual(['Answer', 'Lock', 'Options']);
    expect(found.undocumented).toEqual(['make of .']);
  });

  it('passes when every named type is exported by some entry and every value is documented', () => {
    const root = declarations({
      'inner.d.ts': 'export interface Options { lock: Lock }\nexport interface Lock { release(): void }\n',
      'index.d.ts':
        "import type { Options } from './inner.js';\nexport type { Options, Lock } from './inner.js';\n/** Makes one. */\nexport declare function make(options: Options): void;\n",
    });
    expect(publicSurface({ '.': join(root, 'index.d.ts') }, root)).toEqual({ unexported: [], undocumented: [] });
  });
});
