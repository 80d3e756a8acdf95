/**
 * The operators' page at `<base>/admin`: sign in once with the admin key (the form posts it;
 * the answer is a short-lived `HttpOnly`, `SameSite=Strict` cookie, so no script or storage of
 * the page ever holds the key), then the page's script reads and acts through the same
 * `/admin/*` routes as `Authorization: Bearer` callers do. A request that the cookie
 * authenticates must come from this very origin by Fetch Metadata: another origin, even on the
 * same site (another port of 127.0.0.1), is refused.
 */
import { pastRateLimit, type AuthContext } from './auth.ts';
import { ADMIN_SCRIPT, ADMIN_STYLE } from './admin-page-assets.ts';
import { clearCookie, escapeHtml, readCookie, refusal, type RouteAnswer } from './http.ts';
import { constantTimeEqual, sha256, sign, verify } from './signing.ts';

export const ADMIN_COOKIE = '__Host-ets-admin';
/** How long a sign-in lasts. */
export const ADMIN_SESSION_SECONDS = 15 * 60;

/** Scripts and styles from this origin only, no inline code, no framing, forms only to here. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Whether the browser says this request comes from a page of this very origin (Fetch Metadata; a request without it is not a browser's page). */
export const fromThisOrigin = (request: Request) => request.headers.get('sec-fetch-site') === 'same-origin';

/** The cookie's value: its expiry, signed together with the admin key's hash (a new key ends every sign-in). */
async function cookieValue(sessionSecret: string, keyHash: string, expires: number): Promise<string> {
  return `${expires}.${await sign(sessionSecret, 'admin', `${expires}.${keyHash}`)}`;
}

/** Whether the request carries a live sign-in cookie of this deployment's admin key. */
export async function signedIn(request: Request, sessionSecret: string, keyHash: string): Promise<boolean> {
  const [expires, signature, extra] = (readCookie(request, ADMIN_COOKIE) ?? '').split('.');
  if (!expires || !signature || extra !== undefined || !(Number(expires) > Date.now())) return false;
  return verify(sessionSecret, 'admin', `${expires}.${keyHash}`, signature);
}

function page(status: number, base: string, body: string, headers: Record<string, string> = {}): Response {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>edge-token-store · operators</title><link rel="stylesheet" href="${escapeHtml(base)}/admin/page.css">
${body}</html>`;
  return new Response(html, { status, headers: { 'content-type': 'text/html;charset=utf-8', ...PAGE_HEADERS, ...headers } });
}

const signInForm = (base: string, wrong: boolean) => `<main class="sign-in"><h1>Operators</h1>
<form method="post" action="${escapeHtml(base)}/admin/session">
<label>Admin key <input type="password" name="key" id="key" autocomplete="current-password" required autofocus></label>
<button id="sign-in">Sign in</button>
${wrong ? '<p class="error" id="wrong-key">That is not the admin key.</p>' : ''}
</form></main>`;

const consoleBody = (base: string) => `<main id="console" data-base="${escapeHtml(base)}">
<header><h1>Connections</h1><form method="post" action="${escapeHtml(base)}/admin/session/end"><button id="sign-out">Sign out</button></form></header>
<section id="counts" aria-label="Connections by status"></section>
<section><h2>Last 24 hours</h2><div id="chart"></div></section>
<section><h2>Key rotation</h2><p id="keys"></p></section>
<section><h2>Each connection</h2>
<label>Status <select id="status"><option value="">all</option><option>active</option><option>needs_reauth</option><option>revoked</option><option>erased</option><option>purged</option></select></label>
<p id="message" role="status"></p>
<table id="connections"><thead><tr><th>Object</th><th>Status</th><th>Since</th><th>Reason</th><th>Data center</th><th>Last error</th><th>Tokens</th><th>Sessions</th><th></th></tr></thead><tbody></tbody></table>
<button id="more" hidden>More</button>
</section></main>
<script src="${escapeHtml(base)}/admin/page.js" defer></script>`;

/** `GET <base>/admin`, its script and style, and signing in and out. Null for any other path. */
export async function adminPage(context: AuthContext, path: string, keyHash: string): Promise<RouteAnswer | null> {
  const { request, config, options } = context;
  const base = options.basePath;
  const method = request.method;
  if (method === 'GET' && path === '/admin/page.js') return { response: asset(ADMIN_SCRIPT, 'text/javascript') };
  if (method === 'GET' && path === '/admin/page.css') return { response: asset(ADMIN_STYLE, 'text/css') };
  if (method === 'GET' && path === '/admin') {
    const body = (await signedIn(request, config.sessionSecret, keyHash)) ? consoleBody(base) : signInForm(base, false);
    return { response: page(200, base, body) };
  }
  if (method !== 'POST' || (path !== '/admin/session' && path !== '/admin/session/end')) return null;
  if (!fromThisOrigin(request)) return refusal(403, 'cross_site', 'the operators page acts only from its own origin');
  if (path === '/admin/session/end') {
    return { response: new Response(null, { status: 303, headers: { location: `${base}/admin`, 'set-cookie': clearCookie(ADMIN_COOKIE) } }) };
  }
  // Guesses at the key count against the callback's limiter, apart from callbacks.
  if (await pastRateLimit(context.env.CALLBACK_LIMITER, request, 'admin')) {
    return refusal(429, 'rate_limited', 'too many sign-in attempts from here; wait a minute', { 'retry-after': '60' });
  }
  const form = await request.formData().catch(() => null);
  const key = form?.get('key');
  if (typeof key !== 'string' || !constantTimeEqual(await sha256(key), keyHash)) {
    return { response: page(401, base, signInForm(base, true)), code: 'wrong_admin_key' };
  }
  const value = await cookieValue(config.sessionSecret, keyHash, Date.now() + ADMIN_SESSION_SECONDS * 1000);
  const cookie = `${ADMIN_COOKIE}=${value}; Max-Age=${ADMIN_SESSION_SECONDS}; Path=/; HttpOnly; Secure; SameSite=Strict`;
  return { response: new Response(null, { status: 303, headers: { location: `${base}/admin`, 'set-cookie': cookie, 'cache-control': 'no-store' } }) };
}

function asset(text: string, type: string): Response {
  return new Response(text, { headers: { 'content-type': `${type};charset=utf-8`, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' } });
}
