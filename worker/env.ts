import type { TokenStoreObject, TokenStoreObjectEnv } from '../src/durable-object.ts';
import type { SessionsObject } from './sessions.ts';

/** The Worker's bindings, as wrangler.toml and its secrets declare them. */
export interface Env extends TokenStoreObjectEnv {
  TOKEN_STORE: DurableObjectNamespace<TokenStoreObject>;
  SESSIONS: DurableObjectNamespace<SessionsObject>;
  TOKENS_KV: KVNamespace;
  /** "durable-object" (default) or "kv". */
  STORE?: string;
  /** A secret: signs session cookies and login state. At least 32 characters. */
  SESSION_SECRET: string;
  /** Session lifetime in seconds (default 8 hours). */
  SESSION_TTL_SECONDS?: string;
  /** Comma-separated scopes asked at login. */
  ZOHO_SCOPE?: string;
  /** Where Zoho sends users back (default: this Worker's origin + /auth/callback). */
  ZOHO_REDIRECT_URL?: string;
  /** Comma-separated extra API domains to allow (development: the local Zoho). */
  ZOHO_EXTRA_API_DOMAINS?: string;
  /** Comma-separated origins allowed to call /crm/* from a browser, with credentials. */
  ALLOWED_ORIGINS?: string;
  /** Where /auth/callback sends the browser after login (default "/"). */
  APP_URL?: string;
  /** A secret: JSON object of SHA-256 (base64url) of a server API key -> token id. */
  API_KEYS?: string;
}
