// Reads and checks the Worker's configuration once per isolate. Misconfiguration is an
// error at the first request (logged without values), never a silently weaker Worker.
import { misconfigured } from '../store/errors.ts';
import { ZOHO_API_DOMAINS, zohoDataCenters, type ZohoDataCenters } from '../zoho/data-centers.ts';
import { cipherFromSettings } from '../store/cipher.ts';
import type { Env } from './env.ts';
import type { MetricsEnv } from './metrics.ts';
import { checkWebhookSettings } from './connection-events.ts';

export interface Config {
  clientId: string;
  clientSecret: string;
  /** The Zoho data centers served, and where (Zoho's servers, or local stand-ins in development). */
  zoho: ZohoDataCenters;
  scope: string;
  /** Where Zoho sends users back; required unless the Zoho is a local stand-in (then: this Worker's origin). */
  redirectUrl: string | undefined;
  sessionSecret: string;
  sessionTtlSeconds: number;
  userObjectSecret: string;
  /** SHA-256 (base64url) of the admin key; without it the admin routes answer 404. */
  adminKeyHash: string | undefined;
  loginStateBuckets: number;
  /** Origins that /crm/* may be forwarded to. */
  apiDomains: Set<string>;
  allowedOrigins: Set<string>;
  appUrl: string;
  /** SHA-256 (base64url) of an API key -> "<data center>/<user object>/<token id>". */
  apiKeys: Map<string, string>;
  /** Where CRM calls and logins are counted (the METRICS binding), if bound. */
  metrics: MetricsEnv;
}

/**
 * Parses a JSON secret. The error names the setting, never its value: JSON.parse's own
 * message quotes the input, and this message ends up in a log line.
 */
function parseSecretJson(value: string, name: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw misconfigured(`${name} must be a JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw misconfigured(`${name} must be a JSON object`);
  return parsed as Record<string, string>;
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

function origin(value: string, what: string): string {
  try {
    return new URL(value).origin;
  } catch {
    throw misconfigured(`${what} must be an absolute URL`);
  }
}

/** Loopback hosts, which browsers treat as secure contexts: the only places plain http is accepted. */
const isLoopback = (url: URL) => url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';

/** An origin allowed to call with credentials: https only (a plain-http page can be rewritten on the way). */
function browserOrigin(value: string): string {
  const checked = origin(value, 'ALLOWED_ORIGINS');
  const url = new URL(checked);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url)))
    throw misconfigured('ALLOWED_ORIGINS must be https: origins (plain http only on localhost)');
  return checked;
}

export function readConfig(env: Env): Config {
  const missing = ['ZOHO_CLIENT_ID', 'ZOHO_CLIENT_SECRET', 'SESSION_SECRET', 'USER_OBJECT_SECRET', 'TOKEN_STORE_KEYS'].filter(
    (name) => !env[name as keyof Env],
  );
  if (missing.length > 0) throw misconfigured(`missing ${missing.join(', ')}`);
  if (env.SESSION_SECRET.length < 32) throw misconfigured('SESSION_SECRET must be at least 32 characters');
  if (env.USER_OBJECT_SECRET.length < 32) throw misconfigured('USER_OBJECT_SECRET must be at least 32 characters');
  const zoho = zohoDataCenters(env);
  if (env.OBJECT_PLACEMENT && env.OBJECT_PLACEMENT !== 'on' && env.OBJECT_PLACEMENT !== 'off') throw misconfigured('OBJECT_PLACEMENT must be "on" or "off"');
  if (env.IDLE_PURGE_DAYS && !(Number(env.IDLE_PURGE_DAYS) > 0)) throw misconfigured('IDLE_PURGE_DAYS must be a positive number of days, or empty for never');
  // KV mode could not keep refreshes single-flight across isolates (docs/worker.md: "Why the Worker has no KV mode").
  if (env.STORE && env.STORE !== 'durable-object') throw misconfigured('STORE must be "durable-object" (the Worker has no KV mode any more)');
  const buckets = Number(env.LOGIN_STATE_BUCKETS || 16);
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > 1024) throw misconfigured('LOGIN_STATE_BUCKETS must be a whole number from 1 to 1024');
  const apiKeys = new Map(Object.entries(env.API_KEYS ? parseSecretJson(env.API_KEYS, 'API_KEYS') : {}));
  // The key ring is checked here, at the first request; each object reads it itself.
  cipherFromSettings(env.TOKEN_STORE_KEYS, env.TOKEN_STORE_CURRENT_KEY);
  // Against Zoho itself the redirect URI is fixed by configuration, never taken from the request's Host.
  const local = !!(env.ZOHO_LOCAL_DATA_CENTERS || env.ZOHO_ACCOUNTS_URL);
  if (!env.ZOHO_REDIRECT_URL && !local) throw misconfigured('ZOHO_REDIRECT_URL is required (the callback URL registered at Zoho)');
  if (env.ZOHO_REDIRECT_URL) {
    const redirect = new URL(origin(env.ZOHO_REDIRECT_URL, 'ZOHO_REDIRECT_URL'));
    if (redirect.protocol !== 'https:' && !isLoopback(redirect) && !local) throw misconfigured('ZOHO_REDIRECT_URL must be https:');
  }
  // Connection events' webhook: a wrong URL or secret is an error now, not events that fail for a day.
  if (env.CONNECTION_WEBHOOK_URL) checkWebhookSettings(env.CONNECTION_WEBHOOK_URL, env.CONNECTION_WEBHOOK_SECRET);
  const ttl = Number(env.SESSION_TTL_SECONDS ?? 8 * 3600);
  if (!Number.isSafeInteger(ttl) || ttl < 60) throw misconfigured('SESSION_TTL_SECONDS must be at least 60');
  return {
    clientId: env.ZOHO_CLIENT_ID!,
    clientSecret: env.ZOHO_CLIENT_SECRET!,
    zoho,
    scope: env.ZOHO_SCOPE || 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ',
    redirectUrl: env.ZOHO_REDIRECT_URL || undefined,
    sessionSecret: env.SESSION_SECRET,
    sessionTtlSeconds: ttl,
    userObjectSecret: env.USER_OBJECT_SECRET,
    adminKeyHash: env.ADMIN_KEY_SHA256 || undefined,
    loginStateBuckets: buckets,
    apiDomains: new Set([
      ...ZOHO_API_DOMAINS,
      ...Object.values(zoho.table).map((dc) => dc.apiDomain),
      ...list(env.ZOHO_EXTRA_API_DOMAINS).map((d) => origin(d, 'ZOHO_EXTRA_API_DOMAINS')),
    ]),
    allowedOrigins: new Set(list(env.ALLOWED_ORIGINS).map(browserOrigin)),
    appUrl: env.APP_URL || '/',
    apiKeys,
    metrics: { METRICS: env.METRICS },
  };
}

let cached: { env: Env; config: Config } | undefined;

/** The configuration read from `env`, checked once per isolate (per env object). */
export function configOf(env: Env): Config {
  if (cached?.env !== env) cached = { env, config: readConfig(env) };
  return cached.config;
}
