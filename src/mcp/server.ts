/**
 * The MCP server behind workers-oauth-provider (its `apiHandler`): a stateless streamable HTTP
 * endpoint, one server and transport per request, with the CRM tools acting as the grant's user.
 * When Zoho no longer accepts the user's login, every MCP grant of the user is revoked and the
 * client gets 401, so it authorizes again instead of retrying a dead grant.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { resolveOptions, type ZohoWorkerOptions } from '../worker/options.ts';
import type { McpEnv } from './authorize.ts';
import { grantFetch, type ZohoGrantProps } from './grant.ts';
import { registerCrmTools, type GrantCrm } from './tools.ts';

export interface McpServerOptions extends ZohoWorkerOptions {
  name: string;
  version: string;
  /** More tools, registered beside the CRM tools; `crm` calls the CRM as the grant's user. */
  tools?: (server: McpServer, crm: GrantCrm) => void;
}

/** The user object a grant's token reference names: the provider's user id for its grants. */
const userIdOf = (props: ZohoGrantProps) => props.tokenRef.split('/')[1] ?? '';

async function revokeGrants(env: McpEnv, userId: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await env.OAUTH_PROVIDER.listUserGrants(userId, cursor ? { cursor } : {});
    for (const grant of page.items) await env.OAUTH_PROVIDER.revokeGrant(grant.id, userId);
    cursor = page.cursor;
  } while (cursor);
}

export function mcpApiHandler(options: McpServerOptions) {
  // Resolved once: every tool call of every request runs with the same checked options.
  const resolved = resolveOptions(options);
  return {
    async fetch(request: Request, env: McpEnv, ctx: { props?: unknown }): Promise<Response> {
      const props = ctx.props as ZohoGrantProps | undefined;
      if (typeof props?.tokenRef !== 'string') return Response.json({ error: 'invalid_token' }, { status: 401 });
      let dead = false;
      const crm: GrantCrm = async (path, init) => {
        const result = await grantFetch(env, props, path, init ?? {}, resolved);
        if (result.outcome === 'dead') dead = true;
        return result;
      };
      const server = new McpServer({ name: options.name, version: options.version });
      registerCrmTools(server, crm);
      options.tools?.(server, crm);
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      const response = await transport.handleRequest(request);
      if (!dead) return response;
      await revokeGrants(env, userIdOf(props));
      return Response.json(
        { error: 'invalid_token', error_description: 'Zoho no longer accepts this login: authorize again' },
        { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="the Zoho login ended"' } },
      );
    },
  };
}
