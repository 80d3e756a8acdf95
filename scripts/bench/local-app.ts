// Talking to `npm start` as its users do, for the benchmarks that run it: log in through the
// Worker as a browser would, get an access token from the local Zoho directly, read the admin key.
import { readFileSync } from 'node:fs';

/**
 * Logs `email` in through the Worker at `app` (login -> consent at `zoho` -> callback): the
 * session cookie. `clientAddress` is the browser's address as Cloudflare would report it
 * (`wrangler dev` keeps one the request carries): the Worker limits callbacks per address,
 * and a benchmark's many users stand for many browsers.
 */
export async function workerSession(app: string, zoho: string, email: string, clientAddress = '127.0.0.1'): Promise<string> {
  const login = await fetch(`${app}/auth/login`, { redirect: 'manual' });
  const stateCookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const consent = new URL(login.headers.get('location')!);
  const form = new URLSearchParams(consent.searchParams);
  form.set('email', email);
  const approved = await fetch(`${zoho}/oauth/v2/auth/approve`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(approved.headers.get('location')!, { headers: { cookie: stateCookie, 'cf-connecting-ip': clientAddress }, redirect: 'manual' });
  const session = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-ets-session='));
  if (!session) throw new Error(`login through the Worker failed: HTTP ${callback.status}`);
  return session.split(';')[0]!;
}

/**
 * An access token for `email`, from the local Zoho directly: the demo's in-browser client
 * (client-based, so the implicit flow: consent, then the token in the redirect's fragment).
 */
export async function directToken(app: string, zoho: string, email: string): Promise<string> {
  const form = new URLSearchParams({
    response_type: 'token',
    client_id: '1000.LOCALBROWSER',
    scope: 'ZohoCRM.modules.ALL',
    redirect_uri: `${app}/?mode=browser`,
    state: 'bench',
    email,
  });
  const approved = await fetch(`${zoho}/oauth/v2/auth/approve`, { method: 'POST', body: form, redirect: 'manual' });
  const token = new URLSearchParams(new URL(approved.headers.get('location') ?? 'x:').hash.slice(1)).get('access_token');
  if (!token) throw new Error(`the local Zoho gave no access token: HTTP ${approved.status}`);
  return token;
}

/** The local Worker's admin key (npm start keeps it in .admin-key). */
export const adminHeaders = () => ({ authorization: `Bearer ${readFileSync('.admin-key', 'utf8').trim()}` });
