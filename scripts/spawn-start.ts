// Runs `npm start` (scripts/start.ts) as a child process on ports and a state folder of the
// caller's, for the e2e test and the proxy benchmark. Resolves once it says it is running.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface RunningApp {
  /** The `npm start` process (wrangler and its workerd run under it). */
  pid: number;
  stop(): Promise<void>;
  /** What it has printed so far (stdout and stderr). */
  output(): string;
  /** The local Zoho's admin token (`Authorization: Bearer` for its /__admin/ routes). */
  adminToken: string;
}

export async function spawnStart(options: {
  port: number;
  zohoPort: number;
  stateDir: string;
  readyWithinMs: number;
  env?: Record<string, string>;
}): Promise<RunningApp> {
  const adminToken = options.env?.LOCAL_ZOHO_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, ['scripts/start.ts'], {
    env: {
      ...process.env,
      LOCAL_ZOHO_ADMIN_TOKEN: adminToken,
      ...options.env,
      PORT: String(options.port),
      LOCAL_ZOHO_PORT: String(options.zohoPort),
      STATE_DIR: options.stateDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  // Searched only until ready: a benchmark's thousands of request log lines must not cost the
  // process that measures them a scan of everything printed so far, per line.
  const keep = (chunk: Buffer) => (output += chunk);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${output}`)), options.readyWithinMs);
    child.stdout.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (!ready && output.includes('edge-token-store is running')) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', keep);
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return {
    pid: child.pid!,
    adminToken,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
