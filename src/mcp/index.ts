/**
 * `edge-token-store/mcp`: a Zoho CRM MCP server on Workers, behind
 * `@cloudflare/workers-oauth-provider` (the MCP client's OAuth), with this package's Zoho login
 * as the upstream and each user's tokens in their own object. docs/mcp.md.
 *
 * - `createZohoMcp(options)`: `authorize(request, env)` answers the provider's authorize step
 *   (null for other paths), `apiHandler` is the provider's `apiHandler` for the MCP endpoint.
 */
import type { ZohoWorkerOptions } from '../worker/options.ts';
import { answerAuthorize, type McpEnv } from './authorize.ts';
import { mcpApiHandler, type McpServerOptions } from './server.ts';

export type { McpEnv as ZohoMcpEnv } from './authorize.ts';

export interface ZohoMcpOptions extends ZohoWorkerOptions {
  /** The server's name and version, as MCP clients see them (default "zoho-crm", "1.0.0"). */
  name?: string;
  version?: string;
  /** The provider's `authorizeEndpoint` (default `/authorize`); its second step is `<path>/done`. */
  authorizePath?: string;
  /**
   * Show a page of ours before the Zoho login, naming the MCP client and its redirect URI, with
   * Allow and Deny (default false: straight to Zoho's consent, which names your app, not the
   * client). Turn it on when any client may register: docs/mcp.md says why.
   */
  consentPage?: boolean;
  tools?: McpServerOptions['tools'];
}

export function createZohoMcp(options: ZohoMcpOptions = {}) {
  const authorizePath = options.authorizePath ?? '/authorize';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(authorizePath)) throw new TypeError('edge-token-store/mcp: authorizePath must be a path such as "/authorize"');
  return {
    authorize: (request: Request, env: McpEnv) => answerAuthorize(request, env, { ...options, authorizePath, consentPage: options.consentPage ?? false }),
    apiHandler: mcpApiHandler({ ...options, name: options.name ?? 'zoho-crm', version: options.version ?? '1.0.0' }),
  };
}
