/**
 * Drives the Worker as a browser would (SELF, its real entry point) against the local Zoho,
 * and records every response body and log line so a test file can check, at its end, that
 * none carried a secret.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { expect, vi } from 'vitest';
import { ObjectTokens } from '../../src/backends/object-base.ts';
import type { OAuthToken, SealedTokenStore } from '../../src/store/types.ts';
import type { ZohoUserObject } from '../../src/worker/user-object.ts';
import { userObjectName } from '../../src/worker/objects.ts';
import { sign } from '../../src/worker/signing.ts';
import './env.ts';
import { client, ZOHO } from './local-zoho.ts';

export const APP = 'https://worker.test';
const seenBodies: string[] = [];
const logs: string[] = [];

/** Starts recording console.info (the Worker's log lines); returns the spy to restore. */
export function recordLogs() {
  return vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
}

export async function call(path: string, init: RequestInit & { cookie?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const response = await SELF.fetch(path.startsWith('http') ? path : `${APP}${path}`, { ...init, headers, redirect: 'manual' });
  seenBodies.push(await response.clone().text());
  return response;
}

export function cookieFrom(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie`);
  return line.split(';')[0]!;
}

/** Starts a login at the Worker (routes under `basePath`; in a browser whose state cookie is `stateCookie`, if any); returns Zoho's consent URL and the new state cookie. */
export async function startLogin(stateCookie?: string, basePath = '') {
  const start = await call(`${basePath}/auth/login`, { cookie: stateCookie });
  expect(start.status).toBe(302);
  return { consent: new URL(start.headers.get('location')!), stateCookie: cookieFrom(start, '__Host-ets-state') };
}

/** The secret of the login a state names, from the browser's state cookie (the state carries only a keyed hash of it). */
export async function loginSecretOf(stateCookie: string, state: string): Promise<string> {
  const binding = state.split('.')[0]!;
  for (const secret of stateCookie.replace(/^__Host-ets-state=/, '').split('.')) {
    if ((await sign(env.SESSION_SECRET, 'login-binding', secret)) === binding) return secret;
  }
  throw new Error('the state cookie holds no secret of this state');
}

/** The PKCE verifier the Worker derives for a login (from the secret its browser's cookie holds). */
export const pkceVerifierOf = async (stateCookie: string, state: string) => sign(env.SESSION_SECRET, 'pkce', await loginSecretOf(stateCookie, state));

/** Consents at the local Zoho; returns the callback URL Zoho redirects to. */
export async function consent(consentUrl: URL, email: string): Promise<URL> {
  const form = new URLSearchParams(consentUrl.searchParams);
  form.set('email', email);
  const approved = await fetch(`${ZOHO}/oauth/v2/auth/approve`, { method: 'POST', body: form, redirect: 'manual' });
  return new URL(approved.headers.get('location')!);
}

/** The user name the local Zoho gives an email (`email:zgid`). */
export function userNameOf(email: string): string {
  const generated = /^user\d+@org(\d+)(\.[a-z]{2})?\.example$/.exec(email);
  if (generated) return `${email}:9${generated[1]!.padStart(5, '0')}`;
  return `${email}:${{ ana: 7001, bo: 7002, eva: 7101 }[email.split('@')[0] as 'ana']}`;
}

/** The data center the local Zoho keeps a user in. */
export const dataCenterOf = (email: string): 'us' | 'eu' => (/\.eu(\.example)?$/.test(email) ? 'eu' : 'us');

/**
 * The sealed store inside one of the Worker's objects, reached from inside it: the object's
 * RPC hands out no raw token, so tests read and write through its internals.
 */
export function storeInside(stub: DurableObjectStub<ZohoUserObject>): SealedTokenStore {
  // The object's own store, as its class opens it: the same storage, key ring and store name.
  const inside = <T>(work: (store: SealedTokenStore) => Promise<T>) =>
    runInDurableObject(stub, (_object: ZohoUserObject, state) => work(new ObjectTokens(state.storage, env, `do:${state.id.toString()}`).store()));
  return {
    findToken: (query) => inside((s) => s.findToken(query)),
    saveToken: (token) => inside((s) => s.saveToken(token)),
    deleteToken: (id) => inside((s) => s.deleteToken(id)),
    getTokens: () => inside((s) => s.getTokens()),
    deleteTokens: () => inside((s) => s.deleteTokens()),
    findTokenById: (id) => inside((s) => s.findTokenById(id)),
    rotate: () => inside((s) => s.rotate()),
  };
}

/** The store in a user's own object, as the Worker names it (tests run unplaced: OBJECT_PLACEMENT = off). */
export async function userStore(userName: string): Promise<SealedTokenStore> {
  return storeInside(await userStub(userName));
}

export async function userStub(userName: string) {
  return env.ZOHO_USERS.get(env.ZOHO_USERS.idFromName(await userObjectName(env.USER_OBJECT_SECRET, userName)));
}

export interface LoggedIn {
  cookie: string;
  token: OAuthToken;
}

export async function loginAs(email: string, basePath = ''): Promise<LoggedIn> {
  const { consent: consentUrl, stateCookie } = await startLogin(undefined, basePath);
  const back = await consent(consentUrl, email);
  const done = await call(back.toString(), { cookie: stateCookie });
  if (done.status !== 302) throw new Error(`login failed: ${done.status} ${(await done.text()).slice(0, 300)} ${logs.slice(-3).join(' | ')}`);
  const cookie = cookieFrom(done, '__Host-ets-session');
  const token = (await (await userStore(userNameOf(email))).findToken({ userName: userNameOf(email) }))!;
  return { cookie, token };
}

/** No response body or log line carried a token, a client secret, a session secret or a user's email. */
export function expectNothingLeaked(tokens: (OAuthToken | null | undefined)[], emails: string[]) {
  const secrets = [client.clientSecret, env.SESSION_SECRET, env.USER_OBJECT_SECRET, env.TEST_ADMIN_KEY];
  for (const token of tokens) {
    if (token) secrets.push(...[token.accessToken, token.refreshToken, token.grantToken].filter((s): s is string => !!s));
  }
  expect(logs.length).toBeGreaterThan(10);
  for (const line of logs) {
    for (const secret of secrets) expect(line).not.toContain(secret);
    expect(line).not.toMatch(/code=|state=/);
    for (const email of emails) expect(line).not.toContain(email);
  }
  for (const body of seenBodies) for (const secret of secrets) expect(body).not.toContain(secret);
}
