/**
 * Connection events: each change of a user's connection reaches the app once per change, in
 * order, signed per Standard Webhooks (checked by the `standardwebhooks` package in the receiver,
 * test/shared/webhook-receiver.ts) and on the queue bound as CONNECTION_EVENTS; a failing
 * endpoint gets the same event again, under the same id, until it answers 2xx, or until the
 * bound, with an audit line. The user's object delivers from its alarm, out of its outbox.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { env } from './local-zoho.ts';
import type { ConnectionEvent } from '../../src/worker/index.ts';
import { RETRY_DELAYS_MS } from '../../src/worker/event-outbox.ts';
import { userObjectName } from '../../src/worker/naming.ts';
import { admin, client } from './local-zoho.ts';
import { APP, call, expectNothingLeaked, loginAs, recordLogs, userNameOf, userStore, userStub } from './worker-client.ts';
import type { Delivery } from '../shared/webhook-receiver.ts';

const logSpy = recordLogs();
const adminHeaders = { authorization: `Bearer ${env.TEST_ADMIN_KEY}` };

async function received(): Promise<{ deliveries: Delivery[]; queued: ConnectionEvent[] }> {
  return (await fetch('https://hooks.test/__received')).json();
}

/** The webhook deliveries about one user's object, oldest first, each with its event parsed. */
async function deliveriesFor(email: string): Promise<(Delivery & { event: ConnectionEvent })[]> {
  const objectId = (await userStub(userNameOf(email))).id.toString();
  return (await received()).deliveries.map((d) => ({ ...d, event: JSON.parse(d.body) as ConnectionEvent })).filter((d) => d.event.data.objectId === objectId);
}

/** The user's object runs its alarm (as the runtime would, at once): the directory hears, events go out. */
async function alarmOf(email: string): Promise<void> {
  await runDurableObjectAlarm(await userStub(userNameOf(email)));
}

/** Makes the user's waiting events due now, as the retry delays passing would. */
async function retryDue(email: string): Promise<number> {
  return runInDurableObject(await userStub(userNameOf(email)), (_o, state) => {
    state.storage.sql.exec('UPDATE ets_outbox SET next_at = 0');
    return state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM ets_outbox').one().n;
  });
}

const statusOf = async (email: string) => {
  const answer = await call(`/admin/connections?${new URLSearchParams({ userName: userNameOf(email) })}`, { headers: adminHeaders });
  return ((await answer.json()) as { connection: { status: string; reason: string | null } }).connection;
};

describe('connection events', () => {
  it('a refusal gives one signed reauth_required with a reconnect URL, on the webhook and the queue; logging in again gives one recovered', async () => {
    const dead = 'user141@org14.example';
    const alive = 'user142@org14.example';
    const first = await loginAs(dead);
    const other = await loginAs(alive);
    await alarmOf(dead);
    await alarmOf(alive);
    // A first login is no change of a connection: no event.
    expect(await deliveriesFor(dead)).toEqual([]);

    // The user removes the app at Zoho; their next call meets it (the access token is dead too, the refresh refused).
    await admin('revoke-user', { email: dead, client_id: client.clientId });
    expect((await call('/crm/v8/Leads', { cookie: first.cookie })).status).toBe(401);
    await alarmOf(dead);
    const [event, ...more] = await deliveriesFor(dead);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ verified: true, answered: 204, id: event!.event.id });
    expect(event!.event).toEqual({
      id: expect.stringMatching(/^msg_[A-Za-z0-9_-]+$/),
      type: 'connection.reauth_required',
      timestamp: expect.any(String),
      data: {
        userName: userNameOf(dead),
        email: dead,
        org: userNameOf(dead).split(':')[1],
        user: await userObjectName(env.USER_OBJECT_SECRET, userNameOf(dead)),
        objectId: (await userStub(userNameOf(dead))).id.toString(),
        dataCenter: 'us',
        status: 'needs_reauth',
        reason: 'invalid_code',
        reconnectUrl: `${APP}/auth/login?return_to=%2F`,
      },
    });
    expect(await statusOf(dead)).toMatchObject({ status: 'needs_reauth', reason: 'invalid_code' });
    // Once per change: another refused call and another alarm send nothing more.
    expect((await call('/crm/v8/Leads', { cookie: first.cookie })).status).toBe(401);
    await alarmOf(dead);
    expect(await deliveriesFor(dead)).toHaveLength(1);
    // The queue's consumer got the same event, under the same id.
    await vi.waitUntil(async () => (await received()).queued.some((q) => q.id === event!.event.id), { timeout: 30_000, interval: 200 });
    expect((await received()).queued.filter((q) => q.id === event!.event.id)).toEqual([event!.event]);
    // The other user's connection is untouched.
    await alarmOf(alive);
    expect(await deliveriesFor(alive)).toEqual([]);
    expect(await statusOf(alive)).toMatchObject({ status: 'active' });

    const again = await loginAs(dead);
    await alarmOf(dead);
    const events = (await deliveriesFor(dead)).map((d) => d.event);
    expect(events.map((e) => e.type)).toEqual(['connection.reauth_required', 'connection.recovered']);
    expect(events[1]!.data).toMatchObject({ status: 'active', reason: null, userName: userNameOf(dead), dataCenter: 'us' });
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    expect(await statusOf(dead)).toMatchObject({ status: 'active' });
    expectNothingLeaked([first.token, other.token, again.token], [dead, alive]);
    const bodies = (await deliveriesFor(dead)).map((d) => d.body).join('\n');
    for (const token of [first.token, again.token]) {
      for (const secret of [token.accessToken, token.refreshToken, client.clientSecret]) expect(bodies).not.toContain(secret);
    }
  });

  it('an endpoint that fails gets the same event, same id, until it answers 2xx; later events wait their turn', async () => {
    const email = 'user143@org14.example';
    const user = await loginAs(email);
    await fetch('https://hooks.test/__fail?count=2', { method: 'POST' });
    expect((await call('/auth/revoke', { method: 'POST', cookie: user.cookie })).status).toBe(204);
    await alarmOf(email);
    expect((await deliveriesFor(email)).map((d) => d.answered)).toEqual([503]);
    // Not due yet: the alarm leaves it for its time.
    await alarmOf(email);
    expect(await deliveriesFor(email)).toHaveLength(1);
    // A later change waits behind it (in order per user).
    await loginAs(email);
    expect(await retryDue(email)).toBe(2);
    await alarmOf(email);
    expect((await deliveriesFor(email)).map((d) => d.answered)).toEqual([503, 503]);
    expect(await retryDue(email)).toBe(2);
    await alarmOf(email);
    const deliveries = await deliveriesFor(email);
    expect(deliveries.map((d) => [d.event.type, d.answered])).toEqual([
      ['connection.revoked', 503],
      ['connection.revoked', 503],
      ['connection.revoked', 204],
      ['connection.recovered', 204],
    ]);
    expect(new Set(deliveries.slice(0, 3).map((d) => d.id)).size).toBe(1);
    expect(deliveries.every((d) => d.verified)).toBe(true);
    expect(await retryDue(email)).toBe(0);
  });

  it('an erase gives its event with who was erased; the outbox keeps events sealed', async () => {
    const email = 'user144@org14.example';
    await loginAs(email);
    await fetch('https://hooks.test/__fail?count=1', { method: 'POST' });
    const erased = await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: JSON.stringify({ userName: userNameOf(email) }) });
    expect(erased.status).toBe(200);
    // Waiting after a failed attempt: the stored event does not name the user.
    await alarmOf(email);
    const stored = await runInDurableObject(await userStub(userNameOf(email)), (_o, state) =>
      state.storage.sql.exec<{ sealed: string }>('SELECT sealed FROM ets_outbox').toArray(),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.sealed).not.toContain('org14');
    expect(atob(stored[0]!.sealed.split('.').at(-1)!.replace(/-/g, '+').replace(/_/g, '/'))).not.toContain('org14');
    await retryDue(email);
    await alarmOf(email);
    const [failed, delivered] = await deliveriesFor(email);
    expect(failed!.answered).toBe(503);
    expect(delivered!.event).toMatchObject({ type: 'connection.erased', data: { status: 'erased', userName: userNameOf(email), dataCenter: 'us' } });
    expect(await statusOf(email)).toMatchObject({ status: 'erased', reason: null });
  });

  it('an idle purge gives one connection.purged, reason idle, reported in the alarm that purged', async () => {
    const email = 'user146@org14.example';
    const user = await loginAs(email);
    const stub = await userStub(userNameOf(email));
    await alarmOf(email);
    // As if the token had last been refreshed 91 days ago (IDLE_PURGE_DAYS = 90): the purge is due.
    await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 91 * 86_400_000 });
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO ets_meta (key, value) VALUES ('purge_at', ?)", String(Date.now() - 1));
    });
    await alarmOf(email);
    expect(await statusOf(email)).toMatchObject({ status: 'purged', reason: 'idle' });
    // Once, though the alarm that purged also set itself again meanwhile.
    await alarmOf(email);
    expect((await deliveriesFor(email)).map((d) => d.event)).toEqual([
      expect.objectContaining({ type: 'connection.purged', data: expect.objectContaining({ status: 'purged', reason: 'idle', userName: userNameOf(email) }) }),
    ]);
  });

  it(`gives up after ${RETRY_DELAYS_MS.length + 1} attempts, with an audit line naming the event, never the user`, async () => {
    const email = 'user145@org14.example';
    const user = await loginAs(email);
    await fetch(`https://hooks.test/__fail?count=${RETRY_DELAYS_MS.length + 1}`, { method: 'POST' });
    expect((await call('/auth/revoke', { method: 'POST', cookie: user.cookie })).status).toBe(204);
    await alarmOf(email);
    for (let attempt = 2; attempt <= RETRY_DELAYS_MS.length + 1; attempt++) {
      expect(await retryDue(email)).toBe(1);
      await alarmOf(email);
    }
    expect(await retryDue(email)).toBe(0);
    const deliveries = await deliveriesFor(email);
    expect(deliveries).toHaveLength(RETRY_DELAYS_MS.length + 1);
    expect(deliveries.every((d) => d.answered === 503 && d.id === deliveries[0]!.id)).toBe(true);
    const lines = logSpy.mock.calls.map((args) => String(args[0])).filter((line) => line.includes('event_given_up'));
    const user_ = await userObjectName(env.USER_OBJECT_SECRET, userNameOf(email));
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ audit: 'event_given_up', user: user_, event: deliveries[0]!.id, attempts: RETRY_DELAYS_MS.length + 1, code: 'HTTP_503' }),
    );
    expect(lines.join('\n')).not.toContain(email);
  });
});
