/**
 * `edge-token-store login --device`, the built command as a user runs it, against a served local
 * Zoho with a US and an EU data center (polls every second there, so a run takes seconds): the
 * person decides on the local Zoho's verification page; the token lands sealed in a SQLite file
 * the SQL store reads, a second login of the user replaces it, an EU user approved through the
 * US server gets an EU token, refusals and expiry end non-zero, and nothing secret is printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalZoho } from 'edge-token-store/testing';
import { serveLocalZoho } from 'edge-token-store/testing/node';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';

const CLI = join(import.meta.dirname, '../../dist/node/cli/main.js');
const DEVICE = { clientId: '1000.CLIDEVICE', type: 'device' as const, clientSecret: 'cli-device-secret' };
const PORTS = { us: 18841, eu: 18842 };
const ORIGINS = { us: `http://127.0.0.1:${PORTS.us}`, eu: `http://127.0.0.1:${PORTS.eu}` };
const KEYS = { k1: generateSecret() };

const zoho = new LocalZoho({ clients: [DEVICE], dataCenters: ORIGINS, devicePollSeconds: 1 });
const servers = await Promise.all([serveLocalZoho({ zoho, port: PORTS.us }), serveLocalZoho({ zoho, port: PORTS.eu })]);
afterAll(() => Promise.all(servers.map((s) => s.close())));

/**
 * Runs the command; `decide` is what the person does once the code is on the screen (with the
 * code). Resolves with the exit code and everything printed.
 */
function login(args: string[], decide: (userCode: string) => void): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, 'login', '--device', '--client-id', DEVICE.clientId, ...args], {
    env: { ...process.env, ZOHO_CLIENT_SECRET: DEVICE.clientSecret, TOKEN_STORE_KEYS: JSON.stringify(KEYS), TOKEN_STORE_CURRENT_KEY: 'k1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let decided = false;
  const read = (chunk: Buffer) => {
    output += chunk;
    const code = /enter the code\s+([0-9A-F]{8})/.exec(output)?.[1];
    if (code && !decided) {
      decided = true;
      decide(code);
    }
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

const everyDataCenter = ['--data-center', 'any', '--accounts-url', `us=${ORIGINS.us}`, '--accounts-url', `eu=${ORIGINS.eu}`];
const openStore = (file: string) => createSqlStore({ db: new DatabaseSync(file), cipher: createCipher({ keys: KEYS, current: 'k1' }) });

describe('edge-token-store login --device', () => {
  const folder = mkdtempSync(join(tmpdir(), 'ets-login-'));
  const file = join(folder, 'tokens.db');

  it('prints the code and URL, waits, and saves the accepted token sealed in SQLite; a token manager refreshes it', async () => {
    const run = await login([...everyDataCenter, '--to', 'sqlite', '--out', file], (code) => zoho.decideDevice(code, 'ana@example.com'));
    expect(run.code).toBe(0);
    expect(run.output).toContain(`Open ${ORIGINS.us}/oauth/v3/device`);
    expect(run.output).toMatch(/waiting for the person to accept: \d:\d\d left/);
    expect(run.output).toContain('saved a token for the Zoho user who accepted (data center us), sealed');
    const store = openStore(file);
    const [token, ...others] = await store.getTokens();
    expect(others).toEqual([]);
    expect(token).toMatchObject({ userName: 'ana@example.com:7001', apiDomain: ORIGINS.us, clientId: DEVICE.clientId });
    // Nothing secret or personal on the screen.
    for (const secret of [token!.refreshToken!, token!.accessToken!, DEVICE.clientSecret, 'ana@example.com']) expect(run.output).not.toContain(secret);
    const raw = JSON.stringify(new DatabaseSync(file).prepare('SELECT * FROM ets_tokens').all());
    expect(raw).not.toContain(token!.refreshToken!);
    const oauth = zohoOAuth({
      clientId: DEVICE.clientId,
      clientSecret: DEVICE.clientSecret,
      dataCenter: 'any',
      dataCenters: { us: { accounts: ORIGINS.us, apiDomain: ORIGINS.us }, eu: { accounts: ORIGINS.eu, apiDomain: ORIGINS.eu } },
    });
    await store.saveToken({ id: token!.id, expiryTime: Date.now() - 1 });
    const fresh = await createTokenManager({ store, oauth, lock: null }).freshToken({ id: token!.id }, { skewMs: 5_000 });
    expect(fresh.accessToken).not.toBe(token!.accessToken);
  });

  it('a second login of the same user replaces their record', async () => {
    const run = await login([...everyDataCenter, '--to', 'sqlite', '--out', file], (code) => zoho.decideDevice(code, 'ana@example.com'));
    expect(run.code).toBe(0);
    expect(run.output).toContain('replaced the token of the Zoho user who accepted');
    expect(await openStore(file).getTokens()).toHaveLength(1);
  });

  it('an EU user approved through the US accounts server ends with an EU token', async () => {
    const eu = join(folder, 'eu.db');
    const run = await login([...everyDataCenter, '--to', 'sqlite', '--out', eu], (code) => zoho.decideDevice(code, 'eva@example.eu'));
    expect(run.code).toBe(0);
    expect(run.output).toContain('(data center eu)');
    expect((await openStore(eu).getTokens())[0]).toMatchObject({ apiDomain: ORIGINS.eu });
  });

  it('refused and expired end with a clear message, a non-zero exit, and nothing saved', async () => {
    const none = join(folder, 'none.db');
    const refused = await login(['--accounts-url', ORIGINS.us, '--to', 'sqlite', '--out', none], (code) => zoho.decideDevice(code, 'bo@example.com', true));
    expect([refused.code, refused.output]).toEqual([1, expect.stringContaining('the person refused the login at Zoho; nothing was saved')]);
    // Nobody acts, and Zoho's clock passes the code's five minutes.
    const expired = await login(['--accounts-url', ORIGINS.us, '--to', 'sqlite', '--out', none], () => void zoho.advance(6 * 60_000));
    expect([expired.code, expired.output]).toEqual([1, expect.stringContaining('the code expired before the person accepted')]);
    expect(await openStore(none).getTokens()).toEqual([]);
  });

  it('takes the client secret only from the environment, and refuses a missing one before asking Zoho', async () => {
    const before = zoho.countsFor(DEVICE.clientId).devicePolls;
    const child = spawn(
      process.execPath,
      [CLI, 'login', '--device', '--client-id', DEVICE.clientId, '--accounts-url', ORIGINS.us, '--to', 'sqlite', '--out', join(folder, 'x.db')],
      {
        env: { ...process.env, ZOHO_CLIENT_SECRET: '' },
      },
    );
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect([code, output]).toEqual([2, expect.stringContaining('ZOHO_CLIENT_SECRET')]);
    expect(zoho.countsFor(DEVICE.clientId).devicePolls).toBe(before);
  });
});
