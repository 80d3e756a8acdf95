// Serves bare-proxy.ts under its own `wrangler dev` (the same tool and runtime as `npm start`'s
// Worker), on a port of the bench's, forwarding to `zoho` with `token`.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export async function serveBareProxy(port: number, zoho: string, token: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ets-bare-'));
  const config = join(dir, 'wrangler.toml');
  writeFileSync(config, `name = "bare-proxy"\nmain = "${resolve(import.meta.dirname, 'bare-proxy.ts')}"\ncompatibility_date = "2026-11-01"\n`);
  const child = spawn(
    'wrangler',
    [
      'dev',
      '--config',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--persist-to',
      join(dir, 'state'),
      '--var',
      `ZOHO:${zoho}`,
      '--var',
      `TOKEN:${token}`,
      '--show-interactive-dev-session=false',
    ],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let started = false;
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the bare proxy did not start:\n${output}`)), 120_000);
    // Read until it is ready, then dropped: the measuring process keeps no growing copy.
    const seen = (chunk: Buffer) => {
      if (started) return;
      output += chunk;
      if (output.includes('Ready on')) ((started = true), clearTimeout(timer), ready());
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => fail(new Error(`the bare proxy exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
