/**
 * The operators' page at /admin, as the Worker answers it: sign-in with the admin key into a
 * short-lived HttpOnly, SameSite=Strict cookie; the cookie opens the admin routes only to
 * requests from the page's own origin (Fetch Metadata); actions by object id; the hourly chart's
 * counts. The page in a browser: test/e2e/operators.test.ts.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { env } from './local-zoho.ts';
import { call, expectNothingLeaked, loginAs, recordLogs, userNameOf, userStub } from './worker-client.ts';

recordLogs();
const sameOrigin = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };

async function signIn(key: string, site = 'same-origin', from: Record<string, string> = {}): Promise<Response> {
  return call('/admin/session', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate', ...from },
    body: new URLSearchParams({ key }).toString(),
  });
}

async function adminCookie(): Promise<string> {
  const answer = await signIn(env.TEST_ADMIN_KEY);
  expect(answer.status).toBe(303);
  return answer.headers.getSetCookie()[0]!.split(';')[0]!;
}

const connectionOf = async (email: string, cookie: string) => {
  await runDurableObjectAlarm(await userStub(userNameOf(email)));
  const answer = await call(`/admin/connections?${new URLSearchParams({ userName: userNameOf(email) })}`, { cookie, headers: sameOrigin });
  return ((await answer.json()) as { connection: { id: string; status: string; tokens: number } }).connection;
};

describe('the operators page', () => {
  it('asks for the key; the page and its script hold no key; a strict CSP with no inline code', async () => {
    const page = await call('/admin', { headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="key"');
    expect(html).not.toMatch(/<script>|<style>| on\w+=|style=/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    const script = await (await call('/admin/page.js')).text();
    expect(script).not.toContain(env.TEST_ADMIN_KEY);
    expect(script).not.toMatch(/localStorage|sessionStorage|innerHTML|document\.cookie/);
  });

  it('a wrong key gets no cookie; the right one a short-lived HttpOnly, Secure, SameSite=Strict cookie, only from this origin', async () => {
    const wrong = await signIn('not-the-key');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expect(await wrong.text()).toContain('wrong-key');
    // Another origin of the same site (another port) cannot sign a browser in, even with the key.
    expect((await signIn(env.TEST_ADMIN_KEY, 'same-site')).status).toBe(403);
    const right = await signIn(env.TEST_ADMIN_KEY);
    expect(right.status).toBe(303);
    const [cookie] = right.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-ets-admin=[^;]+; Max-Age=900; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect(cookie).not.toContain(env.TEST_ADMIN_KEY);
    const signedIn = cookie!.split(';')[0]!;
    const page = await (await call('/admin', { cookie: signedIn, headers: { 'sec-fetch-site': 'none' } })).text();
    expect(page).toContain('id="console"');
    expect(page).not.toContain(env.TEST_ADMIN_KEY);
    // The cookie opens the admin routes to the page's own requests, and to nothing else.
    expect((await call('/admin/keys', { cookie: signedIn, headers: sameOrigin })).status).toBe(200);
    expect((await call('/admin/keys', { cookie: signedIn, headers: { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' } })).status).toBe(403);
    expect((await call('/admin/keys', { cookie: signedIn })).status).toBe(403);
    expect((await call('/admin/keys', { cookie: 'x=1', headers: sameOrigin })).status).toBe(401);
    // A forged or altered cookie opens nothing.
    const [expires, mac] = signedIn.split('=')[1]!.split('.');
    const later = `__Host-ets-admin=${Number(expires) + 3_600_000}.${mac}`;
    expect((await call('/admin/keys', { cookie: later, headers: sameOrigin })).status).toBe(401);
    // Signing out clears it.
    const out = await call('/admin/session/end', { method: 'POST', cookie: signedIn, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(out.headers.getSetCookie()[0]).toMatch(/^__Host-ets-admin=; Max-Age=0/);
  });

  it('guesses at the key from one address are limited (CALLBACK_LIMITER: 20 a minute)', async () => {
    const from = { 'cf-connecting-ip': '198.51.100.44' };
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await signIn(`guess-${i}`, 'same-origin', from)).status);
    expect(answers.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(answers.slice(20)).toContain(429);
    // Even the right key waits, from there; another address is not held up.
    expect((await signIn(env.TEST_ADMIN_KEY, 'same-origin', from)).status).toBe(429);
    expect((await signIn(env.TEST_ADMIN_KEY, 'same-origin', { 'cf-connecting-ip': '198.51.100.45' })).status).toBe(303);
  });

  it('acts on one connection by object id: refresh now, revoke, erase; the chart counts the refresh', async () => {
    const cookie = await adminCookie();
    const email = 'user151@org15.example';
    const user = await loginAs(email);
    const { id } = await connectionOf(email, cookie);
    const act = (action: string, from = sameOrigin) =>
      call('/admin/connections/act', {
        method: 'POST',
        cookie,
        headers: { ...from, 'content-type': 'application/json' },
        body: JSON.stringify({ id, action }),
      });

    const before = (await (await call('/admin/activity', { cookie, headers: sameOrigin })).json()) as { hours: { refreshes: number }[] };
    expect(before.hours).toHaveLength(24);
    const refreshed = await act('refresh');
    expect(await refreshed.json()).toMatchObject({ refreshed: 1, failed: null });
    // Zoho's refresh limit is the user's too: a second one waits.
    expect(await (await act('refresh')).json()).toMatchObject({ refreshed: 0, retryAfterMs: expect.any(Number) });
    await runDurableObjectAlarm(await userStub(userNameOf(email)));
    const after = (await (await call('/admin/activity', { cookie, headers: sameOrigin })).json()) as { hours: { refreshes: number }[] };
    expect(after.hours.at(-1)!.refreshes).toBeGreaterThan(before.hours.at(-1)!.refreshes);

    // From another origin: refused, nothing done.
    expect((await act('revoke', { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' })).status).toBe(403);
    expect(await connectionOf(email, cookie)).toMatchObject({ status: 'active', tokens: 1 });
    expect(await (await act('revoke')).json()).toMatchObject({ revoked: 1 });
    expect(await connectionOf(email, cookie)).toMatchObject({ status: 'revoked', tokens: 0 });
    expect(await (await act('erase')).json()).toMatchObject({ action: 'erase' });
    expect(await connectionOf(email, cookie)).toMatchObject({ status: 'erased' });

    expect((await call('/admin/connections/act', { method: 'POST', cookie, headers: sameOrigin, body: '{"id":"nope","action":"erase"}' })).status).toBe(400);
    const unknown = JSON.stringify({ id: '0'.repeat(64), action: 'refresh' });
    expect((await call('/admin/connections/act', { method: 'POST', cookie, headers: sameOrigin, body: unknown })).status).toBe(404);
    expectNothingLeaked([user.token], [email]);
  });
});
