import type { TokenStoreError } from '../store/errors.ts';
import type { TokenEvent } from '../zoho/token-manager.ts';
import { DEFAULT_RATE_LIMIT_WAIT_MS } from '../zoho/oauth.ts';

// Responses, cookies, CORS and structured logs. Logs carry a request id, the method, the
// path (never the query: it holds codes and state) and outcomes; never a header or body.

export const SESSION_COOKIE = '__Host-ets-session';
export const STATE_COOKIE = '__Host-ets-state';

export function jsonError(status: number, error: string, message: string, headers?: HeadersInit): Response {
  const response = Response.json({ error, message }, { status, headers });
  response.headers.set('cache-control', 'no-store');
  return response;
}

/**
 * What a route answers, and the code its log line carries. A refusal's code is its body's
 * `error` (one name for one refusal, in the answer and the log); a success has none.
 */
export interface RouteAnswer {
  response: Response;
  code?: string;
}

/** A route's refusal: `{ error, message }` with `status`, logged under the same `error`. */
export const refusal = (status: number, error: string, message: string, headers?: HeadersInit): RouteAnswer => ({
  response: jsonError(status, error, message, headers),
  code: error,
});

/** Text made safe inside HTML, in an element or a quoted attribute. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function htmlPage(status: number, title: string, message: string, headers?: HeadersInit): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui;max-width:36rem;margin:4rem auto}</style>
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/">Back</a></p>`;
  const response = new Response(body, { status, headers });
  response.headers.set('content-type', 'text/html;charset=utf-8');
  response.headers.set('cache-control', 'no-store');
  // The page's URL may hold a code and a state: never sent on as a referrer. Never framed.
  response.headers.set('referrer-policy', 'no-referrer');
  response.headers.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  response.headers.set('x-content-type-options', 'nosniff');
  return response;
}

/**
 * The one mapping from a token error to an HTTP answer, for the proxy and the auth routes:
 * a dead login is 401 (and ends a cookie session); Zoho's rate limit, Zoho unreachable and a
 * busy token store are 503 with Retry-After. Bodies name the situation, never a token or user.
 */
const retryAfter = (error: TokenStoreError, fallbackMs: number) => ({
  'retry-after': String(Math.max(1, Math.ceil((error.retryAfterMs ?? fallbackMs) / 1000))),
});

/** A token error as a route's refusal: the answer `tokenErrorResponse` gives, logged under its body's `error`. */
export async function tokenRefusal(error: TokenStoreError, endSession: boolean): Promise<RouteAnswer> {
  const response = tokenErrorResponse(error, endSession);
  const { error: code } = (await response.clone().json()) as { error: string };
  return { response, code };
}

export function tokenErrorResponse(error: TokenStoreError, endSession: boolean): Response {
  switch (error.code) {
    case 'REAUTH_REQUIRED':
    case 'NOT_FOUND': {
      const response = jsonError(401, 'reauth_required', 'Zoho no longer accepts this login; log in again');
      if (endSession) response.headers.append('set-cookie', clearCookie(SESSION_COOKIE));
      return response;
    }
    case 'ZOHO_RATE_LIMITED':
      return jsonError(503, 'zoho_rate_limited', 'Zoho asks to wait before refreshing again', retryAfter(error, DEFAULT_RATE_LIMIT_WAIT_MS));
    case 'ZOHO_UNAVAILABLE':
      // Backed off: the wait is how long the refresh leaves Zoho alone.
      return jsonError(503, 'zoho_unavailable', 'Zoho could not be reached; try again after the wait', retryAfter(error, 1_000));
    case 'STORAGE_FAILED':
      // An overloaded object, or one that kept failing with transient faults: ask to come back.
      if (error.retryAfterMs !== undefined) return jsonError(503, 'busy', 'the token store is busy; try again shortly', retryAfter(error, 1_000));
      return jsonError(502, 'upstream_error', 'the token could not be used');
    case 'INVALID_INPUT':
      return jsonError(400, 'bad_request', 'the request cannot be completed');
    default:
      return jsonError(502, 'upstream_error', 'the token could not be used');
  }
}

/** Only space and tab surround a cookie's name and value (RFC 6265bis): nothing else is trimmed. */
const OWS = /^[ \t]+|[ \t]+$/g;
/** A name as someone tossing a look-alike cookie would spell it: no whitespace, controls or invisible characters, any case. */
const looseName = (name: string) => name.replace(/[\s\p{Cc}\p{Cf}]/gu, '').toLowerCase();

/**
 * The value of the cookie named exactly `name`, or null. A second cookie of that name, or one
 * whose name differs from it only by whitespace, invisible characters or case (which a sibling
 * subdomain or a plain-http page can set, since no `__Host-` rule binds such a name), makes the
 * answer null: a request carrying a tossed cookie is not authenticated by either.
 */
export function readCookie(request: Request, name: string): string | null {
  const wanted = looseName(name);
  let value: string | null = null;
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? '' : part.slice(0, eq)).replace(OWS, '');
    if (looseName(key) !== wanted) continue;
    if (key !== name || value !== null) return null;
    value = part.slice(eq + 1).replace(OWS, '');
  }
  return value;
}

/** HttpOnly, Secure, SameSite=Lax, host-only (the __Host- prefix): script never sees it. */
export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; Secure; SameSite=Lax`;
}

export function clearCookie(name: string): string {
  return setCookie(name, '', 0);
}

export interface LogFields {
  requestId: string;
  /** For an unexpected exception: its class (`TypeError`...), never its message, which may quote data. */
  errorClass?: string;
  method: string;
  path: string;
  status?: number;
  ms?: number;
  event?: string;
  /** A refusal's code: its answer's `error`. */
  code?: string;
  /** For a misconfiguration: which setting (its name, never its value). */
  detail?: string;
}

export function log(fields: LogFields): void {
  console.info(JSON.stringify({ level: 'info', ...fields }));
}

/** An audit event: what happened to whose token. `user` is the keyed hash that names their object. */
export interface AuditFields {
  /** A token's event, or a connection event the outbox gave up delivering. */
  audit: TokenEvent['type'] | 'event_given_up';
  user: string | null;
  code?: string;
  /** For event_given_up: the event's id (its `webhook-id`), and how many attempts it had. */
  event?: string;
  attempts?: number;
  retryAfterMs?: number;
  revokedAtZoho?: boolean;
}

export function audit(fields: AuditFields): void {
  console.info(JSON.stringify({ level: 'info', ...fields }));
}

/** CORS for a request from `origin`: headers to add, or null when the origin is not allowed. */
export function corsHeaders(origin: string, allowed: Set<string>): Record<string, string> | null {
  if (!allowed.has(origin)) return null;
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
    'access-control-allow-headers': 'content-type, if-modified-since, x-crm-org',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

/**
 * Fetch Metadata: a request the browser marks as coming from another site passes only as a
 * CORS request (which the Origin check then admits or refuses). A link, a form, an `<img>` or
 * a frame on any other site never reaches a session route with the user's cookie. Requests
 * without these headers (servers, older browsers) are left to the Origin check.
 */
export function crossSiteByMetadata(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site === null || site === 'same-origin' || site === 'none') return false;
  return request.headers.get('sec-fetch-mode') !== 'cors';
}

/**
 * Whether a request that acts with the user's cookie comes from another site: by Fetch
 * Metadata, else by an `Origin` that is neither this origin nor an allowed one. The session
 * routes, and app routes through getZohoSession(), refuse these.
 */
export function crossSiteRefused(request: Request, url: URL, allowedOrigins: Set<string>): boolean {
  if (crossSiteByMetadata(request)) return true;
  const origin = request.headers.get('origin');
  if (origin === null || origin === url.origin) return false;
  return !allowedOrigins.has(origin);
}

/** A request's body, read up to `maxBytes` whatever it declares (chunked bodies included); null past it. */
export async function boundedBody(request: Request, maxBytes: number): Promise<ArrayBuffer | null> {
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) return null;
  if (!request.body) return new ArrayBuffer(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body.buffer;
}
