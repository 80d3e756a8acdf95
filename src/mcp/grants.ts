/**
 * A user's MCP grants, theirs to see and end: `GET <authorizePath>/grants` lists the clients
 * holding one (name, scopes, when), `POST <authorizePath>/grants/revoke` with `id` ends one.
 * Both act with the session cookie, so both refuse requests another site makes.
 */
import type { OAuthHelpers } from '@cloudflare/workers-oauth-provider';
import { configOf } from '../worker/config.ts';
import { crossSiteRefused, jsonError } from '../worker/http.ts';
import type { ResolvedOptions } from '../worker/options.ts';
import type { McpEnv } from './authorize.ts';
import { boundedForm } from './consent.ts';
import { grantPropsOf } from './grant.ts';

/** One grant as its user sees it: no token, no secret. */
export interface ZohoMcpGrant {
  id: string;
  clientId: string;
  /** The name the client registered under: its own claim. */
  clientName: string;
  scope: string[];
  /** Seconds since the epoch. */
  createdAt: number;
  expiresAt: number | null;
  /** Whether it rides on the user's current Zoho login (false: an older login's, which ends at its next call). */
  currentLogin: boolean;
}

async function grantsOf(provider: OAuthHelpers, userId: string, tokenRef: string): Promise<ZohoMcpGrant[]> {
  const grants: ZohoMcpGrant[] = [];
  let cursor: string | undefined;
  do {
    const page = await provider.listUserGrants(userId, cursor ? { cursor } : {});
    for (const grant of page.items) {
      const client = await provider.lookupClient(grant.clientId);
      grants.push({
        id: grant.id,
        clientId: grant.clientId,
        clientName: client?.clientName?.trim() || grant.clientId,
        scope: grant.scope,
        createdAt: grant.createdAt,
        expiresAt: grant.expiresAt ?? null,
        currentLogin: (grant.metadata as { tokenRef?: unknown } | null)?.tokenRef === tokenRef,
      });
    }
    cursor = page.cursor;
  } while (cursor);
  return grants.sort((a, b) => b.createdAt - a.createdAt);
}

/** Answers the two grant routes; null for any other request. */
export async function answerGrants(request: Request, env: McpEnv, options: ResolvedOptions, authorizePath: string, url: URL): Promise<Response | null> {
  const list = request.method === 'GET' && url.pathname === `${authorizePath}/grants`;
  const revoke = request.method === 'POST' && url.pathname === `${authorizePath}/grants/revoke`;
  if (!list && !revoke) return null;
  if (crossSiteRefused(request, url, configOf(env).allowedOrigins)) return jsonError(403, 'forbidden', 'not from another site');
  const user = await grantPropsOf(request, env, options);
  if (!user) return jsonError(401, 'unauthorized', 'log in first');
  const provider = env.OAUTH_PROVIDER;
  if (list) return Response.json({ grants: await grantsOf(provider, user.userId, user.props.tokenRef) }, { headers: { 'cache-control': 'no-store' } });
  const id = (await boundedForm(request))?.get('id') ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return jsonError(400, 'bad_request', 'id names one of your grants');
  // Keyed by the user: a grant of someone else's is not found under this user, so nothing happens to it.
  await provider.revokeGrant(id, user.userId);
  return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
}
