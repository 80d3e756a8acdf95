/**
 * `edge-token-store/mcp`: a Zoho CRM MCP server on Workers, behind
 * `@cloudflare/workers-oauth-provider` (the MCP client's OAuth), with this package's Zoho login
 * as the upstream, our consent page before it, and each user's tokens in their own object.
 * docs/mcp.md.
 *
 * `createZohoMcp(options).route(request, env, ctx)` answers the MCP endpoint, the provider's
 * endpoints and discovery documents, and the authorize and grant routes; null for every other
 * request, which goes on to the app (and its Zoho handler, whose login the authorization uses).
 */
import { misconfigured, TokenStoreError } from '../store/errors.ts';
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';
import type { ZohoHandler } from '../worker/router.ts';
import { handlerOptions } from '../worker/router.ts';
import { answerAuthorize, type McpEnv } from './authorize.ts';
import { MCP_SCOPES } from './consent.ts';
import { answerGrants } from './grants.ts';
import { withinLimits } from './limits.ts';
import { mcpApiHandler, type McpServerOptions } from './server.ts';

export type { McpEnv as ZohoMcpEnv } from './authorize.ts';
export type { McpScope as ZohoMcpScope } from './consent.ts';
export type { ZohoGrantProps } from './grant.ts';
export type { ZohoMcpGrant } from './grants.ts';
export type { GrantCrm } from './tools.ts';
export type { GrantState } from './grant.ts';
export type { McpServerOptions } from './server.ts';

export interface ZohoMcpOptions {
  /**
   * The Zoho handler users log in through (`createZohoHandler()` or `createZohoWorker()`): the
   * authorization goes through its login, and the tools' CRM calls follow its options (its
   * `authorizeCrm` hook, bindings, base path), exactly as its own `/crm/*` does.
   */
  handler: ZohoHandler | { fetch(request: Request, env: never, ctx?: ExecutionContext): Promise<Response> };
  /** The server's name and version, as MCP clients see them (default "zoho-crm", "1.0.0"). */
  name?: string;
  version?: string;
  /**
   * The MCP endpoint's canonical URL, `https://<your host>/mcp` (default: `env.MCP_RESOURCE_URL`;
   * with neither, `route` answers null: no MCP server). Its path is where the endpoint is served.
   */
  resource?: string;
  /** The authorization endpoint (default `/authorize`); its steps and the user's grants live under it. */
  authorizePath?: string;
  /** More tools beside the CRM tools: `crm(path, init)` calls the CRM as the grant's user, within its scopes. */
  tools?: McpServerOptions['tools'];
}

/** The provider's endpoints besides the MCP one (fixed: they appear in every client's discovery). */
const TOKEN_PATH = '/token';
const REGISTER_PATH = '/register';

const invalid = (message: string) => new TokenStoreError('INVALID_INPUT', `edge-token-store/mcp: ${message}`);

/**
 * A Zoho CRM MCP server behind workers-oauth-provider, with our consent page and the Zoho
 * login of `handler` (docs/mcp.md).
 *
 * ```ts
 * const mcp = createZohoMcp({ handler: zoho, resource: 'https://crm-mcp.example.com/mcp' });
 * // in fetch: (await mcp.route(request, env, ctx)) ?? (await zoho.route(request, env, ctx)) ?? notFound()
 * ```
 */
export function createZohoMcp(options: ZohoMcpOptions) {
  const resolved = handlerOptions(options?.handler ?? {});
  if (!resolved) throw invalid('handler must be what createZohoHandler() or createZohoWorker() returned');
  const authorizePath = options.authorizePath ?? '/authorize';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(authorizePath)) throw invalid('authorizePath must be a path such as "/authorize"');
  if (options.resource !== undefined && !URL.canParse(options.resource))
    throw invalid('resource must be the MCP endpoint URL, such as "https://crm-mcp.example.com/mcp"');
  if (options.tools !== undefined && typeof options.tools !== 'function') throw invalid('tools must be a function');
  const { name = 'zoho-crm', version = '1.0.0', resource, tools } = options;
  const apiHandler = mcpApiHandler({ name, version, ...(tools ? { tools } : {}) }, resolved);
  const defaultHandler = {
    async fetch(request: Request, env: McpEnv): Promise<Response> {
      const url = new URL(request.url);
      const answer = (await answerAuthorize(request, env, resolved, authorizePath, url)) ?? (await answerGrants(request, env, resolved, authorizePath, url));
      return answer ?? new Response('not found', { status: 404 });
    },
  };
  // One provider per isolate and resource URL (never the request's Host).
  let provider: { url: string; apiPath: string; handler: OAuthProvider<McpEnv> } | undefined;
  const providerFor = (url: string) => {
    if (provider?.url === url) return provider;
    const apiPath = new URL(url).pathname;
    const handler = new OAuthProvider<McpEnv>({
      apiRoute: apiPath,
      apiHandler: apiHandler as never,
      defaultHandler: defaultHandler as never,
      authorizeEndpoint: authorizePath,
      tokenEndpoint: TOKEN_PATH,
      clientRegistrationEndpoint: REGISTER_PATH,
      scopesSupported: Object.keys(MCP_SCOPES),
      // Clients ask for these first; one that asks for crm.read alone gets a grant that only reads.
      requiredScopes: Object.keys(MCP_SCOPES),
      resourceMetadata: { resource: url, resource_name: name },
    });
    return (provider = { url, apiPath, handler });
  };
  const endpoints = { authorize: authorizePath, token: TOKEN_PATH, register: REGISTER_PATH };
  return {
    /** The MCP server's answer to its own paths; null for every other request (and for all, when no resource URL is set). */
    async route(
      request: Request,
      env: Omit<McpEnv, 'OAUTH_PROVIDER' | 'OAUTH_KV'> & { OAUTH_KV?: KVNamespace },
      ctx: ExecutionContext,
    ): Promise<Response | null> {
      const url = resource ?? env.MCP_RESOURCE_URL;
      if (!url) return null;
      if (!env.OAUTH_KV) throw misconfigured('the MCP server needs a KV namespace bound as OAUTH_KV');
      const { apiPath, handler } = providerFor(url);
      const at = new URL(request.url);
      const path = at.pathname;
      const ours =
        path.startsWith('/.well-known/oauth-') || [apiPath, authorizePath, TOKEN_PATH, REGISTER_PATH].some((p) => path === p || path.startsWith(`${p}/`));
      if (!ours) return null;
      const checked = await withinLimits(request, env as McpEnv, at, endpoints);
      if (checked instanceof Response) return checked;
      return handler.fetch(checked, env as McpEnv, ctx);
    },
  };
}
