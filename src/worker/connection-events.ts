/**
 * The events an app receives when a user's connection changes, and how a webhook is signed
 * (Standard Webhooks: HMAC-SHA256 over `<id>.<timestamp>.<body>` with the base64 secret after
 * `whsec_`). Pure: the user's object keeps them in its outbox (event-outbox.ts) and delivers.
 */
import { misconfigured } from '../store/errors.ts';
import { utf8 } from '../store/encoding.ts';

/**
 * A user's Zoho connection, as their object keeps it and reports it to the directory: `active`
 * (logged in), `needs_reauth` (Zoho refused the refresh token), `revoked` (at logout or by an
 * operator), `erased`, `purged` (idle). Transient trouble (Zoho down, its rate limit) is no
 * change. No secret and no name: a dead connection leaves only this behind.
 */
export type ConnectionStatus = 'active' | 'needs_reauth' | 'revoked' | 'erased' | 'purged';

/** One change of a connection's status, as the app receives it. */
export type ConnectionEventType = 'connection.reauth_required' | 'connection.recovered' | 'connection.revoked' | 'connection.erased' | 'connection.purged';

/**
 * An event, as the webhook's body and the queue's message. `id` is the same on every delivery
 * of one change (the `webhook-id` header): an app that saw it may drop the repeat.
 */
export interface ConnectionEvent {
  id: string;
  type: ConnectionEventType;
  /** When the status changed (ISO 8601). */
  timestamp: string;
  data: ConnectionEventData;
}

/** Who and what: the user as `onLogin` saw them (null where the object no longer knows), their object, and where to send them. */
export interface ConnectionEventData {
  /** Zoho's user name, `<email>:<zgid>`. */
  userName: string | null;
  email: string | null;
  /** The org id (zgid) the user name ends with. */
  org: string | null;
  /** The keyed hash that names the user's object, as the app's hooks see it (`ZohoCaller.user`). */
  user: string | null;
  /** The user's object id, as `/admin/connections` and `connections()` list it. */
  objectId: string;
  dataCenter: string | null;
  status: ConnectionStatus;
  /** Zoho's error code for `needs_reauth` (such as `invalid_code`), `idle` for a purge, else null. */
  reason: string | null;
  /** The Worker's login route, landing at the app's `appUrl` after: send the user there to reconnect. */
  reconnectUrl: string | null;
}

/** The event a change from `before` to `after` is; none for a first login or no change. */
export function eventTypeOf(before: ConnectionStatus | null, after: ConnectionStatus): ConnectionEventType | null {
  if (before === after) return null;
  if (after === 'active') return before === null ? null : 'connection.recovered';
  return after === 'needs_reauth' ? 'connection.reauth_required' : `connection.${after}`;
}

/** A user name's parts: Zoho names users `<email>:<zgid>`. */
export function userNameParts(userName: string | null): { email: string | null; org: string | null } {
  const match = userName === null ? null : /^(.*):(\w+)$/.exec(userName);
  return { email: match?.[1] ?? userName, org: match?.[2] ?? null };
}

/**
 * The key bytes of a `whsec_<base64>` secret (the prefix optional, as the reference libraries
 * read it); one that is not base64, or empty, is a deployment's mistake.
 */
function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret), (c) => c.charCodeAt(0));
  } catch {
    throw misconfigured('CONNECTION_WEBHOOK_SECRET must be "whsec_" followed by base64 (24 to 64 random bytes)');
  }
  if (bytes.length === 0) throw misconfigured('CONNECTION_WEBHOOK_SECRET holds no key after "whsec_"');
  return bytes;
}

/** Where a webhook may go: https anywhere, http only to this machine (local runs). */
function webhookUrlAllowed(value: string): boolean {
  const url = URL.parse(value);
  if (url === null) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
}

/** Checks the webhook's settings (the Worker at its first request, an object before each delivery); MISCONFIGURED names the setting, never its value. */
export function checkWebhookSettings(url: string, secret: string | undefined): asserts secret is string {
  if (!webhookUrlAllowed(url)) throw misconfigured('CONNECTION_WEBHOOK_URL must be an https URL (http only on loopback)');
  if (!secret) throw misconfigured('CONNECTION_WEBHOOK_URL is set without CONNECTION_WEBHOOK_SECRET');
  secretBytes(secret);
}

/** The three Standard Webhooks headers of one delivery: its id, the time (seconds), and `v1,<base64 HMAC>`. */
export async function webhookHeaders(secret: string, id: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const key = await crypto.subtle.importKey('raw', secretBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8.encode(`${id}.${timestamp}.${body}`)));
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${btoa(String.fromCharCode(...mac))}` };
}
