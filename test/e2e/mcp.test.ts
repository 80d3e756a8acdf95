/**
 * The MCP server of `npm start` (wrangler dev, the local Zoho beside it), driven from Node by
 * the MCP SDK's client with its OAuth: it registers at /register, authorizes through the
 * Worker's Zoho login and the local Zoho's consent, calls search_records and create_record;
 * after the user's access tokens die at Zoho, two clients calling at once make one refresh in
 * all; after the user removes the app at Zoho, the next call is 401.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnStart, type RunningApp } from '../../scripts/spawn-start.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium, type Browser } from 'playwright-core';
import { chromiumOrThrow } from '../../scripts/chromium.ts';
import { connectedClient, MCP_REDIRECT, MemoryAuth, startAuthorization, textOf, toolCall, type McpWorld } from '../shared/mcp-client.ts';

const PORT = 18797;
const ZOHO_PORT = 18798;
const APP = `http://127.0.0.1:${PORT}`;
const admin = localZohoAdmin(`http://127.0.0.1:${ZOHO_PORT}`, () => app!.adminToken);
/** The Worker's client at the local Zoho under npm start (scripts/start.ts). */
const CLIENT_ID = '1000.LOCALDEV';
let app: RunningApp | undefined;

const world: McpWorld = {
  app: APP,
  fetchApp: (input, init) => fetch(input, init),
  consent: async (url, email) => (await admin<{ location: string }>('consent', { url, email })).location,
};

beforeAll(async () => {
  app = await spawnStart({ port: PORT, zohoPort: ZOHO_PORT, stateDir: mkdtempSync(join(tmpdir(), 'ets-mcp-')), readyWithinMs: 150_000 });
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

const SHOTS = 'test-output/e2e';
let browser: Browser | undefined;

describe('our consent page in Chromium, through npm start', () => {
  /** A browser at the authorization URL an MCP client opens, its redirect URI answered in place (the client's local listener). */
  async function openAuthorization(auth: MemoryAuth) {
    browser ??= await chromium.launch({
      executablePath: chromiumOrThrow(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const context = await browser.newContext();
    await context.route(`${MCP_REDIRECT}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'the MCP client has the answer' }));
    const page = await context.newPage();
    await page.goto((await startAuthorization(world, auth)).toString());
    return { page, context };
  }

  it('Allow: the page names the client and the access, then the Zoho login, then the client gets a code that works', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const auth = new MemoryAuth();
    const { page, context } = await openAuthorization(auth);
    expect(await page.locator('#client-name').textContent()).toBe('a test MCP client');
    expect(await page.locator('#redirect-origin').textContent()).toBe(new URL(MCP_REDIRECT).origin);
    expect(await page.locator('#access').textContent()).toMatch(/read records.*create records/);
    await page.screenshot({ path: `${SHOTS}/mcp-consent.png`, fullPage: true });
    await page.click('button[value=allow]');
    await expect.poll(() => page.url()).toMatch(new RegExp(`^http://127.0.0.1:${ZOHO_PORT}/oauth/v2/auth\\?`));
    await page.selectOption('select[name=email]', 'bo@example.com');
    await page.click('#accept');
    await expect.poll(() => page.url()).toMatch(new RegExp(`^${MCP_REDIRECT}\\?code=`));
    const code = new URL(page.url()).searchParams.get('code')!;
    const transport = new StreamableHTTPClientTransport(new URL(`${APP}/mcp`), { authProvider: auth });
    await transport.finishAuth(code);
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    expect((await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })).isError).toBeFalsy();
    await client.close();
    // The same browser, logged in by that login: the demo page lists the client, and ends its access.
    await page.goto(APP);
    await expect.poll(() => page.locator('#grants tbody tr').count()).toBe(1);
    expect(await page.locator('#grants tbody').textContent()).toContain('a test MCP clientread and create records');
    await page.screenshot({ path: `${SHOTS}/mcp-grants.png`, fullPage: true });
    await page.click('#grants tbody button');
    await expect.poll(() => page.locator('#no-grants').isVisible()).toBe(true);
    const ended = await fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ended.status).toBe(401);
    await context.close();
  });

  it('Deny: back to the client with access_denied, and Zoho never sees the browser', async () => {
    const { page, context } = await openAuthorization(new MemoryAuth());
    const before = await admin<{ grantsIssued: number }>('counts', { client_id: CLIENT_ID });
    await page.click('button[value=deny]');
    await expect.poll(() => page.url()).toMatch(new RegExp(`^${MCP_REDIRECT}\\?`));
    expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');
    // The URL changes when the navigation commits; the screenshot waits for the client's page itself.
    await page.getByText('the MCP client has the answer').waitFor();
    await page.screenshot({ path: `${SHOTS}/mcp-denied.png` });
    expect((await admin<{ grantsIssued: number }>('counts', { client_id: CLIENT_ID })).grantsIssued).toBe(before.grantsIssued);
    await context.close();
  });
});

describe('npm start serves a Zoho CRM MCP server at /mcp', () => {
  const email = 'user1@org41.example';
  const [one, two] = [new MemoryAuth(), new MemoryAuth()];

  it('an MCP client registers, authorizes as a local Zoho user, and searches and creates records', async () => {
    const client = await connectedClient(world, one, email);
    const created = await client.callTool({
      name: 'create_record',
      arguments: { module: 'Leads', record: { Last_Name: 'Lovelace', Email: 'ada@example.com' } },
    });
    expect(created.isError).toBeFalsy();
    const found = await client.callTool({ name: 'search_records', arguments: { module: 'Leads', email: 'ada@example.com' } });
    expect(JSON.parse(textOf(found)).data[0]).toMatchObject({ Last_Name: 'Lovelace' });
    await client.close();
  });

  it('after the access tokens die at Zoho, two clients of the user calling at once make one refresh in all', async () => {
    const clients = [await connectedClient(world, one, email), await connectedClient(world, two, email)];
    // Zoho's clock past the hour: every access token it issued has expired there; the Worker does not know yet.
    await admin('advance', { ms: String(61 * 60_000) });
    const before = await admin<{ refreshes: number }>('counts', { client_id: CLIENT_ID });
    const results = await Promise.all(
      clients.flatMap((c) => [1, 2].map(() => c.callTool({ name: 'search_records', arguments: { module: 'Leads', word: 'Lovelace' } }))),
    );
    expect(results.map((r) => r.isError ?? false)).toEqual([false, false, false, false]);
    expect((await admin<{ refreshes: number }>('counts', { client_id: CLIENT_ID })).refreshes - before.refreshes).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
  });

  it("after the user removes the app's access at Zoho, the next call is 401", async () => {
    await admin('revoke-user', { email, client_id: CLIENT_ID });
    const response = await fetch(`${APP}/mcp`, toolCall(one.saved!.access_token, 'search_records', { module: 'Leads', word: 'Lovelace' }));
    expect(response.status).toBe(401);
  });
});
