/**
 * One Zoho user's object: the library's sealed store and token manager (their token; the
 * refresh, single-flight) plus their sessions, so that a proxied call is one call to one
 * object: it checks the session and hands back a fresh access token, and nothing more.
 *
 * This file is its RPC surface: what the Worker may ask of a user's object. Each RPC method
 * answers an `Outcome` (`{ ok, value }` or `{ ok: false, code, message, retryAfterMs? }`),
 * because Workers RPC drops an error's `code`; `ask()` (objects.ts) turns it back into a
 * `TokenStoreError`. `stats()` is the one plain answer: it cannot fail. The upkeep (expired
 * sessions, re-sealing, the idle purge, refresh ahead, directory reports) runs in the alarm:
 * user-upkeep.ts. What happens to the token is logged as audit lines naming the user by this
 * object's name. Only SHA-256 hashes of session ids are stored, so a copy of storage cannot be
 * replayed.
 */
import type { CrmAccess } from '../zoho/crm-call.ts';
import { ObjectTokens, outcome, type Outcome } from '../backends/object-base.ts';
import { isTokenStoreError } from '../store/errors.ts';
import { managerFromEnv } from '../zoho/object-manager.ts';
import { userObjectName } from './naming.ts';
import type { EraseResult, TokenEvent, TokenManager } from '../zoho/token-manager.ts';
import type { OAuthToken, RefreshOptions } from '../store/types.ts';
import { UserUpkeep, type UserObjectEnv } from './user-upkeep.ts';
import type { ZohoTokens } from '../zoho/oauth.ts';
import { audit } from './http.ts';
import { randomId, sha256 } from './signing.ts';
import { HOUSEKEEPING, ZohoLibraryObject, type ObjectSchema } from './library-object.ts';
import { OUTBOX_MIGRATION } from './event-outbox.ts';

const SCHEMA: ObjectSchema = {
  part: 'user',
  migrations: [
    [
      `CREATE TABLE ets_sessions (id_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
      `CREATE INDEX ets_sessions_token ON ets_sessions (token_id)`,
      `CREATE INDEX ets_sessions_expiry ON ets_sessions (expires_at)`,
      // The object's own notes: what it last told the directory, refresh and purge points, activity.
      `CREATE TABLE ets_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    ],
    // Version 2: connection events waiting for delivery (event-outbox.ts).
    OUTBOX_MIGRATION,
  ],
};

/**
 * A forced refresh (POST /auth/refresh) at most this often per object (one user, one token).
 * Zoho allows 10 refreshes per refresh token per 10 minutes, shared by every holder of it
 * (API-key servers included): forced refreshes alone can spend at most half of that.
 */
export const FORCED_REFRESH_INTERVAL_MS = 2 * 60_000;
export { REFRESH_AHEAD_MS, type UserObjectEnv } from './user-upkeep.ts';
/** Session ids whose hash an object keeps while awake: a user has a few sessions; ids that are not theirs do not pile up. */
const SESSION_HASHES_KEPT = 64;

/** What erasing a user's object did: the token manager's erase (over every token), and the sessions it ended. */
export type ErasedUser = Pick<EraseResult, 'found' | 'revokedAtZoho'> & { tokensDeleted: number; sessionsEnded: number };

/** What an operator sees of one object: counts and key ids, never a name or a token. */
export interface ObjectStats {
  calls: number;
  tokens: number;
  sessions: number;
  keyIds: string[];
}

/**
 * What the Worker may see of a token for a CRM call: never the refresh token or the client's
 * secret; and the user's org (the zgid their user name ends with), for the app's hook.
 */
export type CallerToken = CrmAccess & { org: string | null };
const callerToken = (token: OAuthToken): CallerToken => ({
  id: token.id,
  accessToken: token.accessToken,
  apiDomain: token.apiDomain,
  expiryTime: token.expiryTime,
  org: /:(\w+)$/.exec(token.userName ?? '')?.[1] ?? null,
});

/** A login the Worker hands its user's object: the tokens Zoho gave, who, and for the user's events, their keyed name and where they log in again. */
export interface UserLogin {
  tokens: ZohoTokens;
  userName: string;
  /** The keyed hash that names this object (`ZohoCaller.user`). */
  user: string;
  redirectUrl: string | null;
  ttlSeconds: number;
  dataCenter: string;
  /** The Worker's login route, landing at the app's page. */
  reconnectUrl: string | null;
}

/** What a logged-in page may see of its own login: who, where, until when; no token. */
export interface SessionInfo {
  tokenId: string;
  userName: string | null;
  apiDomain: string | null;
  expiryTime: number | null;
}

/**
 * RPC methods are exactly the ones the Worker calls; none hands out a refresh token or the
 * client's secret; the object holds the library's store and a manager, and exposes neither.
 */
export class ZohoUserObject extends ZohoLibraryObject<UserObjectEnv> {
  /** The env binding of the directory this object reports to: set it in a subclass if yours is not `ZOHO_DIRECTORY`. */
  static directoryBinding = 'ZOHO_DIRECTORY';

  /** The user's sealed token (the library's store in this object), and the manager that refreshes it here. */
  readonly #tokens = new ObjectTokens(this.ctx.storage, this.env, `do:${this.ctx.id.toString()}`);
  #refresher: TokenManager | undefined;
  #calls = 0;
  #awake = false;
  readonly #upkeep: UserUpkeep = new UserUpkeep({
    ctx: this.ctx,
    env: this.env,
    tokens: this.#tokens,
    sql: () => this.#sql(),
    manager: () => this.#manager(),
    // The binding's name is the class's (a subclass may rename it), so it is looked up, not typed.
    directoryBinding: (this.constructor as typeof ZohoUserObject).directoryBinding,
  });
  /** Session id -> its SHA-256, for the sessions this object has been asked about (the hash is what is stored). */
  readonly #sessionHashes = new Map<string, string>();

  constructor(ctx: DurableObjectState, env: UserObjectEnv) {
    super(ctx, env, [SCHEMA]);
  }

  #sql() {
    const sql = this.sql();
    if (!this.#awake) {
      this.#awake = true;
      this.#tokens.store(); // creates the tokens table
      // On wake: records under an old key get re-sealed, and records written before the Worker
      // stopped storing the client's secret lose it, by the alarm, not on this request.
      // And tokens stored before IDLE_PURGE_DAYS was set (or imported) get their purge planned.
      if (this.#upkeep.dueOnWake(this.#tokens.records())) void this.ctx.storage.setAlarm(Date.now());
    }
    return sql;
  }

  /** The token manager, built on first use from the object's environment (refreshes run here, single-flight). */
  #manager(): TokenManager {
    this.#refresher ??= managerFromEnv(this.#tokens.store(), this.env, (event) => this.#audit(event));
    return this.#refresher;
  }

  /** Runs one RPC: counted, and what it throws turned into an `Outcome`. */
  #rpc<T>(work: () => Promise<T>): Promise<Outcome<T>> {
    this.#calls++;
    return outcome(work);
  }

  #audit(event: TokenEvent): void {
    this.#upkeep.connection.noteTokenEvent(event);
    // The object's own name is the keyed hash of its user: the audit line names the user by it.
    void (event.userName ? userObjectName(this.env.USER_OBJECT_SECRET, event.userName) : Promise.resolve(null)).then((user) =>
      audit({ audit: event.type, user, code: event.code, retryAfterMs: event.retryAfterMs, revokedAtZoho: event.revokedAtZoho }),
    );
  }

  /** A session id's SHA-256 (what the sessions table holds), computed once per id while this object is awake. */
  async #sessionHash(sessionId: string): Promise<string> {
    let hash = this.#sessionHashes.get(sessionId);
    if (hash === undefined) {
      hash = await sha256(sessionId);
      if (this.#sessionHashes.size >= SESSION_HASHES_KEPT) this.#sessionHashes.clear();
      this.#sessionHashes.set(sessionId, hash);
    }
    return hash;
  }

  async #startSession(tokenId: string, ttlSeconds: number): Promise<{ sessionId: string; expiresAt: number }> {
    const sessionId = randomId();
    const expiresAt = Date.now() + ttlSeconds * 1000;
    this.#sql().exec('INSERT INTO ets_sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', await sha256(sessionId), tokenId, expiresAt);
    await this.#upkeep.schedule();
    return { sessionId, expiresAt };
  }

  async #sessionTokenId(sessionId: string): Promise<string | null> {
    const rows = this.#sql()
      .exec<{ token_id: string }>('SELECT token_id FROM ets_sessions WHERE id_hash = ? AND expires_at > ?', await this.#sessionHash(sessionId), Date.now())
      .toArray();
    return rows[0]?.token_id ?? null;
  }

  /**
   * Stores the tokens of a login (exchanged by the Worker) and starts a session on them. No
   * client secret in the record: this object refreshes with the one in its environment.
   */
  login(login: UserLogin): Promise<Outcome<{ tokenId: string; sessionId: string; expiresAt: number }>> {
    return this.#rpc(async () => {
      const { tokens, userName, redirectUrl, ttlSeconds, dataCenter } = login;
      const saved = await this.#manager().saveGrant(tokens, { userName, redirectUrl: redirectUrl ?? undefined, storeClientSecret: false });
      this.#upkeep.connection.noteLogin(login.user, login.reconnectUrl);
      await this.#upkeep.connection.set('active', null, { dataCenter, userName });
      this.#upkeep.learnLifetime(saved.expiryTime);
      await this.#upkeep.planPurge();
      return { tokenId: saved.id, ...(await this.#startSession(saved.id, ttlSeconds)) };
    });
  }

  /**
   * The token of a live session: as stored (`refresh` null), or refreshed here, single-flight,
   * when fewer than `refresh.skewMs` remain. Null when the session is unknown or expired.
   */
  session(sessionId: string, refresh: RefreshOptions | null): Promise<Outcome<CallerToken | null>> {
    return this.#rpc(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return null;
      const token = refresh ? await this.#manager().freshToken({ id: tokenId }, refresh) : await this.#tokens.store().findTokenById(tokenId);
      if (token && refresh) await this.#upkeep.noteActive(token);
      return token && callerToken(token);
    });
  }

  /**
   * Who a live session belongs to, for the page (/auth/me); or that Zoho refused its token since
   * (the user must log in again). Null when the session is unknown or expired.
   */
  me(sessionId: string): Promise<Outcome<SessionInfo | { connection: 'needs_reauth' } | null>> {
    return this.#rpc(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      const token = tokenId && (await this.#tokens.store().findTokenById(tokenId));
      if (token) return { tokenId: token.id, userName: token.userName, apiDomain: token.apiDomain, expiryTime: token.expiryTime };
      return tokenId && this.#upkeep.connection.current()?.status === 'needs_reauth' ? { connection: 'needs_reauth' as const } : null;
    });
  }

  /** The token a server API key names (the operator mapped the key to it), fresh as `refresh` asks. */
  apiKeyToken(tokenId: string, refresh: RefreshOptions): Promise<Outcome<CallerToken>> {
    return this.#rpc(async () => {
      const token = await this.#manager().freshToken({ id: tokenId }, refresh);
      await this.#upkeep.noteActive(token);
      return callerToken(token);
    });
  }

  /**
   * Refreshes the session's token now, unless a forced refresh ran within the interval: then
   * the token as it is, and when the next one may run. Null without a live session.
   */
  refreshSession(sessionId: string): Promise<Outcome<{ expiryTime: number | null; refreshed: boolean; retryAfterMs: number } | null>> {
    return this.#rpc(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return null;
      const wait = this.#forcedRefreshWait();
      if (wait > 0) {
        const token = await this.#tokens.store().findTokenById(tokenId);
        return token && { expiryTime: token.expiryTime, refreshed: false, retryAfterMs: wait };
      }
      const token = await this.#manager().freshToken({ id: tokenId }, { skewMs: Number.POSITIVE_INFINITY });
      return { expiryTime: token.expiryTime, refreshed: true, retryAfterMs: FORCED_REFRESH_INTERVAL_MS };
    });
  }

  /**
   * 0 when a forced refresh (the user's or an operator's) may run now, and notes that it runs;
   * else how long until one may. Checked and set with no await between: concurrent calls to
   * this object see each other.
   */
  #forcedRefreshWait(): number {
    const wait = Number(this.#upkeep.meta('forced_refresh_at') ?? 0) + FORCED_REFRESH_INTERVAL_MS - Date.now();
    if (wait > 0) return wait;
    this.#upkeep.setMeta('forced_refresh_at', String(Date.now()));
    return 0;
  }

  endSession(sessionId: string): Promise<Outcome<void>> {
    return this.#rpc(async () => {
      this.#sql().exec('DELETE FROM ets_sessions WHERE id_hash = ?', await this.#sessionHash(sessionId));
    });
  }

  /** Revokes the session's token at Zoho, deletes it and ends all its sessions; false without a live session. */
  revokeSession(sessionId: string): Promise<Outcome<boolean>> {
    return this.#rpc(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return false;
      await this.#manager().revoke({ id: tokenId });
      this.#sql().exec('DELETE FROM ets_sessions WHERE token_id = ?', tokenId);
      await this.#upkeep.schedule();
      return true;
    });
  }

  /**
   * Erases this object's user (the right to erasure): revokes at Zoho, deletes every token,
   * ends every session. A failed revoke still deletes here, and the answer says so.
   */
  erase(): Promise<Outcome<ErasedUser>> {
    return this.#rpc(async () => {
      // An object that never held anything stays that way (an operator may ask every data center).
      if (this.#tokens.records().length === 0 && this.#upkeep.connection.current() === null) {
        return { found: false, revokedAtZoho: false, tokensDeleted: 0, sessionsEnded: 0 };
      }
      const tokens = await this.#tokens.store().getTokens();
      let revokedAtZoho = tokens.length > 0;
      for (const token of tokens) revokedAtZoho = (await this.#manager().erase({ id: token.id })).revokedAtZoho && revokedAtZoho;
      const sessionsEnded = this.#sql().exec<{ n: number }>('SELECT count(*) AS n FROM ets_sessions').one().n;
      this.#sql().exec('DELETE FROM ets_sessions');
      this.#upkeep.setMeta('purge_at', null);
      // A dead connection's tombstone too: only the status and its time stay.
      await this.#upkeep.connection.set('erased', null, { userName: tokens[0]?.userName ?? null });
      await this.#upkeep.schedule();
      return { found: tokens.length > 0, revokedAtZoho, tokensDeleted: tokens.length, sessionsEnded };
    });
  }

  /**
   * Operators' "refresh now" (the page's button): refreshes every token here, unless a forced
   * refresh ran within the interval (Zoho's refresh limit is the user's too). A refusal shows in
   * the answer, and as the connection's status.
   */
  refreshNow(): Promise<Outcome<{ refreshed: number; failed: string | null; retryAfterMs: number }>> {
    return this.#rpc(async () => {
      const wait = this.#forcedRefreshWait();
      if (wait > 0) return { refreshed: 0, failed: null, retryAfterMs: wait };
      let refreshed = 0;
      let failed: string | null = null;
      for (const token of await this.#tokens.store().getTokens()) {
        try {
          await this.#manager().freshToken({ id: token.id }, { skewMs: Number.POSITIVE_INFINITY });
          refreshed++;
        } catch (error) {
          if (!isTokenStoreError(error)) throw error;
          failed = error.code;
        }
      }
      return { refreshed, failed, retryAfterMs: FORCED_REFRESH_INTERVAL_MS };
    });
  }

  /** Operators' revoke (the page's button): revokes every token here at Zoho, deletes them and ends every session; answers how many tokens. */
  revokeAll(): Promise<Outcome<number>> {
    return this.#rpc(async () => {
      const tokens = await this.#tokens.store().getTokens();
      for (const token of tokens) await this.#manager().revoke({ id: token.id });
      this.#sql().exec('DELETE FROM ets_sessions');
      await this.#upkeep.schedule();
      return tokens.length;
    });
  }

  /** Re-seals now what an old key sealed (operators: POST /admin/reseal); answers how many records. */
  reseal(): Promise<Outcome<number>> {
    return this.#rpc(async () => {
      const resealed = await this.#tokens.store().rotate();
      // Report again even if nothing changed here: the operator asked because the directory says otherwise.
      this.#upkeep.setMeta('reported', null);
      await this.#upkeep.schedule();
      return resealed;
    });
  }

  /**
   * Operators' sweep (POST /admin/purge-idle): wakes this object, which plans its idle purge if
   * it had none (tokens stored before IDLE_PURGE_DAYS was set); a purge already due runs in the
   * alarm this sets. Answers whether a purge is planned.
   */
  planIdlePurge(): Promise<Outcome<boolean>> {
    return this.#rpc(async () => {
      if (this.#upkeep.idleMs() === null) return false;
      if (this.#upkeep.meta('purge_at') === null) await this.#upkeep.planPurge();
      await this.#upkeep.schedule();
      return this.#upkeep.meta('purge_at') !== null;
    });
  }

  /** For operators and the benchmark. Not counted as a call. */
  stats(): ObjectStats {
    return { calls: this.#calls, ...this.#upkeep.state() };
  }

  /** The upkeep (user-upkeep.ts), in the alarm the base class owns. */
  protected async [HOUSEKEEPING](): Promise<void> {
    await this.#upkeep.run();
  }
}
