/**
 * The demo as a person uses it: `npm start` (wrangler dev + local Zoho), Debian's Chromium
 * driven by Playwright. Screenshots of each step go to test-output/ (not committed).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumOrThrow } from '../../scripts/chromium.ts';
import { spawnStart, type RunningApp } from '../../scripts/spawn-start.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';
import { logInThroughWorker } from './demo-login.ts';

const PORT = 18787;
const ZOHO_PORT = 18788;
const APP = `http://127.0.0.1:${PORT}`;
const ZOHO = `http://127.0.0.1:${ZOHO_PORT}`;
const SHOTS = 'test-output/e2e';
const STATE_DIR = mkdtempSync(join(tmpdir(), 'ets-e2e-'));

let app: RunningApp | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let step = 0;

async function start(): Promise<void> {
  app = await spawnStart({ port: PORT, zohoPort: ZOHO_PORT, stateDir: STATE_DIR, readyWithinMs: 150_000 });
}

async function stop(): Promise<void> {
  await app?.stop();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/${String(++step).padStart(2, '0')}-${name}.png`, fullPage: true });
}

/** Every record of an IndexedDB database's `tokens` store, read raw in the page, as JSON text. */
function rawIndexedDB(target: Page, database: string): Promise<string> {
  return target.evaluate(
    (name) =>
      new Promise<string>((done) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => {
          const request = open.result.transaction('tokens').objectStore('tokens').getAll();
          request.onsuccess = () => done(JSON.stringify(request.result));
        };
      }),
    database,
  );
}

const admin = localZohoAdmin(ZOHO, () => app!.adminToken);
const zohoCounts = () => admin<{ refreshes: number; grantExchanges: number; grantsIssued: number }>('counts');

const CHROMIUM = chromiumOrThrow();
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** What versions before this one wrote into the assets directory: .assetsignore must keep it from being served (and deployed). */
const LEFTOVER = 'demo/public/local-config.json';

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(LEFTOVER, JSON.stringify({ leftover: true }));
  await start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext();
  page = await context.newPage();
});

afterAll(async () => {
  rmSync(LEFTOVER, { force: true });
  await browser?.close();
  await stop();
});

describe('the demo, end to end', () => {
  it('logs in at the local Zoho and lists, creates and shows Leads through the Worker', async () => {
    await page.goto(APP);
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await shot('logged-out');
    await page.click('#login');
    await expect.poll(() => page.url()).toMatch(new RegExp(`^${ZOHO}/oauth/v2/auth\\?`));
    await shot('zoho-consent');
    await page.click('#accept');
    await expect.poll(() => page.url()).toBe(`${APP}/`);
    await expect.poll(() => page.locator('#user').textContent()).toBe('ana@example.com:7001');
    await expect.poll(() => page.locator('#no-leads').isVisible()).toBe(true);
    await page.fill('input[name=Last_Name]', 'Lovelace');
    await page.fill('input[name=Company]', 'Analytical Engines');
    await page.click('#new-lead button');
    await expect.poll(() => page.locator('#leads tbody tr').count()).toBe(1);
    expect(await page.locator('#leads tbody').textContent()).toContain('Analytical Engines');
    await shot('leads');
  });

  it('stays logged in across a reload and a restart of npm start, without a second login', async () => {
    const exchanges = (await zohoCounts()).grantExchanges;
    await page.reload();
    await expect.poll(() => page.locator('#user').textContent()).toBe('ana@example.com:7001');
    await stop();
    await start();
    await page.reload();
    await expect.poll(() => page.locator('#leads tbody tr').count()).toBe(1);
    // The local Zoho's counters restart with it: no grant exchange since means no second login.
    expect((await zohoCounts()).grantExchanges).toBe(0);
    expect(exchanges).toBe(1);
    // What kept the login across the restart (live local tokens, a client secret) is this user's alone.
    expect(statSync(join(STATE_DIR, 'local-zoho.json')).mode & 0o777).toBe(0o600);
    await shot('after-restart');
  });

  it("a second user logs in in another browser: the two users' tokens live in two objects", async () => {
    const other = await browser.newContext();
    try {
      await logInThroughWorker(await other.newPage(), APP, 'bo@example.com', 'bo@example.com:7002');
    } finally {
      await other.close();
    }
    // What the operator sees (npm start keeps the admin key in .admin-key): one object per user.
    const admin = { authorization: `Bearer ${readFileSync('.admin-key', 'utf8').trim()}` };
    const holding = async () => {
      const { objects } = (await (await fetch(`${APP}/admin/objects`, { headers: admin })).json()) as { objects: { tokens: number }[] };
      return objects.map((o) => o.tokens);
    };
    await expect.poll(holding).toEqual([1, 1]);
  });

  it('an EU user and a US user under one npm start: each refreshed once, at their own data center', async () => {
    const euContext = await browser.newContext();
    try {
      const euPage = await euContext.newPage();
      await logInThroughWorker(euPage, APP, 'eva@example.eu', 'eva@example.eu:7101');
      expect(await euPage.locator('#dc').textContent()).toContain('European Union');
      await euPage.screenshot({ path: `${SHOTS}/${String(++step).padStart(2, '0')}-eu-user.png`, fullPage: true });
      const both = () =>
        Promise.all([
          ...Array.from({ length: 5 }, () => page.request.get(`${APP}/crm/v8/org`)),
          ...Array.from({ length: 5 }, () => euPage.request.get(`${APP}/crm/v8/org`)),
        ]);
      expect((await both()).map((r) => r.status())).toEqual(Array(10).fill(200));
      const refreshesAt = async (dc: string) => (await admin<{ refreshes: number }>('counts', { dc })).refreshes;
      const before = { us: await refreshesAt('us'), eu: await refreshesAt('eu') };
      // Both access tokens die at Zoho (its clock jumps past their hour): the next calls refresh.
      await admin('advance', { ms: String(61 * 60_000) });
      expect((await both()).map((r) => r.status())).toEqual(Array(10).fill(200));
      expect({ us: (await refreshesAt('us')) - before.us, eu: (await refreshesAt('eu')) - before.eu }).toEqual({ us: 1, eu: 1 });
    } finally {
      await euContext.close();
    }
  });

  it('after a forced expiry, the next call refreshes once and the page shows it', async () => {
    const before = (await zohoCounts()).refreshes;
    const shownBefore = await page.locator('#refreshed').textContent();
    // Jump the local Zoho's clock past the access token's hour: Zoho now answers 401 INVALID_TOKEN.
    await admin('advance', { ms: String(61 * 60_000) });
    await page.reload();
    await expect.poll(() => page.locator('#leads tbody tr').count()).toBe(1);
    expect((await zohoCounts()).refreshes).toBe(before + 1);
    // Wait for the button's own refresh to finish: the label may already differ from before the
    // reload (the reload refreshed too), so it cannot tell when this second refresh is done.
    const [refreshed] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/refresh'), page.click('#refresh')]);
    expect(refreshed.status()).toBe(200);
    expect((await zohoCounts()).refreshes).toBe(before + 2);
    await expect.poll(() => page.locator('#refreshed').textContent()).not.toBe(shownBefore);
    await shot('refreshed');
  });

  it('npm start reports no failure and no stack trace', () => {
    const printed = app!.output();
    expect(printed).toContain('edge-token-store is running');
    expect(printed).not.toMatch(/\n\s+at .+:\d+:\d+|Error:/);
  });

  it('serves nothing a local run wrote into the assets directory (wrangler deploy would publish it)', async () => {
    expect((await fetch(`${APP}/app.js`)).status).toBe(200);
    expect((await fetch(`${APP}/local-config.json`)).status).toBe(404);
  });

  it('keeps the session cookie away from script, and no token reaches the page', async () => {
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const [cookie] = await context.cookies(APP);
    expect(cookie).toMatchObject({ name: '__Host-ets-session', httpOnly: true, secure: true, sameSite: 'Lax' });
    const html = await page.content();
    expect(html).not.toMatch(/1000\.(access|refresh)\./);
  });

  it('revoke sends the person back to log in, and the old session no longer works', async () => {
    await page.click('#revoke');
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await shot('revoked');
    const response = await page.request.get(`${APP}/crm/v8/Leads`);
    expect(response.status()).toBe(401);
    await page.reload();
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
  });

  it('in this browser: logs in with the implicit flow, lists and creates Leads with the token sealed in IndexedDB', async () => {
    await page.goto(`${APP}/?mode=browser`);
    await expect.poll(() => page.locator('#b-login').isVisible()).toBe(true);
    await page.click('#b-login');
    await expect.poll(() => page.url()).toMatch(new RegExp(`^${ZOHO}/oauth/v2/auth\\?`));
    expect(new URL(page.url()).searchParams.get('response_type')).toBe('token');
    await page.selectOption('select[name=email]', 'bo@example.com');
    // The address bar as the page's first request (its settings) leaves: the token must be gone by then.
    const addressAtFirstRequest: string[] = [];
    await page.route('**/demo/browser-client', async (route) => {
      addressAtFirstRequest.push(await page.evaluate(() => location.href));
      await route.continue();
    });
    await page.click('#accept');
    await expect.poll(() => page.locator('#b-user').textContent()).toBe('bo@example.com:7002');
    await page.unroute('**/demo/browser-client');
    // The token came in the fragment and left the address bar before the page's first await.
    expect(addressAtFirstRequest).toEqual([`${APP}/?mode=browser`]);
    expect(page.url()).toBe(`${APP}/?mode=browser`);
    await page.fill('#b-new-lead input[name=Last_Name]', 'Hopper');
    await page.click('#b-new-lead button');
    await expect.poll(() => page.locator('#b-leads tbody tr').count()).toBe(1);
    await expect.poll(() => page.locator('#b-raw tbody tr').count()).toBe(1);
    await shot('in-browser');
  });

  it('in this browser: no client secret reaches the page, nothing is in clear in IndexedDB, and a reload needs no new login', async () => {
    const config = (await (await fetch(`${APP}/demo/browser-client`)).json()) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual(['accountsUrl', 'clientId']);
    // No local secret of any kind is in what the page loads.
    const served = (
      await Promise.all(['/', '/in-browser.js', '/app.js', '/demo/browser-client'].map(async (path) => (await fetch(`${APP}${path}`)).text()))
    ).join('\n');
    const secrets = [...readFileSync('.dev.vars', 'utf8').matchAll(/^[A-Z_]+='([^']+)'$/gm)].map((m) => m[1]!);
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) expect(served).not.toContain(secret);
    const raw = await rawIndexedDB(page, 'edge-token-store-demo');
    expect(raw).toContain('"data":"v2.');
    for (const clear of ['1000.access.', '1000.refresh.', '1000.grant.', 'bo@example.com']) expect(raw).not.toContain(clear);
    const logins = (await zohoCounts()).grantsIssued;
    await page.reload();
    await expect.poll(() => page.locator('#b-leads tbody tr').count()).toBe(1);
    expect((await zohoCounts()).grantsIssued).toBe(logins);
  });

  it('in this browser: when the hour is over, the page says to log in again (Zoho gives such pages no refresh token)', async () => {
    // Zoho's clock passes the access token's hour: it answers 401 INVALID_TOKEN, and nothing can refresh it.
    await admin('advance', { ms: String(61 * 60_000) });
    const refreshes = (await zohoCounts()).refreshes;
    await page.reload();
    await expect.poll(() => page.locator('#b-login').isVisible()).toBe(true);
    expect(await page.locator('#b-error').textContent()).toContain('log in again');
    expect(await page.locator('#b-raw tbody tr').count()).toBe(0);
    expect((await zohoCounts()).refreshes).toBe(refreshes);
    await shot('in-browser-expired');
  });

  it('the extension, loaded unpacked: logs in with launchWebAuthFlow, its https redirect and PKCE, and its popup lists Leads', async () => {
    const extension = resolve('demo/extension');
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'ets-ext-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, `--disable-extensions-except=${extension}`, `--load-extension=${extension}`],
    });
    try {
      const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
      const id = new URL(worker.url()).host;
      const popup = await context.newPage();
      await popup.goto(`chrome-extension://${id}/popup.html`);
      await expect.poll(() => popup.locator('#login').isVisible()).toBe(true);
      // chrome.identity.launchWebAuthFlow opens Zoho's sign-in in a window of its own.
      const [consent] = await Promise.all([context.waitForEvent('page'), popup.click('#login')]);
      await expect.poll(() => consent.url()).toMatch(new RegExp(`^${ZOHO}/oauth/v2/auth\\?`));
      const asked = new URL(consent.url()).searchParams;
      expect(asked.get('redirect_uri')).toBe(`https://${id}.chromiumapp.org/`);
      expect(asked.get('code_challenge_method')).toBe('S256');
      expect(asked.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await consent.click('#accept');
      // Chrome catches the chromiumapp.org redirect; the service worker exchanges the code with its verifier.
      await expect.poll(() => popup.locator('#status').textContent()).toContain('Logged in as ana@example.com:7001');
      await expect.poll(() => popup.locator('#leads li').count()).toBeGreaterThan(0);
      expect(await popup.locator('#leads').textContent()).toContain('Lovelace');
      await popup.screenshot({ path: `${SHOTS}/${String(++step).padStart(2, '0')}-extension-popup.png` });
      const raw = await rawIndexedDB(popup, 'zoho-tokens');
      expect(raw).toContain('"data":"v2.');
      for (const clear of ['1000.access.', '1000.refresh.', 'ana@example.com']) expect(raw).not.toContain(clear);
    } finally {
      await context.close();
    }
  });
});
