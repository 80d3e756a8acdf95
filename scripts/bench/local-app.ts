// Talking to `npm start` as its users do, for the benchmarks that run it: log in through the
// Worker as a browser would, get an access token from the local Zoho directly, read the admin key.
import { readFileSync } from 'node:fs';

/** Logs `email` in through the Worker at `app` (login -> consent at `zoho` -> callback): the session cookie. */
export async function workerSession(app: string, zoho: string, email: string): Promise<string> {
  const login = await fetch(`${app}/auth/login`, { redirect: 'manual' });
  const stateCookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const consent = new URL(login.headers.get('location')!);
  const form = new URLSearchParams(consent.searchParams);
  form.set('email', email);
  const approved = await fetch(`${zoho}/oauth/v2/auth/approve`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(approved.headers.get('location')!, { headers: { cookie: stateCookie }, redirect: 'manual' });
  const session = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-ets-session='));
  if (!session) throw new Error(`login through the Worker failed: HTTP ${callback.status}`);
  return session.split(';')[0]!;
}

/** An access token for `email`, from the local Zoho directly (the demo's browser client, whose secret is in .dev.vars). */
export async function directToken(zoho: string, email: string): Promise<string> {
  const secret = /^DEMO_BROWSER_CLIENT_SECRET='([^']*)'$/m.exec(readFileSync('.dev.vars', 'utf8'))![1]!;
  const redirect = 'https://bench.local/cb';
  const grant = (await (await fetch(`${zoho}/__admin/grant?client_id=1000.LOCALBROWSER&email=${encodeURIComponent(email)}&redirect_uri=${encodeURIComponent(redirect)}`, { method: 'POST' })).json()) as { code: string };
  const body = new URLSearchParams({ grant_type: 'authorization_code', client_id: '1000.LOCALBROWSER', client_secret: secret, redirect_uri: redirect, code: grant.code });
  const answer = (await (await fetch(`${zoho}/oauth/v2/token`, { method: 'POST', body })).json()) as { access_token: string };
  return answer.access_token;
}

/** The local Worker's admin key (npm start keeps it in .admin-key). */
export const adminHeaders = () => ({ authorization: `Bearer ${readFileSync('.admin-key', 'utf8').trim()}` });
