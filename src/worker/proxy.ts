/**
 * Every CRM call, from `ANY <base>/crm/*` and from an app route's `session.fetch()`, through one
 * pipeline (crmPipeline), with the caller's token, to the token's API domain only. The caller names a
 * path on Zoho's CRM, never a host: paths with encoded separators, dot segments, `//`, `@`
 * or backslashes are refused, and the target must stay on an allowed API domain.
 * Authorization and cookies are stripped both ways; a 401 INVALID_TOKEN is refreshed
 * (single-flight, in the user's object) and retried once by callCrm. Bodies are bounded;
 * answers cannot run as this origin's pages (proxiedHeaders).
 *
 * One request, in one direction: router.ts or session.ts -> here (path, size) -> callers.ts
 * (who, and their token, from their object) -> ../zoho/crm-call.ts (Zoho) -> here (the
 * answer's headers).
 *
 * Cost: one call to one object, the caller's own (session check and fresh token in one);
 * a second call to it only when Zoho rejects the access token.
 */
import { callCrm } from '../zoho/crm-call.ts';
import { isTokenStoreError } from '../store/errors.ts';
import { callerOf, crmAllowed, type Caller } from './callers.ts';
import type { Config } from './config.ts';
import type { ResolvedOptions } from './options.ts';
import type { Env } from './env.ts';
import { boundedBody, refusal, tokenRefusal, type RouteAnswer } from './http.ts';
import { writeMetric } from './metrics.ts';

const REQUEST_HEADERS = ['accept', 'accept-language', 'content-type', 'if-modified-since', 'if-none-match', 'x-crm-org', 'x-external'];
const RESPONSE_HEADERS = ['content-type', 'etag', 'last-modified', 'retry-after'];

/**
 * The largest request body passed on. Zoho's largest accepted upload is one 20 MB attachment;
 * this is 20 MiB plus room for the multipart framing around it. Record calls are far smaller
 * (at most 100 records per call), so nothing Zoho would take is refused.
 */
export const MAX_BODY_BYTES = 20 * 1024 * 1024 + 64 * 1024;

const isJson = (type: string) => /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type);

/**
 * The headers of a proxied answer: the few a CRM client reads, and none that would let Zoho's
 * bytes act on this origin. A file a colleague attached (HTML, SVG) is served as a download
 * that cannot run script (`nosniff`, a sandbox CSP, `attachment`); JSON stays inline. Nothing
 * proxied is cached: it is one user's data.
 */
export function proxiedHeaders(upstream: Response): Headers {
  const out = new Headers();
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  out.set('x-content-type-options', 'nosniff');
  out.set('content-security-policy', "sandbox; default-src 'none'; frame-ancestors 'none'");
  out.set('cache-control', 'private, no-store');
  const disposition = upstream.headers.get('content-disposition');
  const hasBody = upstream.status !== 204 && upstream.status !== 304;
  if (hasBody && !isJson(upstream.headers.get('content-type') ?? '')) {
    // Zoho's file name (and any other parameter) is kept; only the disposition type is forced.
    out.set('content-disposition', disposition ? disposition.replace(/^[^;]*/, 'attachment') : 'attachment');
  } else if (disposition !== null) {
    out.set('content-disposition', disposition);
  }
  return out;
}

const tooLarge = () => refusal(413, 'too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
/**
 * /crm/v<n>/ (or the bulk and email APIs Zoho's OpenAPI description serves beside it,
 * /crm/bulk/v<n>/ and /crm/email/v<n>/), then plain segments: letters, digits, _ - . , (no
 * empty, no dot segments).
 */
const CRM_PATH = /^\/crm\/(?:(?:bulk|email)\/)?v\d+(\/(?!\.{1,2}(\/|$))[A-Za-z0-9_.,-]+)*\/?$/;

/** The raw path as sent, before URL parsing normalizes `..` or decodes anything: from the first `/` after the scheme's `//` to the query or fragment. */
function rawPath(request: Request): string {
  const { url } = request;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '';
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

export function isSafeCrmPath(raw: string): boolean {
  if (/%|\\|@|\/\//.test(raw)) return false;
  return CRM_PATH.test(raw);
}

/** A CRM call as it arrived, from `/crm/*` or `session.fetch()`: the path as sent (not yet parsed), its query, and the request whose method, headers and body go on. */
export interface CrmCallRequest {
  path: string;
  search: string;
  request: Request;
}

/** The headers a CRM call's response carries: Zoho's bytes behind the hardened headers (`proxiedHeaders`), or, asked for by name, Zoho's own headers. */
export type CrmResponseHeaders = 'hardened' | 'raw';

/**
 * The one pipeline of every CRM call, `/crm/*` and `session.fetch()` alike: the path rule, the
 * body bound, who is calling (one call to their object), the app's hook, the header allowlist,
 * the call (no redirect followed; refreshed and retried once if Zoho rejects the token), and
 * the hardened answer. `caller` is asked only once the request itself is acceptable.
 */
export async function crmPipeline(
  options: ResolvedOptions,
  config: Config,
  { path, search, request }: CrmCallRequest,
  caller: () => Promise<Caller | null>,
  responseHeaders: CrmResponseHeaders = 'hardened',
): Promise<RouteAnswer> {
  if (!isSafeCrmPath(path)) return refusal(400, 'bad_path', 'not a CRM API path');
  const started = Date.now();
  // A declared size past the limit is refused before any object call; a chunked body is counted as it is read.
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) return tooLarge();

  let who: Caller | null;
  try {
    who = await caller();
  } catch (error) {
    if (!isTokenStoreError(error)) throw error;
    return tokenRefusal(error, !request.headers.has('authorization'));
  }
  if (!who) return refusal(401, 'unauthorized', 'log in first');
  if (!(await crmAllowed(options, who, request.method, path, request.headers.get('x-crm-org')))) {
    return refusal(403, 'forbidden', 'this call is not allowed for this user');
  }

  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await boundedBody(request, MAX_BODY_BYTES);
  if (body === null) return tooLarge();
  try {
    // A second call to the caller's object only if Zoho rejects the access token: the refresh runs there.
    const upstream = await callCrm({
      token: who.token,
      path: `${path}${search}`,
      init: { method: request.method, headers, body },
      isAllowedApiDomain: (origin) => config.apiDomains.has(origin),
      refresh: who.refresh,
    });
    writeMetric(config.metrics, 'crm_call', `${Math.floor(upstream.status / 100)}xx`, who.ref.dataCenter, Date.now() - started);
    return { response: responseHeaders === 'raw' ? upstream : new Response(upstream.body, { status: upstream.status, headers: proxiedHeaders(upstream) }) };
  } catch (error) {
    if (!isTokenStoreError(error)) throw error;
    writeMetric(config.metrics, 'crm_call', error.code, who.ref.dataCenter, Date.now() - started);
    return tokenRefusal(error, who.session !== null);
  }
}

/**
 * A CRM call an app's code makes (`session.fetch()`, an MCP tool): `path` a CRM path with its
 * query, `init` its method, headers and body (never its `redirect`), through the one pipeline.
 * A path with `#` or white space, or an `init` no Request can be made of, is refused here.
 */
export async function crmCallAt(
  options: ResolvedOptions,
  config: Config,
  path: string,
  init: RequestInit,
  caller: () => Promise<Caller | null>,
  responseHeaders: CrmResponseHeaders,
): Promise<RouteAnswer> {
  if (typeof path !== 'string' || /[#\s]/.test(path)) return refusal(400, 'bad_path', 'not a CRM API path');
  const [pathname = '', query] = path.split(/\?(.*)/s, 2);
  let request: Request;
  try {
    // Only what the pipeline passes on is read from `init`: method, headers, body. Never its `redirect`.
    request = new Request('https://crm.invalid/', { method: init.method, headers: init.headers, body: init.body });
  } catch {
    return refusal(400, 'bad_request', 'the request cannot be made (a body with GET or HEAD, or a bad header)');
  }
  return crmPipeline(options, config, { path: pathname, search: query ? `?${query}` : '', request }, caller, responseHeaders);
}

/** ANY <base>/crm/*: the path as sent after the base path, with the caller a session cookie or a server API key names. */
export function proxy(env: Env, config: Config, options: ResolvedOptions, request: Request, url: URL): Promise<RouteAnswer> {
  // The CRM path is what follows the base path, as sent (before URL parsing could normalize it).
  const sent = rawPath(request);
  const path = sent.startsWith(options.basePath) ? sent.slice(options.basePath.length) : '';
  return crmPipeline(options, config, { path, search: url.search, request }, () => callerOf(request, env, config));
}
