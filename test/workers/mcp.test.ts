/**
 * The MCP server at /mcp, driven by the MCP TypeScript SDK's own client with its OAuth support:
 * registration, authorization through the Worker's Zoho login and the local Zoho's consent,
 * the CRM tools as the user; the grant's props name the user's token, never a Zoho token; a
 * revoke at Zoho revokes the MCP grant and the client gets 401.
 */
import { createExecutionContext, env, SELF } from 'cloudflare:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { createZohoMcp } from '../../src/mcp/index.ts';
import { createZohoHandler } from '../../src/worker/index.ts';
import { connectedClient, MCP_REDIRECT, MemoryAuth, startAuthorization, textOf, toolCall, visitAuthorization, type McpWorld } from '../shared/mcp-client.ts';
import { admin, client as zohoClient, usageOf, ZOHO } from './local-zoho.ts';
import { APP, loginAs, userNameOf, userStore } from './worker-client.ts';

const world: McpWorld = {
  app: APP,
  fetchApp: (input, init) => SELF.fetch(input instanceof Request ? input : new Request(input, init)),
  consent: async (url, email) => ((await admin('consent', { url, email })) as { location: string }).location,
};
const connected = (auth: MemoryAuth, email: string) => connectedClient(world, auth, email);

describe('the MCP server at /mcp, through the MCP SDK client', () => {
  it('registers, authorizes through the Zoho login, lists the four tools and calls them as the user', async () => {
    const auth = new MemoryAuth();
    const client = await connected(auth, 'user1@org31.example');
    expect(auth.info?.client_id).toBeTruthy();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_record', 'get_record', 'list_records', 'search_records']);
    const created = await client.callTool({
      name: 'create_record',
      arguments: { module: 'Contacts', record: { Last_Name: 'Curie', Email: 'marie@example.com' } },
    });
    expect(created.isError).toBeFalsy();
    const id = (JSON.parse(textOf(created)) as { data: { details: { id: string } }[] }).data[0]!.details.id;
    const found = await client.callTool({ name: 'search_records', arguments: { module: 'Contacts', email: 'marie@example.com' } });
    expect((JSON.parse(textOf(found)) as { data: { id: string }[] }).data.map((r) => r.id)).toEqual([id]);
    const got = await client.callTool({ name: 'get_record', arguments: { module: 'Contacts', id } });
    expect(JSON.parse(textOf(got)).data[0]).toMatchObject({ Last_Name: 'Curie' });
    // The tools answer Zoho's data, never a token.
    for (const answer of [created, found, got]) expect(textOf(answer)).not.toMatch(/1000\.(access|refresh)\./);
    const wrong = await client.callTool({ name: 'list_records', arguments: { module: 'Nothing', fields: 'Last_Name' } });
    expect([wrong.isError, textOf(wrong)]).toEqual([true, expect.stringMatching(/INVALID_MODULE.*API name/)]);
  });

  it("keeps no Zoho token, refresh token or client secret in the grants' props or anywhere in the provider's KV", async () => {
    const auth = new MemoryAuth();
    const client = await connected(auth, 'user2@org31.example');
    await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } });
    const { keys } = await env.OAUTH_KV.list();
    expect(keys.length).toBeGreaterThan(0);
    const stored = (await Promise.all(keys.map((k) => env.OAUTH_KV.get(k.name)))).join('\n');
    expect(stored).not.toMatch(/1000\.(access|refresh)\./);
    expect(stored).not.toContain(zohoClient.clientSecret);
  });

  it('two clients of one user calling at once after the access token died at Zoho make one refresh in all, and every call succeeds', async () => {
    const email = 'user4@org31.example';
    const [one, two] = [new MemoryAuth(), new MemoryAuth()];
    const clients = [await connected(one, email), await connected(two, email)];
    const token = (await (await userStore(userNameOf(email))).findToken({ userName: userNameOf(email) }))!;
    // Zoho forgets the access token (revoked there); the user's object still holds it.
    await fetch(`${ZOHO}/oauth/v2/token/revoke?token=${encodeURIComponent(token.accessToken!)}`, { method: 'POST' });
    const before = await usageOf(token.refreshToken!);
    const calls = clients.flatMap((client) =>
      [1, 2, 3].map(() => client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.isError ?? false)).toEqual([false, false, false, false, false, false]);
    expect((await usageOf(token.refreshToken!)).refreshes - before.refreshes).toBe(1);
  });

  it("Zoho's transient faults reach the tool as errors that say how long to wait, and leave the grant alone", async () => {
    const email = 'user7@org31.example';
    const auth = new MemoryAuth();
    const client = await connected(auth, email);
    const token = (await (await userStore(userNameOf(email))).findToken({ userName: userNameOf(email) }))!;
    // The access token gone at Zoho and its accounts server failing: the refresh cannot succeed yet.
    await admin('fail', { refresh_token: token.refreshToken!, status: '503' });
    await fetch(`${ZOHO}/oauth/v2/token/revoke?token=${encodeURIComponent(token.accessToken!)}`, { method: 'POST' });
    const busy = await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } });
    expect([busy.isError, textOf(busy)]).toEqual([true, expect.stringMatching(/^Zoho asks to wait: retry after \d+ seconds\.$/)]);
    expect(textOf(busy)).not.toContain(token.refreshToken!);
    await admin('recover', { refresh_token: token.refreshToken! });
    // The grant was not revoked: its access token still opens /mcp (HTTP 200, whatever the tool answers during the back-off).
    const still = await SELF.fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${auth.saved!.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(still.status).toBe(200);
  });

  it('a revoke at Zoho: the next tool call answers 401 and the MCP grant is gone', async () => {
    const auth = new MemoryAuth();
    const email = 'user3@org31.example';
    const client = await connected(auth, email);
    expect((await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })).isError).toBeFalsy();
    await admin('revoke-user', { email, client_id: zohoClient.clientId });
    const response = await SELF.fetch(`${APP}/mcp`, toolCall(auth.saved!.access_token, 'list_records', { module: 'Leads', fields: 'Last_Name' }));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token', error_description: expect.stringMatching(/Zoho no longer accepts/) });
    // The grant is revoked: the provider itself refuses its access token now (it never reaches the MCP server).
    const again = await SELF.fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(again.status).toBe(401);
    expect(JSON.stringify(await again.json())).not.toMatch(/Zoho no longer accepts/);
    // And its refresh token gets no new access token.
    const refreshed = await SELF.fetch(`${APP}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.saved!.refresh_token!, client_id: String(auth.info!.client_id) }),
    });
    expect(refreshed.status).toBe(400);
  });
});

/** The redirects of a browser with `jar` from `url`, stopping at the first answer that is not a redirect on this Worker. */
async function browse(url: string, jar: Map<string, string>, init: RequestInit = {}): Promise<Response> {
  for (let hop = 0; hop < 8; hop++) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await SELF.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), cookie }, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [name, value] = line.split(';')[0]!.split(/=(.*)/s);
      if (value) jar.set(name!, value);
      else jar.delete(name!);
    }
    const location = response.headers.get('location');
    if (!location || !new URL(location, url).toString().startsWith(APP)) return response;
    url = new URL(location, url).toString();
    init = {};
  }
  throw new Error('too many redirects');
}

const ticketOf = (page: string) => /name="ticket" value="([^"]+)"/.exec(page)![1]!.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
const sha256Hex = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('');
const post = (ticket: string, decision: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers },
  body: new URLSearchParams({ ticket, decision }).toString(),
});

describe('our consent page before every MCP grant, bound to the browser', () => {
  it('names the client, where its answer goes and the access asked; showing it stores nothing', async () => {
    const before = (await env.OAUTH_KV.list({ prefix: 'transaction:' })).keys.length;
    const page = await SELF.fetch((await startAuthorization(world, new MemoryAuth())).toString());
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('a test MCP client');
    expect(html).toContain(new URL(MCP_REDIRECT).origin);
    expect(html).toMatch(/read records.*create records/s);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await env.OAUTH_KV.list({ prefix: 'transaction:' })).keys.length).toBe(before);
  });

  it("escapes the client's registered name", async () => {
    const auth = new MemoryAuth();
    Object.defineProperty(auth, 'clientMetadata', { get: () => ({ ...new MemoryAuth().clientMetadata, client_name: '<img src=x onerror=alert(1)>' }) });
    const html = await (await SELF.fetch((await startAuthorization(world, auth)).toString())).text();
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&#60;img src=x');
  });

  it('Deny: back to the client with access_denied and its state, and no Zoho login is started', async () => {
    const start = await startAuthorization(world, new MemoryAuth());
    const back = await visitAuthorization(world, start, 'user6@org31.example', 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(start.searchParams.get('state'));
    expect(await admin('counts', { email: 'user6@org31.example' })).toEqual({ liveRefreshTokens: 0 });
  });

  it('a client that asked for crm.read alone gets a grant that reads and cannot create', async () => {
    const auth = new MemoryAuth();
    const start = await startAuthorization(world, auth);
    start.searchParams.set('scope', 'crm.read');
    const code = (await visitAuthorization(world, start, 'user8@org31.example')).searchParams.get('code')!;
    const transport = new StreamableHTTPClientTransport(new URL(`${APP}/mcp`), { authProvider: auth, fetch: world.fetchApp });
    await transport.finishAuth(code);
    const client = new Client({ name: 'read-only', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['get_record', 'list_records', 'search_records']);
    expect((await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })).isError).toBeFalsy();
    const write = await client.callTool({ name: 'create_record', arguments: { module: 'Leads', record: { Last_Name: 'X' } } });
    expect(write.isError).toBe(true);
  });

  it('a consent form posted from another site, or replayed from another browser, or after a look-alike cookie, decides nothing', async () => {
    const jar = new Map<string, string>();
    const page = await browse((await startAuthorization(world, new MemoryAuth())).toString(), jar);
    const ticket = ticketOf(await page.text());
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const consent = `${APP}/authorize/consent`;
    // Another site's form.
    const crossSite = await SELF.fetch(consent, { ...post(ticket, 'allow', { cookie, 'sec-fetch-site': 'cross-site' }), redirect: 'manual' });
    expect(crossSite.status).toBe(403);
    // Another browser (its own binding cookie, or none).
    const otherJar = new Map<string, string>();
    await browse((await startAuthorization(world, new MemoryAuth())).toString(), otherJar);
    for (const other of [[...otherJar].map(([k, v]) => `${k}=${v}`).join('; '), '']) {
      const replayed = await SELF.fetch(consent, { ...post(ticket, 'allow', { cookie: other }), redirect: 'manual' });
      expect([replayed.status, replayed.headers.get('location')]).toEqual([400, null]);
    }
    // The right cookie with a look-alike of it beside it (a sibling subdomain's toss).
    const tossed = await SELF.fetch(consent, {
      ...post(ticket, 'allow', { cookie: `${cookie}; \u00a0__Host-ets-mcp=${otherJar.get('__Host-ets-mcp')}` }),
      redirect: 'manual',
    });
    expect(tossed.status).toBe(400);
    // An oversized form is not read.
    const huge = await SELF.fetch(consent, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `ticket=${'a'.repeat(40_000)}`,
      redirect: 'manual',
    });
    expect(huge.status).toBe(413);
    // The genuine post still works: Allow goes on to the Zoho login.
    const allowed = await SELF.fetch(consent, { ...post(ticket, 'allow', { cookie }), redirect: 'manual' });
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get('location')).toMatch(/^\/auth\/login\?return_to=%2Fauthorize%2Fdone/);
  });

  it("a logged-in victim sent to an attacker's pending authorization with tossed look-alike binding cookies gets no grant", async () => {
    const victim = await loginAs('user9@org31.example');
    // The attacker allows their own authorization in their own browser and keeps its state.
    const attackerJar = new Map<string, string>();
    const attackerAuth = new MemoryAuth();
    const page = await browse((await startAuthorization(world, attackerAuth)).toString(), attackerJar);
    const allowed = await SELF.fetch(`${APP}/authorize/consent`, {
      ...post(ticketOf(await page.text()), 'allow', { cookie: [...attackerJar].map(([k, v]) => `${k}=${v}`).join('; ') }),
      redirect: 'manual',
    });
    const done = new URL(decodeURIComponent(new URL(allowed.headers.get('location')!, APP).searchParams.get('return_to')!), APP);
    const state = done.searchParams.get('state')!;
    const hash = await sha256Hex(state);
    // The victim's browser holds their session and look-alikes (U+00A0 before the name) of the provider's binding cookie and of ours.
    const tossed = [
      victim.cookie,
      `\u00a0__Host-oauth-upstream-${hash.slice(0, 16)}=${hash}`,
      `\u00a0__Host-ets-mcp=${attackerJar.get('__Host-ets-mcp')}`,
    ].join('; ');
    const response = await SELF.fetch(done.toString(), { headers: { cookie: tossed }, redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toMatch(/not allowed in this browser/);
    // No grant for the attacker's client on the victim.
    const grants = await env.OAUTH_KV.list({ prefix: 'grant:' });
    const clientId = String(attackerAuth.info!.client_id);
    const theirs = await Promise.all(grants.keys.map(async (k) => JSON.parse((await env.OAUTH_KV.get(k.name))!) as { clientId: string }));
    expect(theirs.filter((g) => g.clientId === clientId)).toEqual([]);
  });

  it("errors at /authorize are pages of ours, never a redirect to the client's URI", async () => {
    const start = await startAuthorization(world, new MemoryAuth());
    start.searchParams.set('response_type', 'token');
    const response = await SELF.fetch(start.toString(), { redirect: 'manual' });
    expect(response.headers.get('location')).toBeNull();
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
  });
});

describe("a user's MCP grants: listed, ended by them, and a dead login ends only its own", () => {
  it('lists the grants of the logged-in user and ends one; another site cannot list or end them', async () => {
    const email = 'user10@org31.example';
    const auth = new MemoryAuth();
    await connected(auth, email);
    const { cookie } = await loginAs(email);
    const listed = await SELF.fetch(`${APP}/authorize/grants`, { headers: { cookie } });
    const { grants } = (await listed.json()) as { grants: { id: string; clientName: string; scope: string[]; currentLogin: boolean }[] };
    expect(grants.map((g) => [g.clientName, g.scope])).toEqual([['a test MCP client', ['crm.read', 'crm.write']]]);
    const crossSite = await SELF.fetch(`${APP}/authorize/grants`, { headers: { cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } });
    expect(crossSite.status).toBe(403);
    const end = (headers: Record<string, string>) =>
      SELF.fetch(`${APP}/authorize/grants/revoke`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: `id=${grants[0]!.id}`,
      });
    expect((await end({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status).toBe(403);
    expect((await end({ 'sec-fetch-site': 'same-origin' })).status).toBe(204);
    expect(((await (await SELF.fetch(`${APP}/authorize/grants`, { headers: { cookie } })).json()) as { grants: unknown[] }).grants).toEqual([]);
    const again = await SELF.fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(again.status).toBe(401);
    expect((await SELF.fetch(`${APP}/authorize/grants`)).status).toBe(401);
  });

  it("a stale grant's first call ends the grants of its own login only, not those made since on a new login", async () => {
    const email = 'user11@org31.example';
    const [old, fresh] = [new MemoryAuth(), new MemoryAuth()];
    await connected(old, email);
    const { cookie } = await loginAs(email);
    // Zoho drops the login; a browser call finds out and the user's object lets the token go.
    await admin('revoke-user', { email, client_id: zohoClient.clientId });
    expect((await SELF.fetch(`${APP}/crm/v8/org`, { headers: { cookie } })).status).toBe(401);
    // The user logs in again and authorizes a second client, on the new login.
    const second = await connected(fresh, email);
    const { cookie: now } = await loginAs(email);
    const listed = (await (await SELF.fetch(`${APP}/authorize/grants`, { headers: { cookie: now } })).json()) as { grants: { currentLogin: boolean }[] };
    expect(listed.grants.map((g) => g.currentLogin).sort()).toEqual([false, true]);
    const oldCall = await SELF.fetch(`${APP}/mcp`, toolCall(old.saved!.access_token, 'list_records', { module: 'Leads', fields: 'Last_Name' }));
    expect(oldCall.status).toBe(401);
    // The grant on the new login lives on.
    expect((await second.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })).isError).toBeFalsy();
    const after = (await (await SELF.fetch(`${APP}/authorize/grants`, { headers: { cookie: now } })).json()) as { grants: { currentLogin: boolean }[] };
    expect(after.grants.map((g) => g.currentLogin)).toEqual([true]);
  });
});

describe('what anyone may send before they are anyone: bounded registrations, a rate per address', () => {
  const register = (body: string, address?: string) =>
    SELF.fetch(`${APP}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(address ? { 'cf-connecting-ip': address } : {}) },
      body,
    });
  const client = (extra: Record<string, unknown> = {}) => JSON.stringify({ ...new MemoryAuth().clientMetadata, ...extra });

  it('refuses a registration of more than 8 KiB, a long name, long lists and nested values, and stores none of them', async () => {
    const before = (await env.OAUTH_KV.list({ prefix: 'client:' })).keys.length;
    const refused = [
      await register(client({ client_name: 'x'.repeat(700_000) })),
      await register(client({ client_name: 'x'.repeat(101) })),
      await register(client({ redirect_uris: Array.from({ length: 11 }, (_, i) => `http://localhost:${9000 + i}/cb`) })),
      await register(client({ contacts: [{ nested: true }] })),
      await register('not json'),
    ];
    expect(refused.map((r) => r.status)).toEqual([413, 400, 400, 400, 400]);
    expect((await refused[1]!.json()) as object).toMatchObject({ error: 'invalid_client_metadata' });
    expect((await env.OAUTH_KV.list({ prefix: 'client:' })).keys.length).toBe(before);
    expect((await register(client())).status).toBe(201);
  });

  it('an address gets 30 registrations a minute, then 429; another address is not held back', async () => {
    // The limiter counts in fixed one-minute windows: a window may end during the burst, so the
    // first 429 comes after 30 registrations, or after at most 60 when the count restarted once.
    const statuses: number[] = [];
    while (statuses.length < 70 && !statuses.includes(429)) statuses.push((await register(client(), '203.0.113.9')).status);
    const accepted = statuses.indexOf(429);
    expect(accepted).toBeGreaterThanOrEqual(30);
    expect(accepted).toBeLessThanOrEqual(60);
    expect(statuses.slice(0, accepted).every((s) => s === 201)).toBe(true);
    expect((await register(client(), '203.0.113.10')).status).toBe(201);
  });
});

describe('createZohoMcp over a handler at basePath "/"', () => {
  it('sends the login to /auth/login on this origin, not to a host named "auth"', async () => {
    const zoho = createZohoHandler({ basePath: '/' });
    const mcp = createZohoMcp({ handler: zoho, resource: `${APP}/mcp` });
    const fetchApp = async (input: string | URL | Request, init?: RequestInit) =>
      (await mcp.route(input instanceof Request ? input : new Request(input, init), env, createExecutionContext())) ??
      (await zoho.route(new Request(input, init), env))!;
    const w: McpWorld = { ...world, fetchApp };
    const page = await fetchApp((await startAuthorization(w, new MemoryAuth())).toString());
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const allowed = await fetchApp(`${APP}/authorize/consent`, { ...post(ticketOf(await page.text()), 'allow', { cookie }), redirect: 'manual' });
    expect(allowed.headers.get('location')).toMatch(/^\/auth\/login\?return_to=/);
  });
});
