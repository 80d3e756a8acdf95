/**
 * How the Worker names and places a Zoho user's object. An object's name and id show up in
 * dashboards, logs and exports, so a user's object is named by a keyed hash of the user name,
 * never the name: the same name (and so the same object) wherever the secret is the same, and
 * nothing about the user for anyone without it. The Worker and the import command both name
 * objects this way.
 */
import type { ObjectPlacement } from '../backends/placement.ts';
import { toBase64Url, utf8 } from '../store/encoding.ts';

/** `u-` + base64url(HMAC-SHA-256(secret, "user-object" NUL userName)). */
export async function userObjectName(secret: string, userName: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(`user-object\u0000${userName}`));
  return `u-${toBase64Url(new Uint8Array(mac))}`;
}

/**
 * Where a Zoho user's object goes, by their data center. EU users' objects are created in the
 * `eu` jurisdiction: they run and store data only inside the EU. Every other data center's
 * users get a location hint near Zoho's servers for it: a preference for where the object is
 * first created, not a promise (Cloudflare has no Durable Object locations in mainland China
 * or Saudi Arabia, so those hints name the nearest regions it has).
 */
export const DATA_CENTER_PLACEMENT = {
  us: { locationHint: 'enam' },
  eu: { jurisdiction: 'eu' },
  in: { locationHint: 'apac' },
  au: { locationHint: 'oc' },
  jp: { locationHint: 'apac' },
  ca: { locationHint: 'enam' },
  sa: { locationHint: 'me' },
  cn: { locationHint: 'apac' },
  // The UK is outside the EU jurisdiction: a hint for western Europe, no promise.
  uk: { locationHint: 'weur' },
} as const satisfies Record<string, ObjectPlacement>;
