/**
 * Names for per-user Durable Objects. An object's name and id show up in dashboards, logs and
 * exports, so a user's object is named by a keyed hash of the user name, never the name: the
 * same name (and so the same object) wherever the secret is the same, and nothing about the
 * user for anyone without it. The Worker and the import command both name objects this way.
 */
import { toBase64Url, utf8 } from './encoding.ts';

/** `u-` + base64url(HMAC-SHA-256(secret, "user-object" NUL userName)). */
export async function userObjectName(secret: string, userName: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(`user-object\u0000${userName}`));
  return `u-${toBase64Url(new Uint8Array(mac))}`;
}
