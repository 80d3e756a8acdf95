// Talks to the local Zoho that vitest.config.ts runs in Node (reached through outboundService).
import { env } from 'cloudflare:workers';
import './env.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';

export const ZOHO = 'http://zoho.local';

/** The Worker's Zoho client (vitest.config.ts registers it at the local Zoho). */
export const client = { clientId: env.ZOHO_CLIENT_ID!, clientSecret: env.ZOHO_CLIENT_SECRET! };

export const admin = localZohoAdmin(ZOHO);

export async function grant(clientId: string, redirectUri: string, email = 'ana@example.com'): Promise<string> {
  const { code } = (await admin('grant', { client_id: clientId, email, redirect_uri: redirectUri })) as { code: string };
  return code;
}

/** Refresh requests Zoho received for one refresh token. */
export async function refreshesOf(refreshToken: string): Promise<number> {
  return (await usageOf(refreshToken)).refreshes;
}

/** What Zoho received on behalf of one refresh token. */
export async function usageOf(refreshToken: string): Promise<{ refreshes: number; crmCalls: number }> {
  return (await admin('counts', { refresh_token: refreshToken })) as { refreshes: number; crmCalls: number };
}

export { env };

/** What became of a code at Zoho's token endpoint: redeemed, refused, or null (never presented). */
export async function codeOutcome(code: string): Promise<'redeemed' | 'refused' | null> {
  return ((await admin('counts', { code })) as { outcome: 'redeemed' | 'refused' | null }).outcome;
}

/** How many refresh tokens Zoho holds live for one user (every client). */
export async function liveRefreshTokens(email: string): Promise<number> {
  return ((await admin('counts', { email })) as { liveRefreshTokens: number }).liveRefreshTokens;
}
