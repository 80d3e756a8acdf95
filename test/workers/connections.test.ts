/**
 * Each user's connection status: kept by their object, reported to the directory by its alarm,
 * listed for operators by GET /admin/connections. A dead connection leaves a tombstone with no
 * name and no token.
 */
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import './env.ts';
import type { Env } from '../../src/worker/env.ts';
import { createZohoHandler } from '../../src/worker/index.ts';
import { admin, client } from './local-zoho.ts';
import { call, expectNothingLeaked, loginAs, recordLogs, userNameOf, userStub } from './worker-client.ts';

recordLogs();
const adminHeaders = { authorization: `Bearer ${env.TEST_ADMIN_KEY}` };

/** The user's connection as operators see it, once their object's alarm has told the directory. */
async function connectionOf(email: string): Promise<Record<string, unknown> | null> {
  await runDurableObjectAlarm(await userStub(userNameOf(email)));
  const response = await call(`/admin/connections?${new URLSearchParams({ userName: userNameOf(email) })}`, { headers: adminHeaders });
  if (response.status === 404) return null;
  expect(response.status).toBe(200);
  return ((await response.json()) as { connection: Record<string, unknown> }).connection;
}

async function listed(status?: string): Promise<{ connections: { id: string; status: string }[]; counts: Record<string, number>; text: string }> {
  const response = await call(`/admin/connections${status ? `?status=${status}` : ''}`, { headers: adminHeaders });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { ...(JSON.parse(text) as { connections: { id: string; status: string }[]; counts: Record<string, number> }), text };
}

describe('connection status', () => {
  it("a refresh Zoho refuses makes it needs_reauth with Zoho's reason; another user stays active; logging in again makes it active", async () => {
    const dead = 'user81@org8.example';
    const alive = 'user82@org8.example';
    const first = await loginAs(dead);
    const other = await loginAs(alive);
    expect(await connectionOf(dead)).toMatchObject({ status: 'active', reason: null, dataCenter: 'us', tokens: 1, sessions: 1 });

    // The user removes the app in their Zoho account; the next refresh meets it.
    await admin('revoke-user', { email: dead, client_id: client.clientId });
    expect((await call('/auth/refresh', { method: 'POST', cookie: first.cookie })).status).toBe(401);
    const needs = await connectionOf(dead);
    expect(needs).toMatchObject({ status: 'needs_reauth', reason: 'invalid_code', dataCenter: 'us', tokens: 0 });
    expect(needs!.since).toEqual(expect.any(Number));
    expect(await connectionOf(alive)).toMatchObject({ status: 'active' });
    // The user's page hears that their connection needs them again.
    expect(await (await call('/auth/me', { cookie: first.cookie })).json()).toEqual({ loggedIn: false, connection: 'needs_reauth' });
    expect(await (await call('/auth/me', { cookie: other.cookie })).json()).toMatchObject({ loggedIn: true });

    const waiting = await listed('needs_reauth');
    const deadId = (await userStub(userNameOf(dead))).id.toString();
    expect(waiting.connections.map((c) => c.id)).toContain(deadId);
    expect(waiting.connections.every((c) => c.status === 'needs_reauth')).toBe(true);
    expect(waiting.counts.needs_reauth).toBeGreaterThanOrEqual(1);
    expect(waiting.counts.active).toBeGreaterThanOrEqual(1);

    const again = await loginAs(dead);
    expect(await connectionOf(dead)).toMatchObject({ status: 'active', reason: null, tokens: 1 });
    expect((await listed('needs_reauth')).connections.map((c) => c.id)).not.toContain(deadId);
    expectNothingLeaked([first.token, other.token, again.token], [dead, alive]);
  });

  it('a revoke, then an erase: each its status; after the erase only the id, the status and its time remain', async () => {
    const email = 'user83@org8.example';
    const user = await loginAs(email);
    expect((await call('/auth/revoke', { method: 'POST', cookie: user.cookie })).status).toBe(204);
    expect(await connectionOf(email)).toMatchObject({ status: 'revoked', dataCenter: 'us', tokens: 0, sessions: 0 });

    await loginAs(email);
    const erased = await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: JSON.stringify({ userName: userNameOf(email) }) });
    expect(erased.status).toBe(200);
    const tombstone = await connectionOf(email);
    expect(tombstone).toEqual({
      id: (await userStub(userNameOf(email))).id.toString(),
      status: 'erased',
      since: expect.any(Number),
      reason: null,
      dataCenter: null,
      tokens: 0,
      sessions: 0,
      lastError: null,
    });
    const all = await listed();
    expect(all.text).not.toContain('@');
    expect(all.text).not.toContain(user.token.refreshToken!);
  });

  it("erasing a dead connection's user leaves no reason or data center behind, and ends their sessions", async () => {
    const email = 'user85@org8.example';
    const user = await loginAs(email);
    await admin('revoke-user', { email, client_id: client.clientId });
    expect((await call('/auth/refresh', { method: 'POST', cookie: user.cookie })).status).toBe(401);
    expect(await connectionOf(email)).toMatchObject({ status: 'needs_reauth', reason: 'invalid_code', dataCenter: 'us', sessions: 1 });
    const erased = await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: JSON.stringify({ userName: userNameOf(email) }) });
    expect(await erased.json()).toMatchObject({ found: false, tokensDeleted: 0, sessionsEnded: 1 });
    expect(await connectionOf(email)).toMatchObject({ status: 'erased', reason: null, dataCenter: null, sessions: 0 });
    expect(await (await call('/auth/me', { cookie: user.cookie })).json()).toEqual({ loggedIn: false });
  });

  it('Zoho busy is no change of status: it shows as the last error, with its time', async () => {
    const email = 'user84@org8.example';
    const user = await loginAs(email);
    expect(await connectionOf(email)).toMatchObject({ status: 'active', lastError: null });
    const before = Date.now();
    await admin('fail', { refresh_token: user.token.refreshToken!, status: '503' });
    expect((await call('/auth/refresh', { method: 'POST', cookie: user.cookie })).status).toBe(503);
    const troubled = await connectionOf(email);
    expect(troubled).toMatchObject({ status: 'active', tokens: 1, lastError: { code: 'ZOHO_UNAVAILABLE' } });
    expect((troubled!.lastError as { at: number }).at).toBeGreaterThanOrEqual(before);
    await admin('recover', { refresh_token: user.token.refreshToken! });
  });

  it("an app's own code lists who must reconnect through its handler, with the same views as the admin route", async () => {
    const email = 'user86@org8.example';
    const user = await loginAs(email);
    await admin('revoke-user', { email, client_id: client.clientId });
    expect((await call('/auth/refresh', { method: 'POST', cookie: user.cookie })).status).toBe(401);
    const fromAdmin = await connectionOf(email);
    const zoho = createZohoHandler();
    const appEnv = env as unknown as Env;
    expect(await zoho.connection(appEnv, userNameOf(email))).toEqual(fromAdmin);
    expect(await zoho.connection(appEnv, userNameOf('nobody@org8.example'))).toBeNull();
    const page = await zoho.connections(appEnv, { status: 'needs_reauth', limit: 500 });
    expect(page.connections).toContainEqual(fromAdmin);
    expect(page.connections.every((c) => c.status === 'needs_reauth')).toBe(true);
    expect(page.counts.needs_reauth).toBe(page.connections.length);
    // Mistakes are INVALID_INPUT, as for every option.
    await expect(zoho.connections(appEnv, { status: 'dead' as never })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(zoho.connections(appEnv, { limit: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(zoho.connection(appEnv, '')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('needs the admin key; a bad status or user name is refused', async () => {
    expect((await call('/admin/connections')).status).toBe(401);
    expect((await call('/admin/connections?status=dead', { headers: adminHeaders })).status).toBe(400);
    expect((await call('/admin/connections?userName=', { headers: adminHeaders })).status).toBe(400);
    expect((await call('/admin/connections?userName=x%40y.example%3A1&dataCenter=mars', { headers: adminHeaders })).status).toBe(400);
    expect((await call('/admin/connections?userName=nobody%40y.example%3A1', { headers: adminHeaders })).status).toBe(404);
  });
});
