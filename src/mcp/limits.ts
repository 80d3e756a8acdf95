/**
 * What anyone may send the MCP server's OAuth endpoints before they are anyone: registrations
 * of a sane size, and a few requests a minute per client address at `/register`, the
 * authorize steps and `/token` (the Rate Limiting binding `MCP_LIMITER`, keyed per endpoint and
 * address as the login callback's limiter is). Registration is open, so these bound what an
 * unauthenticated caller can make the provider store.
 */
import { pastRateLimit } from '../worker/auth.ts';
import { boundedBody, htmlPage } from '../worker/http.ts';
import type { McpEnv } from './authorize.ts';

/** A registration's JSON body: a few hundred bytes for any real client. */
export const MAX_REGISTRATION_BYTES = 8 * 1024;
/** Any one string in it (a name, a URI). */
const MAX_FIELD_CHARS = 1024;
/** Any one list in it (redirect URIs, grant types, contacts). */
const MAX_LIST_ITEMS = 10;

const oauthError = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
  Response.json({ error, error_description: description }, { status, headers: { 'cache-control': 'no-store', ...headers } });

/** Why a registration's metadata is refused, or null: only strings, lists of strings and flat values, each bounded. */
function registrationFault(metadata: unknown): string | null {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return 'the body must be a JSON object';
  const entries = Object.entries(metadata);
  if (entries.length > 30) return 'too many fields';
  for (const [key, value] of entries) {
    if (key.length > 64) return 'a field name is too long';
    const strings = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && value.length > MAX_LIST_ITEMS) return `${key} lists more than ${MAX_LIST_ITEMS} items`;
    for (const item of strings) {
      if (typeof item === 'object' && item !== null) return `${key} must hold strings`;
      if (typeof item === 'string' && item.length > MAX_FIELD_CHARS) return `${key} is longer than ${MAX_FIELD_CHARS} characters`;
    }
  }
  const name = (metadata as { client_name?: unknown }).client_name;
  if (typeof name === 'string' && name.length > 100) return 'client_name is longer than 100 characters';
  return null;
}

/** Which endpoint a request is for, as the limiter counts them; null for the rest (discovery, /mcp). */
function limitedEndpoint(pathname: string, endpoints: { authorize: string; token: string; register: string }): string | null {
  if (pathname === endpoints.register) return 'register';
  if (pathname === endpoints.token) return 'token';
  if (pathname === endpoints.authorize || pathname.startsWith(`${endpoints.authorize}/`)) return 'authorize';
  return null;
}

/**
 * The request to hand the provider (a registration's body read and checked), or our answer
 * when it is refused: 429 past the rate, 413 or 400 for a registration out of bounds.
 */
export async function withinLimits(
  request: Request,
  env: McpEnv,
  url: URL,
  endpoints: { authorize: string; token: string; register: string },
): Promise<Request | Response> {
  const endpoint = limitedEndpoint(url.pathname, endpoints);
  if (!endpoint) return request;
  if (await pastRateLimit(env.MCP_LIMITER, request, endpoint)) {
    if (endpoint === 'authorize') return htmlPage(429, 'Too many requests', 'Too many authorizations from here; wait a minute.', { 'retry-after': '60' });
    return oauthError(429, 'too_many_requests', 'too many requests from this address; wait a minute', { 'retry-after': '60' });
  }
  if (endpoint !== 'register' || request.method !== 'POST') return request;
  const body = await boundedBody(request, MAX_REGISTRATION_BYTES);
  if (!body) return oauthError(413, 'invalid_client_metadata', `registrations are limited to ${MAX_REGISTRATION_BYTES} bytes`);
  let metadata: unknown;
  try {
    metadata = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return oauthError(400, 'invalid_client_metadata', 'the body is not JSON');
  }
  const fault = registrationFault(metadata);
  if (fault) return oauthError(400, 'invalid_client_metadata', fault);
  return new Request(request, { body });
}
