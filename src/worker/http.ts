import type { TokenStoreError } from '../store/errors.ts';

// Responses, cookies, CORS and structured logs. Logs carry a request id, the method, the
// path (never the query: it holds codes and state) and outcomes; never a header or body.

export const SESSION_COOKIE = '__Host-ets-session';
export const STATE_COOKIE = '__Host-ets-state';

export function jsonError(status: number, error: string, message: string, headers?: HeadersInit): Response {
  const response = Response.json({ error, message }, { status, headers });
  response.headers.set('cache-control', 'no-store');
  return response;
}

export function htmlPage(status: number, title: string, message: string, headers?: HeadersInit): Response {
  const escape = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font:16px system-ui;max-width:36rem;margin:4rem auto}</style>
<h1>${escape(title)}</h1><p>${escape(message)}</p><p><a href="/">Back</a></p>`;
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
const retryAfter = (error: TokenStoreError, fallbackMs: number) => ({ 'retry-after': String(Math.max(1, Math.ceil((error.retryAfterMs ?? fallbackMs) / 1000))) });

export function tokenErrorResponse(error: TokenStoreError, endSession: boolean): Response {
  switch (error.code) {
    case 'REAUTH_REQUIRED':
    case 'NOT_FOUND': {
      const response = jsonError(401, 'reauth_required', 'Zoho no longer accepts this login; log in again');
      if (endSession) response.headers.append('set-cookie', clearCookie(SESSION_COOKIE));
      return response;
    }
    case 'ZOHO_RATE_LIMITED':
      return jsonError(503, 'zoho_rate_limited', 'Zoho asks to wait before refreshing again', retryAfter(error, 60_000));
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

export function readCookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
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
  code?: string;
}

export function log(fields: LogFields): void {
  console.log(JSON.stringify({ level: 'info', ...fields }));
}

/** An audit event: what happened to whose token. `user` is the keyed hash that names their object. */
export interface AuditFields {
  audit: 'login' | 'refresh' | 'refresh_failed' | 'backoff' | 'revoke' | 'erase' | 'purge';
  user: string | null;
  code?: string;
  retryAfterMs?: number;
  revokedAtZoho?: boolean;
}

export function audit(fields: AuditFields): void {
  console.log(JSON.stringify({ level: 'info', ...fields }));
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
