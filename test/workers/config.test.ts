import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/worker/config.ts';
import { cipherFromSettings } from '../../src/store/cipher.ts';
import { isTokenStoreError } from '../../src/store/errors.ts';
import './env.ts';

/** The message of the MISCONFIGURED error `env` with `changes` gets at its first request, or '' when it is accepted. */
function refused(changes: Partial<typeof env>): string {
  try {
    readConfig({ ...env, ...changes });
    return '';
  } catch (error) {
    expect(error).toMatchObject({ code: 'MISCONFIGURED' });
    return (error as Error).message;
  }
}

describe('worker configuration', () => {
  it('reports malformed JSON secrets by name, never by value (the message is logged)', () => {
    const secret = 'Zm9vYmFyYmF6cXV4c2VjcmV0a2V5bWF0ZXJpYWwxMjM';
    for (const [name, value] of [
      ['TOKEN_STORE_KEYS', secret],
      ['TOKEN_STORE_KEYS', `{"k1":"${secret}" oops}`],
      ['TOKEN_STORE_KEYS', `["${secret}"]`],
      ['API_KEYS', `"${secret}`],
    ] as const) {
      let message = '';
      try {
        readConfig({ ...env, [name]: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(`configuration: ${name} must be a JSON object`);
    }
  });

  it('checks the key ring at the first request, so a bad one is a clear error, not a failing object later', () => {
    expect(() => readConfig(env)).not.toThrow();
    const short = 'c2hvcnQtc2VjcmV0';
    const broken = [
      [{ TOKEN_STORE_KEYS: JSON.stringify({ k1: short }) }, 'createCipher: the secret for key "k1" must be 32 bytes (got 12)'],
      [{ TOKEN_STORE_CURRENT_KEY: 'k9' }, 'createCipher: current must name a key in keys'],
      [{ TOKEN_STORE_CURRENT_KEY: '' }, 'TOKEN_STORE_CURRENT_KEY is not set'],
    ] as const;
    for (const [changes, said] of broken) {
      let message = '';
      try {
        readConfig({ ...env, ...changes });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(`configuration: ${said}`);
      expect(message).not.toContain(short);
    }
  });

  it('a bad deployment setting is MISCONFIGURED, in the Worker and in the objects alike (both read the key ring through one function)', () => {
    const codeOf = (run: () => unknown) => {
      try {
        run();
        return null;
      } catch (error) {
        return isTokenStoreError(error) ? error.code : 'not a TokenStoreError';
      }
    };
    expect(codeOf(() => readConfig({ ...env, SESSION_SECRET: 'short' }))).toBe('MISCONFIGURED');
    expect(codeOf(() => readConfig({ ...env, TOKEN_STORE_CURRENT_KEY: 'k9' }))).toBe('MISCONFIGURED');
    expect(codeOf(() => readConfig({ ...env, ZOHO_DATA_CENTER: 'mars' }))).toBe('MISCONFIGURED');
    // What a user object (ObjectTokens) reads its key ring with:
    expect(codeOf(() => cipherFromSettings('{"k1": "short"}', 'k1'))).toBe('MISCONFIGURED');
    expect(codeOf(() => cipherFromSettings(undefined, 'k1'))).toBe('MISCONFIGURED');
  });

  it('refuses KV mode, a missing or short USER_OBJECT_SECRET, and a bucket count out of range', () => {
    expect(refused({ STORE: 'kv' })).toMatch(/no KV mode/);
    expect(refused({ STORE: 'durable-object' })).toBe('');
    expect(refused({ USER_OBJECT_SECRET: '' })).toBe('configuration: missing USER_OBJECT_SECRET');
    expect(refused({ USER_OBJECT_SECRET: 'short' })).toMatch(/USER_OBJECT_SECRET must be at least 32/);
    for (const bad of ['0', '1025', '2.5', 'many']) expect(refused({ LOGIN_STATE_BUCKETS: bad })).toMatch(/LOGIN_STATE_BUCKETS/);
    expect(readConfig({ ...env, LOGIN_STATE_BUCKETS: '64' }).loginStateBuckets).toBe(64);
    for (const bad of ['0', '-3', 'ninety']) expect(refused({ IDLE_PURGE_DAYS: bad })).toMatch(/IDLE_PURGE_DAYS/);
    expect(refused({ IDLE_PURGE_DAYS: '' })).toBe('');
    expect(refused({ OBJECT_PLACEMENT: 'maybe' })).toMatch(/OBJECT_PLACEMENT/);
    for (const bad of ['mars', 'us,mars', 'US']) expect(refused({ ZOHO_DATA_CENTER: bad })).toMatch(/ZOHO_DATA_CENTER/);
    expect(
      readConfig({ ...env, ZOHO_DATA_CENTER: 'any', ZOHO_LOCAL_DATA_CENTERS: '', ZOHO_REDIRECT_URL: 'https://app.example.com/auth/callback' }).zoho.served,
    ).toHaveLength(9);
    expect(refused({ ZOHO_LOCAL_DATA_CENTERS: '{"us":"http://zoho.local"}' })).toMatch(/no origin for eu/);
  });

  it("checks the connection events' webhook settings at the first request, naming them, never their values", () => {
    for (const url of ['http://hooks.example.com/events', 'ftp://127.0.0.1/x', 'not a url']) {
      expect(refused({ CONNECTION_WEBHOOK_URL: url })).toMatch(/CONNECTION_WEBHOOK_URL must be an https URL/);
    }
    expect(refused({ CONNECTION_WEBHOOK_SECRET: '' })).toMatch(/without CONNECTION_WEBHOOK_SECRET/);
    expect(refused({ CONNECTION_WEBHOOK_SECRET: 'whsec_#not-base64#' })).toMatch(/CONNECTION_WEBHOOK_SECRET must be/);
    expect(refused({ CONNECTION_WEBHOOK_SECRET: 'whsec_#not-base64#' })).not.toContain('#not-base64#');
    expect(refused({ CONNECTION_WEBHOOK_URL: 'http://127.0.0.1:9000/events' })).toBe('');
    // Without a webhook, its secret is not read at all (a queue alone needs none).
    expect(refused({ CONNECTION_WEBHOOK_URL: '', CONNECTION_WEBHOOK_SECRET: '' })).toBe('');
  });

  it('against Zoho itself, needs ZOHO_REDIRECT_URL (https): the callback URL is never taken from the request', () => {
    const zoho = { ...env, ZOHO_DATA_CENTER: 'eu', ZOHO_LOCAL_DATA_CENTERS: '' };
    expect(() => readConfig(zoho)).toThrow('configuration: ZOHO_REDIRECT_URL is required (the callback URL registered at Zoho)');
    expect(() => readConfig({ ...zoho, ZOHO_REDIRECT_URL: 'http://app.example.com/auth/callback' })).toThrow(/must be https/);
    expect(readConfig({ ...zoho, ZOHO_REDIRECT_URL: 'https://app.example.com/auth/callback' }).redirectUrl).toBe('https://app.example.com/auth/callback');
    // With a local stand-in Zoho (npm start, these tests) it defaults to the Worker's own origin.
    expect(readConfig(env).redirectUrl).toBeUndefined();
  });

  it('accepts only https: origins in ALLOWED_ORIGINS (plain http on localhost only)', () => {
    expect(() => readConfig({ ...env, ALLOWED_ORIGINS: 'https://app.example.com, http://app.example.com' })).toThrow(/ALLOWED_ORIGINS must be https/);
    expect([...readConfig({ ...env, ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:5173' }).allowedOrigins]).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });
});
