/**
 * Who is calling: the session a cookie names (signed, with its expiry), or the token a server
 * API key maps to, and their token for a CRM call, in one call to their object. The routes (auth.ts, proxy.ts, session.ts) ask here;
 * this file asks only the objects below it.
 */
import { TokenStoreError } from '../store/errors.ts';
import type { RefreshOptions } from '../store/types.ts';
import type { CrmAccess } from '../zoho/crm-call.ts';
import { DEFAULT_SKEW_MS } from '../zoho/token-manager.ts';
import type { CallerToken } from './user-object.ts';
import type { Config } from './config.ts';
import type { Env } from './env.ts';
import { readCookie, SESSION_COOKIE, setCookie } from './http.ts';
import type { ResolvedOptions } from './options.ts';
import { isDataCenter } from '../zoho/data-centers.ts';
import { ask, userObject, type UserRef } from './objects.ts';
import { sha256, sign, verify } from './signing.ts';

/**
 * The session cookie for a session in `ref`'s object, ending at `expiresAt` (epoch ms, as the
 * object's own record of it): `<data center>.<object name>.<session id>.<expires at>.<signature>`.
 * The signed expiry ends it in the Worker without asking anyone.
 */
export async function sessionCookie(config: Config, ref: UserRef, sessionId: string, expiresAt: number): Promise<string> {
  const value = `${ref.dataCenter}.${ref.name}.${sessionId}.${expiresAt}`;
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  return setCookie(SESSION_COOKIE, `${value}.${await sign(config.sessionSecret, 'session', value)}`, maxAge);
}

/** A session as the cookie names it. */
export interface Session {
  ref: UserRef;
  sessionId: string;
}

/** A user object's reference from its two parts, as a cookie or a token reference names them; null unless both are well formed. */
const refOf = (dataCenter: string | undefined, name: string | undefined): UserRef | null =>
  isDataCenter(dataCenter) && name?.startsWith('u-') ? { dataCenter, name } : null;

/**
 * Session cookies whose signature this isolate has checked, per configuration (its secret):
 * a browser sends the same cookie with every call. Only ones that verified are kept; the
 * expiry is still read from the cookie on every request.
 */
const verifiedCookies = new WeakMap<Config, Set<string>>();
const VERIFIED_KEPT = 10_000;

async function signedCookie(config: Config, value: string, signature: string, cookie: string): Promise<boolean> {
  let known = verifiedCookies.get(config);
  if (known?.has(cookie)) return true;
  if (!(await verify(config.sessionSecret, 'session', value, signature))) return false;
  if (!known || known.size >= VERIFIED_KEPT) verifiedCookies.set(config, (known = new Set()));
  known.add(cookie);
  return true;
}

/** The session a cookie names, if its signature checks out (no storage call for forgeries). */
export async function sessionOf(request: Request, env: Env, config: Config): Promise<Session | null> {
  const cookie = readCookie(request, SESSION_COOKIE);
  if (!cookie) return null;
  const parts = cookie.split('.');
  if (parts.length !== 5) return null;
  const [dataCenter, name, sessionId, expiresAt, signature] = parts as [string, string, string, string, string];
  const ref = refOf(dataCenter, name);
  if (!ref || !/^\d{1,15}$/.test(expiresAt) || Number(expiresAt) <= Date.now()) return null;
  if (!(await signedCookie(config, `${dataCenter}.${name}.${sessionId}.${expiresAt}`, signature, cookie))) return null;
  return { ref, sessionId };
}

/**
 * The session's token, in one call to its object: as stored, or fresh (refreshed in the object,
 * single-flight) when `refresh` is given. Null without a live session. Safe to retry: a read,
 * or a refresh that re-checks what is stored before it calls Zoho.
 */
export function sessionToken(env: Env, session: Session, refresh: RefreshOptions | null): Promise<CallerToken | null> {
  return ask(userObject(env, session.ref), (s) => s.session(session.sessionId, refresh));
}

/** A token's reference, as /auth/me shows it (`tokenRef`) and API_KEYS holds it: `<data center>/<object name>/<token id>`. */
export const tokenRefString = (ref: UserRef, tokenId: string) => `${ref.dataCenter}/${ref.name}/${tokenId}`;

function parseTokenRef(value: string | null): { ref: UserRef; tokenId: string } | null {
  const [dataCenter, name, tokenId, extra] = value?.split('/') ?? [];
  const ref = refOf(dataCenter, name);
  return ref && tokenId && extra === undefined ? { ref, tokenId } : null;
}

/** Who is calling, their token for this call, and how to get a fresh one if Zoho rejects it. */
export interface Caller {
  ref: UserRef;
  token: CrmAccess;
  /** The user's own org (the zgid in their user name), for the `authorizeCrm` hook; null when unknown. */
  org: string | null;
  session: Session | null;
  refresh: (rejectedAccessToken: string) => Promise<CrmAccess>;
}

/**
 * Who is calling and their fresh token, in one call to their object: a session cookie, or a
 * server API key (stored as its SHA-256). Null when neither names a live token. Every object
 * call here is safe to retry: a read, or a refresh that re-checks the stored token first.
 */
export async function callerOf(request: Request, env: Env, config: Config): Promise<Caller | null> {
  const authorization = request.headers.get('authorization');
  if (authorization?.startsWith('Bearer ')) {
    const value = config.apiKeys.get(await sha256(authorization.slice('Bearer '.length)));
    return value ? tokenRefCaller(env, value) : null;
  }
  const session = await sessionOf(request, env, config);
  return session && sessionCaller(env, session);
}

/**
 * The caller a token reference names (a server API key's, an MCP grant's), with its fresh token
 * in one call to its object; null for a reference that is not one. Throws the object's
 * TokenStoreError (REAUTH_REQUIRED, NOT_FOUND: the token is gone).
 */
export async function tokenRefCaller(env: Env, tokenRef: string): Promise<Caller | null> {
  const target = parseTokenRef(tokenRef);
  if (!target) return null;
  const fresh = (options: RefreshOptions) => ask(userObject(env, target.ref), (s) => s.apiKeyToken(target.tokenId, options));
  const { org, ...token } = await fresh({ skewMs: DEFAULT_SKEW_MS });
  return { ref: target.ref, token, org, session: null, refresh: (rejectedAccessToken) => fresh({ skewMs: DEFAULT_SKEW_MS, rejectedAccessToken }) };
}

/** A session's caller: its fresh token in one call to its object, or null when the session is over. */
export async function sessionCaller(env: Env, session: Session): Promise<Caller | null> {
  const found = await sessionToken(env, session, { skewMs: DEFAULT_SKEW_MS });
  if (!found) return null;
  const { org, ...token } = found;
  const refresh = async (rejectedAccessToken: string) => {
    const fresh = await sessionToken(env, session, { skewMs: DEFAULT_SKEW_MS, rejectedAccessToken });
    // The session ended between the two calls: as if Zoho no longer accepted the login.
    if (!fresh) throw new TokenStoreError('REAUTH_REQUIRED', 'the session ended during the call');
    return fresh;
  };
  return { ref: session.ref, token, org, session, refresh };
}

/**
 * Whether the app's `authorizeCrm` hook lets this caller make this call (no hook: yes). Only
 * `true` allows: a hook that answers anything else, or throws, refuses.
 */
export async function crmAllowed(options: ResolvedOptions, who: Caller, method: string, path: string, targetOrg: string | null): Promise<boolean> {
  if (!options.authorizeCrm) return true;
  try {
    return (await options.authorizeCrm({ dataCenter: who.ref.dataCenter, user: who.ref.name, method, path, org: targetOrg ?? who.org })) === true;
  } catch {
    return false;
  }
}
