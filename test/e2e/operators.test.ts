/**
 * Connections people can see, end to end under `npm start` with a webhook endpoint of the app's
 * (test/shared/webhook-receiver.ts, checking signatures with the `standardwebhooks` package):
 * a user removes the app at the local Zoho, their next call makes the connection
 * `needs_reauth` and one signed `connection.reauth_required` arrives (again, under one id,
 * while the endpoint fails); the other user stays active; logging in again is one
 * `connection.recovered`. Then the operators' page in Chromium: a wrong key fails, the list
 * shows both users, acting from another origin is refused, revoke and erase (asked twice) each
 * give their status and event. Screenshots of each state go to test-output/operators/.
 */
import { readFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumOrThrow } from '../../scripts/chromium.ts';
import { spawnStart, type RunningApp } from '../../scripts/spawn-start.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';
import { logInThroughWorker } from './demo-login.ts';
import { WebhookReceiver, webhookSecret, type Delivery } from '../shared/webhook-receiver.ts';

const PORT = 18807;
const ZOHO_PORT = 18808;
const HOOK_PORT = 18809;
/** Another origin of the same site (127.0.0.1, another port): the admin cookie reaches it, Fetch Metadata refuses it. */
const OTHER_PORT = 18810;
const APP = `http://127.0.0.1:${PORT}`;
const SHOTS = 'test-output/operators';
const ANA = 'ana@example.com:7001';
const BO = 'bo@example.com:7002';

const secret = webhookSecret();
const receiver = new WebhookReceiver(secret);
let app: RunningApp;
let browser: Browser;
let hookServer: Server;
let otherServer: Server;
let step = 0;

/** Serves a fetch-style handler on loopback. */
function serve(port: number, handle: (request: Request) => Promise<Response>): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const answer = await handle(new Request(`http://127.0.0.1:${port}${req.url}`, { method: req.method, headers: req.headers as HeadersInit, body }));
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${String(++step).padStart(2, '0')}-${name}.png`, fullPage: true });
const adminKey = () => readFileSync('.admin-key', 'utf8').trim();
const zoho = localZohoAdmin(`http://127.0.0.1:${ZOHO_PORT}`, () => app.adminToken);

async function connection(userName: string): Promise<{ id: string; status: string; reason: string | null }> {
  const answer = await fetch(`${APP}/admin/connections?${new URLSearchParams({ userName })}`, { headers: { authorization: `Bearer ${adminKey()}` } });
  return ((await answer.json()) as { connection: { id: string; status: string; reason: string | null } }).connection;
}

/** Webhook deliveries about one user, in arrival order, with their events parsed. */
function eventsOf(userName: string): (Delivery & { type: string; data: Record<string, unknown> })[] {
  return receiver.deliveries
    .map((d) => ({ ...d, ...(JSON.parse(d.body) as { type: string; data: Record<string, unknown> }) }))
    .filter((d) => d.data.userName === userName);
}
/** The events delivered (answered 2xx) about one user: one per change. */
const delivered = (userName: string) => eventsOf(userName).filter((d) => d.answered === 204);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  hookServer = await serve(HOOK_PORT, (request) => receiver.fetch(request));
  otherServer = await serve(OTHER_PORT, async (request) => {
    // A page of another origin that posts to the operators' routes, as a form can (no preflight).
    const id = new URL(request.url).searchParams.get('id') ?? '';
    const html = `<!doctype html><title>Another origin</title><h1>Another origin</h1>
<form method="post" enctype="text/plain" action="${APP}/admin/connections/act"><input type="hidden" name='{"id":"${id}","action":"revoke","x":"' value='"}'><button id="attack">Revoke</button></form>`;
    return new Response(html, { headers: { 'content-type': 'text/html' } });
  });
  app = await spawnStart({
    port: PORT,
    zohoPort: ZOHO_PORT,
    stateDir: mkdtempSync(join(tmpdir(), 'ets-operators-')),
    readyWithinMs: 150_000,
    env: { CONNECTION_WEBHOOK_URL: `http://127.0.0.1:${HOOK_PORT}/events`, CONNECTION_WEBHOOK_SECRET: secret },
  });
  browser = await chromium.launch({
    executablePath: chromiumOrThrow(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  hookServer?.close();
  otherServer?.close();
});

describe('connections people can see', () => {
  it('a user who removes the app gets one signed reauth_required (retried until the endpoint answers); the other stays active; a new login is one recovered', async () => {
    const ana = await (await browser.newContext()).newPage();
    const bo = await (await browser.newContext()).newPage();
    await logInThroughWorker(ana, APP, 'ana@example.com', ANA);
    await logInThroughWorker(bo, APP, 'bo@example.com', BO);
    expect(app.output()).toContain(`events:      signed webhooks to http://127.0.0.1:${HOOK_PORT}/events`);
    await expect.poll(async () => (await connection(ANA))?.status).toBe('active');

    await receiver.fetch(new Request('http://hooks/__fail?count=2', { method: 'POST' }));
    await zoho('revoke-user', { email: 'ana@example.com', client_id: '1000.LOCALDEV' });
    expect(await ana.evaluate(() => fetch('/crm/v8/Leads').then((r) => r.status))).toBe(401);
    // Two failed attempts, then the one that lands: 1 s and 3 s apart.
    await expect.poll(() => delivered(ANA).length, { timeout: 90_000, interval: 500 }).toBe(1);
    const attempts = eventsOf(ANA);
    expect(attempts.map((d) => d.answered)).toEqual([503, 503, 204]);
    expect(new Set(attempts.map((d) => d.id)).size).toBe(1);
    expect(attempts.every((d) => d.verified)).toBe(true);
    expect(attempts[0]).toMatchObject({
      type: 'connection.reauth_required',
      data: {
        userName: ANA,
        email: 'ana@example.com',
        org: '7001',
        status: 'needs_reauth',
        reason: 'invalid_code',
        dataCenter: 'us',
        reconnectUrl: `${APP}/auth/login?return_to=%2F`,
      },
    });
    await expect.poll(async () => (await connection(ANA)).status).toBe('needs_reauth');
    expect((await connection(ANA)).reason).toBe('invalid_code');
    expect((await connection(BO)).status).toBe('active');
    expect(eventsOf(BO)).toEqual([]);

    await logInThroughWorker(ana, APP, 'ana@example.com', ANA);
    await expect.poll(() => delivered(ANA).map((d) => d.type), { timeout: 60_000 }).toEqual(['connection.reauth_required', 'connection.recovered']);
    await expect.poll(async () => (await connection(ANA)).status).toBe('active');
  });

  it('the operators page: a wrong key fails, both users listed, another origin refused, revoke and erase (asked twice)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${APP}/admin`);
    await page.fill('#key', 'not-the-key');
    await page.click('#sign-in');
    await expect.poll(() => page.locator('#wrong-key').isVisible()).toBe(true);
    await shot(page, 'wrong-key');
    expect(await context.cookies()).toEqual([]);

    await page.fill('#key', adminKey());
    await page.click('#sign-in');
    await expect.poll(() => page.locator('#connections tbody tr').count()).toBe(2);
    const anaId = (await connection(ANA)).id;
    const boId = (await connection(BO)).id;
    const rowOf = (id: string) => page.locator(`#connections tbody tr[data-id="${id}"]`);
    await expect.poll(() => rowOf(anaId).locator('td.status').textContent()).toBe('active');
    await expect.poll(() => rowOf(boId).locator('td.status').textContent()).toBe('active');
    // The chart's counts reach the directory from each user's object within seconds.
    const legend = async () => {
      await page.reload();
      await page.locator('#chart .legend').waitFor();
      return page.locator('#chart .legend').textContent();
    };
    await expect.poll(legend, { timeout: 60_000, interval: 1_000 }).toContain('Refusals: 1');
    expect(await page.locator('#chart .legend').textContent()).toContain('Re-authorizations: 1');
    await expect.poll(() => page.locator('#keys').textContent()).toContain('k1 (current)');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: '__Host-ets-admin', httpOnly: true, sameSite: 'Strict' });
    expect(await page.content()).not.toContain(adminKey());
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie)).toBe('{}{}');
    await shot(page, 'signed-in');

    // Another origin, same site: the browser sends the cookie, the Worker refuses the action.
    const other = await context.newPage();
    await other.goto(`http://127.0.0.1:${OTHER_PORT}/?id=${boId}`);
    await other.click('#attack');
    await expect.poll(() => other.locator('body').textContent()).toContain('cross_site');
    await shot(other, 'other-origin-refused');
    expect((await connection(BO)).status).toBe('active');

    await page.selectOption('#status', 'active');
    await expect.poll(() => page.locator('#connections tbody tr').count()).toBe(2);
    await rowOf(boId).locator('button.revoke').click();
    await expect.poll(() => page.locator('#message').textContent()).toContain('Revoked 1 token(s)');
    await page.selectOption('#status', '');
    await expect.poll(() => rowOf(boId).locator('td.status').textContent(), { timeout: 30_000 }).toBe('revoked');
    await shot(page, 'revoked');

    const erase = rowOf(anaId).locator('button.erase');
    await erase.click();
    await expect.poll(() => erase.textContent()).toBe('Click again to erase');
    expect((await connection(ANA)).status).toBe('active');
    await shot(page, 'erase-asked');
    await erase.click();
    await expect.poll(() => page.locator('#message').textContent()).toContain('Erased');
    await expect.poll(() => rowOf(anaId).locator('td.status').textContent(), { timeout: 30_000 }).toBe('erased');
    await shot(page, 'erased');

    await expect.poll(() => delivered(BO).map((d) => d.type), { timeout: 60_000 }).toEqual(['connection.revoked']);
    await expect
      .poll(() => delivered(ANA).map((d) => d.type), { timeout: 60_000 })
      .toEqual(['connection.reauth_required', 'connection.recovered', 'connection.erased']);
    // No token or secret in any event, status or page.
    const everything = receiver.deliveries.map((d) => d.body).join('\n') + (await page.content()) + JSON.stringify(await connection(ANA));
    expect(everything).not.toMatch(/1000\.(access|refresh|grant)\.[0-9a-f]{40}/);
    expect(everything).not.toContain(adminKey());
    expect(JSON.stringify(await connection(ANA))).not.toContain('ana@');
    await context.close();
  });
});
