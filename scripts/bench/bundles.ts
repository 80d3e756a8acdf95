// The bundle a user deploys: the fixture Workers (test/fixtures) built as `wrangler deploy` would
// (esbuild, minified), beside a Hono app without our routes, in bytes and gzipped bytes.
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '../..');

/** A Hono app with the same two routes of its own as the Hono fixture, and nothing of ours. */
const BARE_HONO = `import { Hono } from 'hono';
const app = new Hono();
app.get('/', (c) => c.text("the app's own home page"));
app.get('/app/leads', (c) => c.json({ data: [] }));
export default app;`;

export interface BundleSize {
  minified: number;
  gzipped: number;
}

async function sizeOf(entry: { path: string } | { contents: string }): Promise<BundleSize> {
  const result = await build({
    ...('path' in entry ? { entryPoints: [entry.path] } : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'ts' } }),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    // The fixtures import the package by name; here that is its source, as the tests resolve it.
    alias: { 'edge-token-store/worker': resolve(ROOT, 'src/worker/index.ts'), 'edge-token-store/hono': resolve(ROOT, 'src/hono/index.ts') },
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

export async function bundleSizes(): Promise<Record<'framework-free Worker' | 'Hono app with zohoRoutes()' | 'Hono app without our routes', BundleSize>> {
  return {
    'framework-free Worker': await sizeOf({ path: resolve(ROOT, 'test/fixtures/plain/index.ts') }),
    'Hono app with zohoRoutes()': await sizeOf({ path: resolve(ROOT, 'test/fixtures/hono/index.ts') }),
    'Hono app without our routes': await sizeOf({ contents: BARE_HONO }),
  };
}
