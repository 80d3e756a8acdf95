// An MCP client as a person uses one, for tests in workerd and Node: the MCP SDK's Client and
// its OAuth (registration, PKCE, tokens kept in memory), and a browser visit that follows the
// Worker's redirects with a cookie jar and accepts at the local Zoho's consent.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

export const MCP_REDIRECT = 'http://localhost:8976/callback';

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What an MCP client keeps: its registration, its tokens, the PKCE verifier; the authorization URL it would open. */
export class MemoryAuth implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  opened: URL | null = null;
  get redirectUrl() {
    return MCP_REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'a test MCP client',
      redirect_uris: [MCP_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
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

export interface McpWorld {
  /** The Worker's origin (its /mcp, /authorize, the Zoho login). */
  app: string;
  /** Reaches the Worker. */
  fetchApp: FetchLike;
  /** The person's Accept at the local Zoho: the redirect back to the Worker. */
  consent: (consentUrl: string, email: string) => Promise<string>;
}

const unescapeHtml = (text: string) => text.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

/**
 * A browser's visit from the authorization URL to the MCP client's redirect URI: the redirect
 * it lands on (`?code=`, or `?error=`). The Worker's consent page (a form with a signed
 * `ticket`) is answered with `decision`.
 */
export async function visitAuthorization(
  world: McpWorld,
  start: URL,
  email: string,
  decision: 'allow' | 'deny' = 'allow',
  jar = new Map<string, string>(),
): Promise<URL> {
  let url = start.toString();
  let form: { action: string; body: URLSearchParams } | null = null;
  for (let hop = 0; hop < 12; hop++) {
    if (url.startsWith(MCP_REDIRECT)) return new URL(url);
    if (!url.startsWith(world.app)) {
      url = await world.consent(url, email);
      continue;
    }
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response: Response = form
      ? await world.fetchApp(new URL(form.action, url).toString(), {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: form.body,
          redirect: 'manual',
        })
      : await world.fetchApp(url, { headers: { cookie }, redirect: 'manual' });
    form = null;
    for (const line of response.headers.getSetCookie()) {
      const [name, value] = line.split(';')[0]!.split(/=(.*)/s);
      if (value) jar.set(name!, value);
      else jar.delete(name!);
    }
    const location = response.headers.get('location');
    if (location) {
      url = new URL(location, url).toString();
      continue;
    }
    const page: string = await response.text();
    const ticket = /name="ticket" value="([^"]+)"/.exec(page)?.[1];
    const action: string | undefined = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (response.status !== 200 || !ticket || !action) throw new Error(`the authorization stopped at ${url}: ${response.status} ${page.slice(0, 200)}`);
    form = { action: unescapeHtml(action), body: new URLSearchParams({ ticket: unescapeHtml(ticket), decision }) };
  }
  throw new Error('too many redirects');
}

/** The same visit, for a person who allows: the code. */
export async function authorizeInBrowser(world: McpWorld, start: URL, email: string): Promise<string> {
  const back = await visitAuthorization(world, start, email);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.search}`);
  return code;
}

/** What the client does before the browser opens: registers and builds the authorization URL (without a token, its first request fails with 401). */
export async function startAuthorization(world: McpWorld, auth: MemoryAuth): Promise<URL> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${world.app}/mcp`), { authProvider: auth, fetch: world.fetchApp })).catch(() => undefined);
  if (!auth.opened) throw new Error('the client did not start an authorization');
  return auth.opened;
}

/** A connected MCP client for `email`: registered and authorized on first use. */
export async function connectedClient(world: McpWorld, auth: MemoryAuth, email: string): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  const transport = () => new StreamableHTTPClientTransport(new URL(`${world.app}/mcp`), { authProvider: auth, fetch: world.fetchApp });
  try {
    await client.connect(transport());
    return client;
  } catch (error) {
    if (!auth.opened) throw error;
  }
  const second = transport();
  await second.finishAuth(await authorizeInBrowser(world, auth.opened, email));
  await client.connect(second);
  return client;
}

/** A tool result's text. */
export const textOf = (result: Awaited<ReturnType<Client['callTool']>>) => (result.content as { type: string; text: string }[])[0]!.text;

/**
 * A tools/call as an MCP client posts it with a grant's access token (JSON-RPC over the
 * streamable HTTP transport), for tests that look at the raw HTTP answer.
 */
export function toolCall(accessToken: string, name: string, args: Record<string, unknown>): RequestInit {
  return {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  };
}
