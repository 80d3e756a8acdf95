/**
 * The MCP server at /mcp, driven by the MCP TypeScript SDK's own client with its OAuth support:
 * registration, authorization through the Worker's Zoho login and the local Zoho's consent,
 * the CRM tools as the user; the grant's props name the user's token, never a Zoho token; a
 * revoke at Zoho revokes the MCP grant and the client gets 401.
 */
import { env, SELF } from 'cloudflare:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { describe, expect, it } from 'vitest';
import { admin, client as zohoClient, usageOf, ZOHO } from './local-zoho.ts';
import { APP, userNameOf, userStore } from './worker-client.ts';

const REDIRECT = 'http://localhost:8976/callback';

/** What an MCP client keeps: its registration, its tokens, the PKCE verifier; the authorization URL it would open. */
class MemoryAuth implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  opened: URL | null = null;
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return { client_name: 'a test MCP client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.opened = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

const workerFetch = (input: string | URL | Request, init?: RequestInit) => SELF.fetch(input instanceof Request ? input : new Request(input, init));

/** A browser's visit: follows the Worker's redirects with a cookie jar, the person accepting at the local Zoho, until the MCP client's redirect URI. */
async function authorizeInBrowser(start: URL, email: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start.toString();
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(REDIRECT)) return new URL(url).searchParams.get('code')!;
    if (!url.startsWith(APP)) {
      // Zoho's consent page: the person accepts.
      const { location } = (await admin('consent', { url, email })) as { location: string };
      url = location;
      continue;
    }
    const response = await SELF.fetch(url, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split(/=(.*)/s);
      jar.set(name!, value!);
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`the authorization stopped at ${url}: ${response.status} ${(await response.text()).slice(0, 200)}`);
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects');
}

async function connected(auth: MemoryAuth, email: string): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${APP}/mcp`), { authProvider: auth, fetch: workerFetch }));
    return client;
  } catch (error) {
    if (!auth.opened) throw error;
  }
  const transport = new StreamableHTTPClientTransport(new URL(`${APP}/mcp`), { authProvider: auth, fetch: workerFetch });
  await transport.finishAuth(await authorizeInBrowser(auth.opened, email));
  await client.connect(transport);
  return client;
}

const textOf = (result: Awaited<ReturnType<Client['callTool']>>) => (result.content as { type: string; text: string }[])[0]!.text;

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
