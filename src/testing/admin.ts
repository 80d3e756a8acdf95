// The local Zoho's test controls over HTTP, under /__admin/ (for serveLocalZoho, the
// `edge-token-store local-zoho` command, workerd tests and tests in any language): each route
// calls the typed method of the same name on LocalZoho. Reads are GET, changes are POST.
import type { LocalZohoClientType } from './model.ts';
import type { LocalZohoGrant } from './options.ts';
import { json } from './model.ts';

/** What the routes call: LocalZoho's public controls. */
interface Controls {
  counts(): unknown;
  countsFor(clientId: string): unknown;
  countsAt(dataCenter: string): unknown;
  sinkHits(): number;
  advance(ms: number): number;
  now(): number;
  usageOf(refreshToken: string): unknown;
  codeOutcome(code: string): unknown;
  liveRefreshTokensOf(email: string): number;
  resetCounts(clientId?: string): void;
  addClient(client: { clientId: string; clientSecret?: string; type?: LocalZohoClientType; redirectUris?: string[]; jsDomains?: string[] }): void;
  failRefreshes(refreshToken: string, status?: number): void;
  recoverRefreshes(refreshToken: string): void;
  redirectPath(url: string, to: string | null): void;
  setPkce(mode: 'check' | 'ignore-server', email?: string): void;
  setAccessTokenSeconds(email: string, seconds: number): void;
  throttleRevokes(on: boolean): void;
  issueGrant(grant: LocalZohoGrant): string | null;
  decideDevice(userCode: string, email: string, reject?: boolean): boolean;
  revokeUserAccess(email: string, clientId: string): number;
  consent(authorizationUrl: string, options: { email: string; reject?: boolean }): Promise<string>;
  holdCrm(orgId?: string): () => void;
  inFlightOf(orgId: string): number;
}

/** The releases of holds made through POST /__admin/hold (key: the org, or '' for all), per local Zoho. */
const holds = new WeakMap<Controls, Map<string, () => void>>();

export async function answerAdmin(zoho: Controls, request: Request, url: URL): Promise<Response> {
  const op = url.pathname.slice('/__admin/'.length);
  const params = url.searchParams;
  const clientId = params.get('client_id');
  const refreshToken = params.get('refresh_token');
  const email = params.get('email');
  if (op === 'counts') {
    if (refreshToken) return json(zoho.usageOf(refreshToken));
    // One code's fate, and one user's live refresh tokens: counts a test can read while other test files use the same client.
    if (params.get('code')) return json({ outcome: zoho.codeOutcome(params.get('code')!) });
    if (email) return json({ liveRefreshTokens: zoho.liveRefreshTokensOf(email) });
    if (params.get('org')) return json({ inFlight: zoho.inFlightOf(params.get('org')!) });
    const dataCenter = params.get('dc');
    return json(dataCenter ? zoho.countsAt(dataCenter) : clientId ? zoho.countsFor(clientId) : zoho.counts());
  }
  if (op === 'sink') return json({ hits: zoho.sinkHits() });
  if (request.method !== 'POST') return json({ error: 'method' }, 405);
  switch (op) {
    case 'clients':
      if (!clientId) break;
      zoho.addClient({
        clientId,
        clientSecret: params.get('client_secret') ?? undefined,
        type: (params.get('type') as LocalZohoClientType | null) ?? 'server',
        redirectUris: params.getAll('redirect_uri'),
        jsDomains: params.getAll('js_domain'),
      });
      return json({ ok: true });
    case 'reset':
      zoho.resetCounts(clientId ?? undefined);
      return json({ ok: true });
    case 'fail':
      if (!refreshToken) break;
      zoho.failRefreshes(refreshToken, Number(params.get('status') ?? 503));
      return json({ ok: true });
    case 'recover':
      if (!refreshToken) break;
      zoho.recoverRefreshes(refreshToken);
      return json({ ok: true });
    case 'redirect':
      if (!params.get('url')) break;
      zoho.redirectPath(params.get('url')!, params.get('to'));
      return json({ ok: true });
    case 'pkce': {
      const mode = params.get('mode');
      if (mode !== 'check' && mode !== 'ignore-server') return json({ error: 'mode must be check or ignore-server' }, 400);
      zoho.setPkce(mode, email ?? undefined);
      return json({ ok: true, mode });
    }
    case 'access-token-seconds':
      if (!email || !/^\d{1,6}$/.test(params.get('seconds') ?? '') || Number(params.get('seconds')) < 1) break;
      zoho.setAccessTokenSeconds(email, Number(params.get('seconds')));
      return json({ ok: true });
    case 'throttle-revokes':
      zoho.throttleRevokes(params.get('on') !== '0');
      return json({ ok: true });
    case 'advance': {
      const ms = Number(params.get('ms') ?? 0);
      if (!Number.isFinite(ms) || ms < 0) break;
      return json({ ok: true, now: zoho.advance(ms) });
    }
    case 'grant': {
      const method = params.get('code_challenge_method');
      if (method !== null && method !== 'S256' && method !== 'plain') return json({ error: 'refused' }, 400);
      const code = zoho.issueGrant({
        clientId: clientId ?? '',
        email: email ?? '',
        redirectUri: params.get('redirect_uri'),
        ...(params.get('scope') ? { scope: params.get('scope')! } : {}),
        ...(params.get('code_challenge') ? { codeChallenge: params.get('code_challenge')! } : {}),
        ...(method ? { codeChallengeMethod: method } : {}),
        ...(params.get('nonce') ? { nonce: params.get('nonce')! } : {}),
      });
      return code ? json({ code }) : json({ error: 'refused' }, 400);
    }
    case 'device':
      return zoho.decideDevice(params.get('user_code') ?? '', email ?? '', params.get('decision') === 'reject')
        ? json({ ok: true })
        : json({ error: 'refused' }, 400);
    case 'revoke-user':
      if (!email || !clientId) break;
      return json({ revoked: zoho.revokeUserAccess(email, clientId) });
    case 'consent':
      if (!params.get('url') || !email) break;
      return zoho.consent(params.get('url')!, { email, reject: params.get('decision') === 'reject' }).then(
        (location) => json({ location }),
        (error: Error) => json({ error: error.message }, 400),
      );
    case 'hold': {
      const org = params.get('org') ?? '';
      let mine = holds.get(zoho);
      if (!mine) holds.set(zoho, (mine = new Map()));
      mine.get(org)?.();
      mine.delete(org);
      if (params.get('on') !== '0') mine.set(org, zoho.holdCrm(org || undefined));
      return json({ ok: true });
    }
  }
  return json({ error: 'not_found' }, 404);
}
