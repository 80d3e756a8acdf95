/**
 * The MCP server behind workers-oauth-provider (its `apiHandler`): a stateless streamable HTTP
 * endpoint, one server and transport per request, with the CRM tools the grant's scopes allow,
 * acting as the grant's user. When Zoho no longer accepts the login a grant rides on, the
 * grants on that login are revoked (not the user's grants on a later login) and the client
 * gets 401, so it authorizes again instead of retrying a dead grant.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { ResolvedOptions } from '../worker/options.ts';
import type { McpEnv } from './authorize.ts';
import { grantFetch, type ZohoGrantProps } from './grant.ts';
import { registerCrmTools, type GrantCrm } from './tools.ts';

export interface McpServerOptions {
  name: string;
  version: string;
  /** More tools, registered beside the CRM tools; `crm` calls the CRM as the grant's user, within its scopes. */
  tools?: (server: McpServer, crm: GrantCrm, grant: ZohoGrantProps) => void;
}

/** The user object a grant's token reference names: the provider's user id for its grants. */
const userIdOf = (props: ZohoGrantProps) => props.tokenRef.split('/')[1] ?? '';

/** Revokes the user's grants that ride on `tokenRef` (the login Zoho no longer accepts). */
async function revokeGrantsOn(env: McpEnv, props: ZohoGrantProps): Promise<void> {
  const userId = userIdOf(props);
  let cursor: string | undefined;
  const dead: string[] = [];
  do {
    const page = await env.OAUTH_PROVIDER.listUserGrants(userId, cursor ? { cursor } : {});
    for (const grant of page.items) if ((grant.metadata as { tokenRef?: unknown } | null)?.tokenRef === props.tokenRef) dead.push(grant.id);
    cursor = page.cursor;
  } while (cursor);
  for (const id of dead) await env.OAUTH_PROVIDER.revokeGrant(id, userId);
}

const isGrantProps = (props: unknown): props is ZohoGrantProps =>
  typeof (props as ZohoGrantProps | undefined)?.tokenRef === 'string' && Array.isArray((props as ZohoGrantProps).scope);

/** The MCP endpoint; its CRM calls follow `resolved`, the Zoho handler's options (its hooks and bindings). */
export function mcpApiHandler(options: McpServerOptions, resolved: ResolvedOptions) {
  return {
    async fetch(request: Request, env: McpEnv, ctx: { props?: unknown }): Promise<Response> {
      const props = ctx.props;
      if (!isGrantProps(props)) return Response.json({ error: 'invalid_token' }, { status: 401 });
      let dead = false;
      const crm: GrantCrm = async (path, init) => {
        const result = await grantFetch(env, props, path, init ?? {}, resolved);
        if (result.grant === 'dead') dead = true;
        return result;
      };
      const server = new McpServer({ name: options.name, version: options.version });
      registerCrmTools(server, crm, props.scope);
      options.tools?.(server, crm, props);
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      const response = await transport.handleRequest(request);
      if (!dead) return response;
      await revokeGrantsOn(env, props);
      return Response.json(
        { error: 'invalid_token', error_description: 'Zoho no longer accepts this login: authorize again' },
        { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="the Zoho login ended"' } },
      );
    },
  };
}
