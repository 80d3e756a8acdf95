import type { KeyRingEnv } from '../backends/object-base.ts';
import type { ObjectZohoEnv } from '../zoho/object-manager.ts';
import type { ZohoDirectory } from './directory.ts';
import type { ConnectionEventsEnv } from './event-outbox.ts';
import type { MetricsEnv } from './metrics.ts';
import type { ZohoLoginStates } from './login-states.ts';
import type { ZohoUserObject } from './user-object.ts';

/**
 * The bindings and secrets the Worker library reads (`ZohoEnv`): bind the three classes under
 * these names, set the secrets with `wrangler secret put`, the rest as `[vars]`.
 */
export interface Env extends KeyRingEnv, ObjectZohoEnv, ConnectionEventsEnv, MetricsEnv {
  /** `ZohoUserObject`: one object per Zoho user, their token and sessions. */
  ZOHO_USERS: DurableObjectNamespace<ZohoUserObject>;
  /** Login-state buckets. */
  ZOHO_LOGIN_STATES: DurableObjectNamespace<ZohoLoginStates>;
  /** The directory of user objects, for operators. */
  ZOHO_DIRECTORY: DurableObjectNamespace<ZohoDirectory>;
  /** Only "durable-object" (the default) is accepted; "kv" was removed. */
  STORE?: string;
  /** A secret: signs session cookies and login state. At least 32 characters. */
  SESSION_SECRET: string;
  /**
   * A secret: keys the hash that names each user's object. At least 32 characters. Never
   * rotate it: a new value names new, empty objects (everyone logs in again, and the old
   * objects' tokens are orphaned until erased).
   */
  USER_OBJECT_SECRET: string;
  /** A secret, optional: SHA-256 (base64url) of the key that opens /admin/* routes. */
  ADMIN_KEY_SHA256?: string;
  /** How many objects share the single-use login states (default 16; see docs/worker.md). */
  LOGIN_STATE_BUCKETS?: string;
  /**
   * "on" (default): each user's object is placed by their data center (EU: the `eu`
   * jurisdiction; others: a location hint). "off": local runs only, where workerd cannot place.
   */
  OBJECT_PLACEMENT?: string;
  /** Days after which a token neither used nor refreshed is revoked at Zoho and deleted (default: never). */
  IDLE_PURGE_DAYS?: string;
  /**
   * Refresh ahead of time: a user who made a call within this many minutes has their token
   * refreshed by their object's alarm 5 minutes before it expires, so their next request finds
   * it fresh (default 15; "0": never ahead, only when a request needs it).
   */
  REFRESH_AHEAD_ACTIVE_MINUTES?: string;
  /** Session lifetime in seconds (default 8 hours). */
  SESSION_TTL_SECONDS?: string;
  /** Comma-separated scopes asked at login. */
  ZOHO_SCOPE?: string;
  /**
   * Where Zoho sends users back: the callback URL registered at Zoho (https). Required against
   * Zoho; with a local stand-in (ZOHO_LOCAL_DATA_CENTERS) it defaults to this Worker's origin + /auth/callback.
   */
  ZOHO_REDIRECT_URL?: string;
  /**
   * Cloudflare's Rate Limiting binding for /auth/callback, per client address (wrangler.toml:
   * 20 per minute). Each callback can send the client secret to Zoho. Unbound: no limit.
   */
  CALLBACK_LIMITER?: RateLimit;
  /** Comma-separated extra API domains to allow (development: the local Zoho). */
  ZOHO_EXTRA_API_DOMAINS?: string;
  /** Comma-separated origins allowed to call /crm/* from a browser, with credentials (https:, or http: on localhost). */
  ALLOWED_ORIGINS?: string;
  /** Where /auth/callback sends the browser after login (default "/"). */
  APP_URL?: string;
  /**
   * A secret: JSON object of SHA-256 (base64url) of a server API key -> the token it uses, as
   * `/auth/me` shows it (`tokenRef`: "<data center>/<user object>/<token id>").
   */
  API_KEYS?: string;
}
