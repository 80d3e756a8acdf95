// tsc's rewriteRelativeImportExtensions rewrites `./x.ts` to `./x.js` in emitted JavaScript but
// not in declaration files; do the same for dist/*.d.ts so consumers resolve `./x.js` -> `./x.d.ts`.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

for (const file of readdirSync('dist', { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.d.ts')) continue;
  const path = `dist/${file}`;
  const text = readFileSync(path, 'utf8');
  const fixed = text.replace(/(from\s+'\.{1,2}\/[^']+)\.ts'/g, "$1.js'").replace(/(import\('\.{1,2}\/[^']+)\.ts'\)/g, "$1.js')");
  if (fixed !== text) writeFileSync(path, fixed);
}
