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
    return { client_name: 'a test MCP client', redirect_uris: [MCP_REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
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

/** A browser's visit from the authorization URL to the MCP client's redirect URI; returns the code. */
export async function authorizeInBrowser(world: McpWorld, start: URL, email: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start.toString();
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(MCP_REDIRECT)) return new URL(url).searchParams.get('code')!;
    if (!url.startsWith(world.app)) {
      url = await world.consent(url, email);
      continue;
    }
    const response = await world.fetchApp(url, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [name, value] = line.split(';')[0]!.split(/=(.*)/s);
      jar.set(name!, value!);
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`the authorization stopped at ${url}: ${response.status} ${(await response.text()).slice(0, 200)}`);
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects');
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
