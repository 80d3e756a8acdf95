/**
 * Keeps tokens fresh, as the Zoho SDK does around its store, but single-flight at every
 * level where callers race:
 *   - one isolate or page: concurrent callers for one token share one refresh promise;
 *   - tabs, workers and an extension's contexts: a Web Lock per token, with a re-read once
 *     the lock is held (another context may have refreshed already);
 *   - Worker isolates: a shared store's own lock (the Durable Object store's lease), taken
 *     the same way, with the same re-read; or the manager runs inside the object itself.
 * `fetchCrm` sends a token only to an allowed API domain (Zoho's, by default).
 * A failed refresh leaves the stored token as it was. A refresh token Zoho no longer knows
 * gets REAUTH_REQUIRED and its record is deleted, so it is never used again. A failing Zoho
 * is backed off (backoff.ts): while the wait runs, callers get the error, Zoho no call.
 */
import { createBackoff, type BackoffOptions } from './backoff.ts';
import { callCrm, usable, type CrmAccess } from './crm-call.ts';
import { TokenStoreError } from '../store/errors.ts';
import type { Lock, LockingTokenStore, OAuthToken, RefreshOptions, TokenQuery, TokenStore } from '../store/types.ts';
import { checkTokenInput } from '../store/validate.ts';
import { ZOHO_API_DOMAINS } from './data-centers.ts';
import { isKnownAccountsServer, type ZohoOAuth, type ZohoTokens } from './oauth.ts';

export interface TokenManagerOptions {
  store: TokenStore;
  oauth: ZohoOAuth;
  /** Refresh when fewer than this many ms remain (default 5,000, as the Zoho SDK). */
  skewMs?: number;
  now?: () => number;
  /** The fetch used for CRM calls (default: global fetch). */
  fetch?: typeof fetch;
  /**
   * Runs a refresh exclusively across contexts. Default: the store's own lock where it offers
   * one (the Durable Object store's lease), else the Web Locks API where present (browsers,
   * extensions), else nothing beyond this manager's own single-flight.
   */
  lock?: Lock | null;
  /**
   * Which API origins `fetchCrm` may call with a token. Default: Zoho's API domains, plus the
   * accounts server's own origin when that is not Zoho's (a local stand-in).
   */
  isAllowedApiDomain?: (origin: string) => boolean;
  /** How long to back off from a failing accounts server (its rate limit sets its own wait). */
  backoff?: BackoffOptions;
  /**
   * Hears what happens to tokens, for audit logs. Events carry the user name so the caller can
   * log a keyed hash of it: never log the name itself, nor anything else from the token.
   */
  onEvent?: (event: TokenEvent) => void;
}

/** Something that happened to a stored token. */
export interface TokenEvent {
  type: 'login' | 'refresh' | 'refresh_failed' | 'backoff' | 'revoke' | 'erase' | 'purge';
  tokenId: string;
  userName: string | null;
  /** The error code, for refresh_failed and backoff. */
  code?: string;
  /** For refresh_failed: Zoho's own error code (such as `invalid_code`), when Zoho answered one. */
  zohoError?: string;
  /** For backoff: how long Zoho is left alone. */
  retryAfterMs?: number;
  /** For erase and purge: whether Zoho confirmed the revoke (the record is deleted either way). */
  revokedAtZoho?: boolean;
}

/** What `erase` did. */
export interface EraseResult {
  /** Whether a record matched. Erasing what is not stored is not an error. */
  found: boolean;
  /** Whether Zoho confirmed the revoke; false when it failed (the record is deleted anyway) or there was nothing to revoke. */
  revokedAtZoho: boolean;
  /** Records deleted. */
  deleted: number;
}

export interface AccessToken {
  accessToken: string;
  apiDomain: string;
  token: OAuthToken;
}

export interface TokenManager {
  /**
   * The token the query finds, refreshed (single-flight) if fewer than `skewMs` remain or if
   * its access token is the one given as rejected. What a Durable Object runs for its callers.
   */
  freshToken(query: TokenQuery, options: RefreshOptions): Promise<OAuthToken>;
  /** A live access token for the token the query finds (by id, user name, refresh token...). */
  getAccessToken(query: TokenQuery): Promise<AccessToken>;
  /** Refreshes now, even if the access token looks fresh (still single-flight). */
  refreshNow(query: TokenQuery): Promise<AccessToken>;
  /**
   * Exchanges a grant code and stores the user's tokens; names the user (`email:zgid`, as the
   * SDK) unless told. `accountsServer`: the `accounts-server` of Zoho's redirect (required
   * with `dataCenter: 'any'`; checked against Zoho's servers before anything is sent).
   * `codeVerifier`: the PKCE verifier of the login; `nonce`: its OpenID Connect nonce (the
   * answer's ID token must carry it). If the user cannot be named (the lookup fails), the new
   * refresh token is revoked, not left live at Zoho.
   */
  exchangeGrant(
    code: string,
    options?: { userName?: string; redirectUrl?: string; accountsServer?: string; codeVerifier?: string; nonce?: string },
  ): Promise<OAuthToken>;
  /**
   * Stores what a grant answered elsewhere (an exchange, a device login): the second half of
   * `exchangeGrant`. The user is named by Zoho unless `userName` says (callers that must know
   * the user before choosing the store: the Worker keeps each user in their own object). One
   * record per user: a later grant replaces it, and its replaced refresh token is revoked.
   */
  saveGrant(answer: ZohoTokens, options?: SaveGrantOptions): Promise<OAuthToken>;
  /** Revokes the refresh token at Zoho and deletes the record. */
  revoke(query: TokenQuery): Promise<void>;
  /**
   * Erases a user on request (the right to erasure): revokes at Zoho and deletes the record,
   * also when Zoho cannot be reached (the answer says so). Nothing stored is not an error.
   */
  erase(query: TokenQuery): Promise<EraseResult>;
  /**
   * Revokes at Zoho, then deletes, every token neither refreshed nor used for `idleMs`: its
   * access token expired more than `idleMs` ago (a use after expiry would have refreshed it).
   * Tokens without an expiry are left alone. `max` bounds one call (a Worker invocation's KV
   * operations are limited: call again from the next run). Resolves to how many were purged.
   */
  purgeIdle(options: { idleMs: number; max?: number }): Promise<{ purged: number; revokeFailed: number }>;
  /**
   * Calls the CRM at the token's API domain with its access token; on 401 INVALID_TOKEN,
   * INVALID_OAUTHTOKEN or AUTHENTICATION_FAILURE, refreshes (single-flight) and retries once. `options.token`: a
   * token the caller already holds fresh (the Worker gets it with its session check), which
   * saves the first store call. A redirect from the CRM is not followed: it is a
   * `ZOHO_BAD_RESPONSE` error, unless `init.redirect` says otherwise.
   */
  fetchCrm(query: TokenQuery, path: string, init?: RequestInit, options?: { token?: CrmAccess }): Promise<Response>;
}

export interface SaveGrantOptions {
  /** The user Zoho named; when left out, asked of Zoho (`currentUser`: one CRM call). */
  userName?: string;
  redirectUrl?: string;
  /**
   * Whether the record keeps the client's secret, as the Zoho SDK's stores do (default true).
   * A store whose refreshes always run with the client in hand (the Worker's objects) passes false.
   */
  storeClientSecret?: boolean;
}

export const DEFAULT_SKEW_MS = 5_000;

/** The lock a shared store offers (the Durable Object store's lease), if it offers one. */
function lockOf(store: TokenStore): Lock | null {
  const lock = (store as Partial<LockingTokenStore>).lock;
  return typeof lock === 'function' ? lock : null;
}

/** The Web Locks call this uses (workerd has no `navigator.locks`; browsers and extensions do). */
interface WebLocks {
  request<T>(name: string, task: () => Promise<T>): Promise<T>;
}

function webLocks(): TokenManagerOptions['lock'] {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
  return locks ? (name, task) => locks.request(name, task) : null;
}

function result(token: OAuthToken): AccessToken {
  return { ...usable(token), token };
}

/**
 * Keeps a store's tokens fresh: refreshes single-flight (per token, and across processes with
 * the store's `lock`), backs off when Zoho asks, stores new grants, revokes and erases.
 *
 * ```ts
 * const manager = createTokenManager({ store, oauth: zohoOAuth({ dataCenter: 'eu', clientId, clientSecret }) });
 * const { accessToken, apiDomain } = await manager.getAccessToken({ userName: 'ana@example.com:7001' });
 * ```
 */
export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const { store, oauth, skewMs = DEFAULT_SKEW_MS, now = Date.now } = options ?? ({} as TokenManagerOptions);
  if (!store || typeof store.findToken !== 'function') throw new TokenStoreError('INVALID_INPUT', 'createTokenManager: store is required');
  if (!oauth || typeof oauth.refresh !== 'function') throw new TokenStoreError('INVALID_INPUT', 'createTokenManager: oauth is required (zohoOAuth)');
  if (!Number.isFinite(skewMs) || skewMs < 0) throw new TokenStoreError('INVALID_INPUT', 'createTokenManager: skewMs must be a non-negative number');
  const lock = options.lock === undefined ? (lockOf(store) ?? webLocks()) : options.lock;
  const backoff = createBackoff(now, options.backoff);
  const emit = (event: TokenEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // An audit hook must not break a refresh.
    }
  };
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const inflight = new Map<string, Promise<OAuthToken>>();
  const isAllowedApiDomain =
    options.isAllowedApiDomain ??
    ((origin: string) =>
      ZOHO_API_DOMAINS.includes(origin) || oauth.dataCenterOf(origin) !== null || (!isKnownAccountsServer(oauth.accountsUrl) && origin === oauth.accountsUrl));

  const isFresh = (token: OAuthToken, skew: number) => !!token.accessToken && token.expiryTime !== null && token.expiryTime - now() > skew;

  /** The token a query names: by id when it has one, else by the store's matching rules. */
  async function lookup(query: TokenQuery): Promise<OAuthToken | null> {
    const checked = checkTokenInput(query, 'query');
    return checked.id ? store.findTokenById(checked.id) : store.findToken(checked);
  }

  async function find(query: TokenQuery): Promise<OAuthToken> {
    const token = await lookup(query);
    if (!token) throw new TokenStoreError('NOT_FOUND', 'no stored token matches the query');
    return token;
  }

  /** The refresh itself, once this caller holds the token (lock and single-flight). */
  async function refreshHeld(id: string, rejected: string | null, skew: number): Promise<OAuthToken> {
    const current = await store.findTokenById(id);
    if (!current) throw new TokenStoreError('NOT_FOUND', 'the token was deleted before it could be refreshed');
    // Another caller refreshed while this one waited: use theirs.
    if (current.accessToken !== rejected && isFresh(current, skew)) return current;
    if (current.clientId && current.clientId !== oauth.clientId) {
      throw new TokenStoreError('INVALID_INPUT', 'the token belongs to another Zoho client than this manager');
    }
    // The token's own data center's server (a typed error, and no request, for a foreign domain).
    const server = oauth.accountsServerFor(current.apiDomain);
    const blocked = backoff.blocked(id, server);
    if (blocked) throw blocked;
    let answer;
    try {
      if (current.refreshToken) answer = await oauth.refresh(current.refreshToken, { apiDomain: current.apiDomain });
      else if (current.grantToken)
        answer = await oauth.exchangeGrant(current.grantToken, { redirectUrl: current.redirectUrl ?? undefined, accountsServer: server });
      else throw new TokenStoreError('REAUTH_REQUIRED', 'the token has no refresh or grant token');
    } catch (error) {
      if (!(error instanceof TokenStoreError)) throw error;
      emit({ type: 'refresh_failed', tokenId: id, userName: current.userName, code: error.code, zohoError: error.zohoError });
      if (error.code === 'REAUTH_REQUIRED') {
        // The refresh token is dead at Zoho. Delete the record, unless a new login replaced it meanwhile.
        const now = await store.findTokenById(id);
        if (now && now.refreshToken === current.refreshToken) await store.deleteToken(id);
      }
      const waiting = backoff.failed(id, server, error);
      if (waiting.retryAfterMs !== undefined)
        emit({ type: 'backoff', tokenId: id, userName: current.userName, code: waiting.code, retryAfterMs: waiting.retryAfterMs });
      throw waiting;
    }
    backoff.succeeded(id, server);
    emit({ type: 'refresh', tokenId: id, userName: current.userName });
    return store.saveToken({
      id,
      accessToken: answer.accessToken,
      expiryTime: answer.expiryTime,
      apiDomain: answer.apiDomain,
      // A refresh answer has no refresh token: keep the stored one.
      ...(answer.refreshToken ? { refreshToken: answer.refreshToken, grantToken: null } : {}),
    });
  }

  function refreshOnce(id: string, rejected: string | null, skew: number): Promise<OAuthToken> {
    const running = inflight.get(id);
    if (running) return running;
    const held = () => refreshHeld(id, rejected, skew);
    const refresh = (lock ? lock(`edge-token-store:refresh:${id}`, held) : held()).finally(() => inflight.delete(id));
    inflight.set(id, refresh);
    return refresh;
  }

  async function freshToken(query: TokenQuery, { skewMs: skew, rejectedAccessToken }: RefreshOptions): Promise<OAuthToken> {
    if (typeof skew !== 'number' || !(skew >= 0)) throw new TokenStoreError('INVALID_INPUT', 'skewMs must be a non-negative number');
    const token = await find(query);
    if (rejectedAccessToken === undefined && isFresh(token, skew)) return token;
    return refreshOnce(token.id, rejectedAccessToken ?? token.accessToken, skew);
  }

  async function saveGrant(
    answer: ZohoTokens,
    { userName, redirectUrl = oauth.redirectUrl, storeClientSecret = true }: SaveGrantOptions = {},
  ): Promise<OAuthToken> {
    if (!answer.refreshToken) throw new TokenStoreError('ZOHO_BAD_RESPONSE', 'Zoho gave no refresh token for the grant (access_type=offline?)');
    if (userName !== undefined && (typeof userName !== 'string' || userName === ''))
      throw new TokenStoreError('INVALID_INPUT', 'saveGrant: userName must be a non-empty string');
    let name = userName;
    try {
      name ??= await oauth.currentUser(answer);
    } catch (error) {
      // Nobody could ever use this refresh token: do not leave it live at Zoho (best effort).
      await oauth.revoke(answer.refreshToken, { apiDomain: answer.apiDomain }).catch(() => undefined);
      throw error;
    }
    const previous = await store.findToken({ userName: name });
    const saved = await store.saveToken({
      userName: name,
      clientId: oauth.clientId,
      clientSecret: storeClientSecret ? oauth.clientSecretFor(answer.apiDomain) : null,
      refreshToken: answer.refreshToken,
      accessToken: answer.accessToken,
      grantToken: null,
      expiryTime: answer.expiryTime,
      redirectUrl: redirectUrl ?? null,
      apiDomain: answer.apiDomain,
    });
    // The user's previous refresh token is no longer stored anywhere: revoke it, so it does
    // not count toward Zoho's 20 live refresh tokens per user. Best effort.
    if (previous?.refreshToken && previous.refreshToken !== answer.refreshToken) {
      await oauth.revoke(previous.refreshToken, { apiDomain: previous.apiDomain }).catch(() => undefined);
    }
    emit({ type: 'login', tokenId: saved.id, userName: name });
    return saved;
  }

  /** Revokes at Zoho (best effort), then deletes: for erase and purge, where the record must go either way. */
  async function revokeAndDelete(token: OAuthToken): Promise<boolean> {
    let revoked = false;
    if (token.refreshToken)
      revoked = await oauth.revoke(token.refreshToken, { apiDomain: token.apiDomain }).then(
        () => true,
        () => false,
      );
    await store.deleteToken(token.id);
    return revoked;
  }

  return {
    freshToken,

    async getAccessToken(query) {
      return result(await freshToken(query, { skewMs }));
    },

    async refreshNow(query) {
      return result(await freshToken(query, { skewMs: Number.POSITIVE_INFINITY }));
    },

    async exchangeGrant(code, { userName, redirectUrl = oauth.redirectUrl, accountsServer, codeVerifier, nonce } = {}) {
      const answer = await oauth.exchangeGrant(code, { redirectUrl, accountsServer, codeVerifier, nonce });
      return saveGrant(answer, { ...(userName === undefined ? {} : { userName }), redirectUrl });
    },

    saveGrant,

    async revoke(query) {
      const token = await find(query);
      if (token.refreshToken) await oauth.revoke(token.refreshToken, { apiDomain: token.apiDomain });
      await store.deleteToken(token.id);
      emit({ type: 'revoke', tokenId: token.id, userName: token.userName });
    },

    async erase(query) {
      const token = await lookup(query);
      if (!token) return { found: false, revokedAtZoho: false, deleted: 0 };
      const revokedAtZoho = await revokeAndDelete(token);
      emit({ type: 'erase', tokenId: token.id, userName: token.userName, revokedAtZoho });
      return { found: true, revokedAtZoho, deleted: 1 };
    },

    async purgeIdle({ idleMs, max = Number.POSITIVE_INFINITY }) {
      if (typeof idleMs !== 'number' || !(idleMs > 0)) throw new TokenStoreError('INVALID_INPUT', 'purgeIdle: idleMs must be a positive number');
      if (typeof max !== 'number' || !(max > 0)) throw new TokenStoreError('INVALID_INPUT', 'purgeIdle: max must be a positive number');
      let purged = 0;
      let revokeFailed = 0;
      for (const token of await store.getTokens()) {
        if (purged >= max) break;
        if (token.expiryTime === null || now() - token.expiryTime <= idleMs) continue;
        const revokedAtZoho = await revokeAndDelete(token);
        if (!revokedAtZoho && token.refreshToken) revokeFailed++;
        purged++;
        emit({ type: 'purge', tokenId: token.id, userName: token.userName, revokedAtZoho });
      }
      return { purged, revokeFailed };
    },

    async fetchCrm(query, path, init = {}, { token } = {}) {
      const first = token ?? (await freshToken(query, { skewMs }));
      return callCrm({
        token: first,
        path,
        init,
        isAllowedApiDomain,
        fetch: doFetch,
        refresh: (rejectedAccessToken) => freshToken({ id: first.id }, { skewMs, rejectedAccessToken }),
      });
    },
  };
}
