/**
 * The MCP server at /mcp, driven by the MCP TypeScript SDK's own client with its OAuth support:
 * registration, authorization through the Worker's Zoho login and the local Zoho's consent,
 * the CRM tools as the user; the grant's props name the user's token, never a Zoho token; a
 * revoke at Zoho revokes the MCP grant and the client gets 401.
 */
import { createExecutionContext, env, SELF } from 'cloudflare:test';
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';
import { describe, expect, it } from 'vitest';
import { createZohoMcp } from '../../src/mcp/index.ts';
import worker from '../../worker/index.ts';
import { connectedClient, MCP_REDIRECT, MemoryAuth, startAuthorization, textOf, visitAuthorization, type McpWorld } from '../shared/mcp-client.ts';
import { admin, client as zohoClient, usageOf, ZOHO } from './local-zoho.ts';
import { APP, userNameOf, userStore } from './worker-client.ts';

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
    const created = await client.callTool({ name: 'create_record', arguments: { module: 'Contacts', record: { Last_Name: 'Curie', Email: 'marie@example.com' } } });
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

  it("two clients of one user calling at once after the access token died at Zoho make one refresh in all, and every call succeeds", async () => {
    const email = 'user4@org31.example';
    const [one, two] = [new MemoryAuth(), new MemoryAuth()];
    const clients = [await connected(one, email), await connected(two, email)];
    const token = (await (await userStore(userNameOf(email))).findToken({ userName: userNameOf(email) }))!;
    // Zoho forgets the access token (revoked there); the user's object still holds it.
    await fetch(`${ZOHO}/oauth/v2/token/revoke?token=${encodeURIComponent(token.accessToken!)}`, { method: 'POST' });
    const before = await usageOf(token.refreshToken!);
    const calls = clients.flatMap((client) => [1, 2, 3].map(() => client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })));
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
      headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
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
    const response = await SELF.fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } } }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token', error_description: expect.stringMatching(/Zoho no longer accepts/) });
    // The grant is revoked: the provider itself refuses its access token now (it never reaches the MCP server).
    const again = await SELF.fetch(`${APP}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${auth.saved!.access_token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(again.status).toBe(401);
    expect(JSON.stringify(await again.json())).not.toMatch(/Zoho no longer accepts/);
    // And its refresh token gets no new access token.
    const refreshed = await SELF.fetch(`${APP}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.saved!.refresh_token!, client_id: String(auth.info!.client_id) }) });
    expect(refreshed.status).toBe(400);
  });
});

describe('createZohoMcp({ consentPage: true }): a page of ours names the client before the Zoho login', () => {
  const consentWorld = (): McpWorld => {
    const mcp = createZohoMcp({ name: 'with-consent', consentPage: true });
    const provider = new OAuthProvider({
      apiRoute: '/mcp',
      apiHandler: mcp.apiHandler as never,
      defaultHandler: { fetch: async (request: Request, e: never, ctx: ExecutionContext) => (await mcp.authorize(request, e)) ?? worker.fetch(request, e, ctx) } as never,
      authorizeEndpoint: '/authorize',
      tokenEndpoint: '/token',
      clientRegistrationEndpoint: '/register',
      resourceMetadata: { resource: `${APP}/mcp` },
    });
    return { ...world, fetchApp: (input, init) => provider.fetch(input instanceof Request ? input : new Request(input, init), env, createExecutionContext()) };
  };

  it('Allow: the page names the client and its redirect URI, then the login goes on to a grant', async () => {
    const w = consentWorld();
    const auth = new MemoryAuth();
    const client = await connectedClient(w, auth, 'user5@org31.example');
    expect((await client.callTool({ name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } })).isError).toBeFalsy();
    const page = await (await w.fetchApp((await startAuthorization(w, new MemoryAuth())).toString())).text();
    expect(page).toContain('a test MCP client');
    expect(page).toContain(MCP_REDIRECT);
  });

  it('Deny: back to the client with access_denied, and no Zoho login is started', async () => {
    const w = consentWorld();
    const back = await visitAuthorization(w, await startAuthorization(w, new MemoryAuth()), 'user6@org31.example', 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    // This user never reached Zoho: no refresh token was ever issued to them.
    expect(await admin('counts', { email: 'user6@org31.example' })).toEqual({ liveRefreshTokens: 0 });
  });
});
