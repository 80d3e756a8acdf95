// The bundle a user deploys: the fixture Workers (test/fixtures) and docs/mcp.md's MCP server built as `wrangler deploy` would
// (esbuild, minified), beside a Hono app without our routes, in bytes and gzipped bytes.
import { readFileSync } from 'node:fs';
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

/**
 * A module bundled to run in the bench: for workerd (`neutral`, with the Workers conditions, as
 * wrangler resolves) or for Chromium (`browser`). The runtime's own modules stay imports.
 */
export async function bundleFor(entry: string, outfile: string, platform: 'neutral' | 'browser'): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform,
    outfile,
    external: ['cloudflare:*', 'node:*'],
    conditions: platform === 'neutral' ? ['workerd', 'worker', 'browser'] : [],
    mainFields: ['module', 'main'],
    logLevel: 'error',
  });
  return outfile;
}

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
    // As wrangler resolves packages without an exports map (the MCP SDK's ajv).
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    // The fixtures import the package by name; here that is its source, as the tests resolve it.
    alias: {
      'edge-token-store/worker': resolve(ROOT, 'src/worker/index.ts'),
      'edge-token-store/hono': resolve(ROOT, 'src/hono/index.ts'),
      'edge-token-store/mcp': resolve(ROOT, 'src/mcp/index.ts'),
    },
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

/** docs/mcp.md's server, as a user copies it: the MCP SDK, zod and workers-oauth-provider included. */
const MCP_SERVER = /## Your own server\n\n```ts\n([\s\S]*?)```/.exec(readFileSync(resolve(ROOT, 'docs/mcp.md'), 'utf8'))![1]!;

export async function bundleSizes(): Promise<
  Record<'framework-free Worker' | 'Hono app with zohoRoutes()' | 'MCP server (docs/mcp.md)' | 'Hono app without our routes', BundleSize>
> {
  return {
    'MCP server (docs/mcp.md)': await sizeOf({ contents: MCP_SERVER }),
    'framework-free Worker': await sizeOf({ path: resolve(ROOT, 'test/fixtures/plain/index.ts') }),
    'Hono app with zohoRoutes()': await sizeOf({ path: resolve(ROOT, 'test/fixtures/hono/index.ts') }),
    'Hono app without our routes': await sizeOf({ contents: BARE_HONO }),
  };
}
