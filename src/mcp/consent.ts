/**
 * Our consent page for an MCP client, and what binds an authorization to the browser that
 * started it. The page carries the checked authorization request in a form field signed with
 * SESSION_SECRET and tied to a random value only this browser's `__Host-` cookie holds, so
 * showing the page stores nothing, and a form replayed from another browser, or a look-alike
 * cookie tossed from a sibling subdomain, is refused (cookies are read with the Worker's
 * strict reader).
 */
import type { AuthRequest } from '@cloudflare/workers-oauth-provider';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../store/encoding.ts';
import type { Config } from '../worker/config.ts';
import { boundedBody, escapeHtml, readCookie, setCookie } from '../worker/http.ts';
import { constantTimeEqual, randomId, sign, verify } from '../worker/signing.ts';

/** The browser's binding to its MCP authorizations under way; host-only, HttpOnly, never sent cross-site on a POST. */
export const MCP_BINDING_COOKIE = '__Host-ets-mcp';
/** How long an authorization may take, from our page to the end of the Zoho login. */
export const CONSENT_TTL_MS = 10 * 60_000;
/** The largest consent form we read: the signed request is well under it. */
export const MAX_FORM_BYTES = 16 * 1024;

/** The access an MCP grant can carry, as a client asks for it in `scope` and our page names it. */
export type McpScope = 'crm.read' | 'crm.write';
export const MCP_SCOPES: Readonly<Record<McpScope, string>> = {
  'crm.read': 'read records of every module',
  'crm.write': 'create records',
};

/**
 * What a grant gets: the known scopes the client asked for; a client that asked for none gets
 * `crm.read` (least privilege). Unknown scopes are not granted.
 */
export function grantedScopes(asked: readonly string[]): McpScope[] {
  const known = asked.filter((scope): scope is McpScope => Object.hasOwn(MCP_SCOPES, scope));
  return known.length > 0 ? [...new Set(known)].sort() : ['crm.read'];
}

/** The browser's binding value (kept while it is well formed) and the Set-Cookie that keeps it for the consent window. */
export function browserBinding(request: Request): { value: string; cookie: string } {
  const held = readCookie(request, MCP_BINDING_COOKIE);
  const value = held && /^[A-Za-z0-9_-]{22,64}$/.test(held) ? held : randomId(16);
  return { value, cookie: setCookie(MCP_BINDING_COOKIE, value, CONSENT_TTL_MS / 1000) };
}

/** The keyed hash of a binding value: what signed forms and the provider's upstream record carry, never the value. */
export const bindingHash = (config: Config, value: string) => sign(config.sessionSecret, 'mcp-binding', value);

/** Whether `hash` is this browser's binding (exactly named cookie, no look-alike beside it). */
export async function boundToBrowser(config: Config, request: Request, hash: unknown): Promise<boolean> {
  const held = readCookie(request, MCP_BINDING_COOKIE);
  return typeof hash === 'string' && held !== null && constantTimeEqual(await bindingHash(config, held), hash);
}

/** What the consent form carries, signed: the request the provider checked, the scopes shown, the browser, the deadline. */
interface ConsentTicket {
  request: AuthRequest;
  scope: McpScope[];
  binding: string;
  expires: number;
}

export async function signTicket(config: Config, ticket: ConsentTicket): Promise<string> {
  const payload = toBase64Url(utf8.encode(JSON.stringify(ticket)));
  return `${payload}.${await sign(config.sessionSecret, 'mcp-consent', payload)}`;
}

/** The ticket of a posted form, if we signed it, it has not expired and this browser holds its binding; else null. */
export async function openTicket(config: Config, request: Request, signed: string): Promise<ConsentTicket | null> {
  const [payload, signature, extra] = signed.split('.');
  if (!payload || !signature || extra !== undefined || !(await verify(config.sessionSecret, 'mcp-consent', payload, signature))) return null;
  const ticket = JSON.parse(fromUtf8.decode(fromBase64Url(payload))) as ConsentTicket;
  if (!(ticket.expires > Date.now()) || !(await boundToBrowser(config, request, ticket.binding))) return null;
  return ticket;
}

/** Where the client's tokens go, as a person can judge it: the redirect URI's origin (its scheme for a private-use URI). */
function destination(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.origin !== 'null' ? url.origin : `${url.protocol}${url.host ? `//${url.host}` : ''}`;
}

/**
 * The page: who asks (the registered name, which the client chose, so shown as its claim, and
 * where the answer goes), what access, Allow and Deny. No script; never framed. No
 * `form-action`: Chromium applies it to every redirect after the post (our login, then
 * Zoho's accounts server, or the client's redirect URI on Deny), and the page holds no
 * content but the escaped form.
 */
export function consentPage(options: {
  clientName: string;
  redirectUri: string;
  scope: McpScope[];
  ticket: string;
  action: string;
  setCookie: string;
}): Response {
  const { clientName, redirectUri, scope, ticket, action } = options;
  const access = scope.map((s) => `<li>${escapeHtml(MCP_SCOPES[s])}</li>`).join('');
  const body = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Allow access to Zoho CRM?</title>
<style>body{font:16px system-ui;max-width:36rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:.5rem}code{overflow-wrap:anywhere}</style>
<h1>Allow access to your Zoho CRM?</h1>
<p>An application that calls itself <strong id="client-name">${escapeHtml(clientName)}</strong> asks to use your Zoho CRM as you, and to be sent its access at <code id="redirect-origin">${escapeHtml(destination(redirectUri))}</code>.</p>
<p>It asks to:</p><ul id="access">${access}</ul>
<p>Allow only if you started this from that application just now. You can end its access later.</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
<button name="decision" value="allow">Allow, then log in with Zoho</button><button name="decision" value="deny">Deny</button></form>`;
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/html;charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'set-cookie': options.setCookie,
    },
  });
}

/** A bounded `application/x-www-form-urlencoded` body, or null when it is larger than `MAX_FORM_BYTES` or not a form. */
export async function boundedForm(request: Request): Promise<URLSearchParams | null> {
  if ((request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') return null;
  const body = await boundedBody(request, MAX_FORM_BYTES);
  return body && new URLSearchParams(new TextDecoder().decode(body));
}
