/**
 * One Zoho user's object: the library's sealed store and token manager (their token; the
 * refresh, single-flight) plus their sessions, so that a proxied call is one call to one
 * object: it checks the session and hands back a fresh access token, and nothing more.
 *
 * Housekeeping runs in the object's alarm, never on a request path: expired sessions go by an
 * index on their expiry; records sealed under a key that is no longer current are re-sealed
 * (checked once per wake, through the index on key id); and the object reports what it holds
 * (key ids, counts; no name, no token) to its directory shard, for operators. With
 * IDLE_PURGE_DAYS set, the alarm also revokes and deletes a token idle for that long.
 * What happens to the token is logged as audit lines naming the user by this object's name.
 * Only SHA-256 hashes of session ids are stored, so a copy of storage cannot be replayed.
 */
import type { CrmAccess } from '../zoho/crm-call.ts';
import { ObjectTokens, outcome, type KeyRingEnv, type Outcome, type RecordState } from '../backends/object-base.ts';
import { managerFromEnv, type ObjectZohoEnv } from '../zoho/object-manager.ts';
import { userObjectName } from './naming.ts';
import type { EraseResult, TokenEvent, TokenManager } from '../zoho/token-manager.ts';
import type { OAuthToken, RefreshOptions } from '../store/types.ts';
import { isTokenStoreError } from '../store/errors.ts';
import type { ZohoTokens } from '../zoho/oauth.ts';
import { shardOf, type DirectoryEntry, type ZohoDirectory } from './directory.ts';
import { audit } from './http.ts';
import { randomId, sha256 } from './signing.ts';
import { HOUSEKEEPING, ZohoLibraryObject, type ObjectSchema } from './library-object.ts';

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
  ],
};

const DAY_MS = 86_400_000;
/**
 * A forced refresh (POST /auth/refresh) at most this often per object (one user, one token).
 * Zoho allows 10 refreshes per refresh token per 10 minutes, shared by every holder of it
 * (API-key servers included): forced refreshes alone can spend at most half of that.
 */
export const FORCED_REFRESH_INTERVAL_MS = 2 * 60_000;
/** How long before expiry the alarm refreshes an active user's token. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** Default of REFRESH_AHEAD_ACTIVE_MINUTES. */
const ACTIVE_WINDOW_MINUTES = 15;
/** Session ids whose hash an object keeps while awake: a user has a few sessions; ids that are not theirs do not pile up. */
const SESSION_HASHES_KEPT = 64;
/** A user's activity is written at most this often (one SQL write a minute, not one a call). */
const ACTIVITY_RESOLUTION_MS = 60_000;

/** What erasing a user's object did: the token manager's erase (over every token), and the sessions it ended. */
export type EraseAnswer = Pick<EraseResult, 'found' | 'revokedAtZoho'> & { tokensDeleted: number; sessionsEnded: number };

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

/** What a logged-in page may see of its own login: who, where, until when; no token. */
export interface SessionInfo {
  tokenId: string;
  userName: string | null;
  apiDomain: string | null;
  expiryTime: number | null;
}

/** What a user object reads from its environment (the Worker's `ZohoEnv` has it all). */
export interface UserObjectEnv extends KeyRingEnv, ObjectZohoEnv {
  USER_OBJECT_SECRET: string;
  IDLE_PURGE_DAYS?: string;
  /** The directory, under the class's `directoryBinding`. */
  [binding: string]: unknown;
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
      const records = this.#tokens.records();
      // And tokens stored before IDLE_PURGE_DAYS was set (or imported) get their purge planned.
      const purgeUnplanned = records.length > 0 && this.#idleMs() !== null && this.#meta('purge_at') === null;
      if (this.#staleKeys(records) || this.#secretsToDrop(records) || purgeUnplanned) void this.ctx.storage.setAlarm(Date.now());
    }
    return sql;
  }

  /** The idle period, or null when the deployment does not purge. */
  /** How recent a call makes a user active for refresh-ahead; null: refresh-ahead is off. */
  #activeWindowMs(): number | null {
    const raw = this.env.REFRESH_AHEAD_ACTIVE_MINUTES;
    const minutes = raw === undefined || raw === '' ? ACTIVE_WINDOW_MINUTES : Number(raw);
    return Number.isFinite(minutes) && minutes > 0 ? minutes * 60_000 : null;
  }

  /**
   * A call used this token: the user is active (written at most once a minute), and the alarm
   * refreshes it a lead before it expires. No storage write on most calls.
   */
  async #noteActive(token: OAuthToken): Promise<void> {
    if (this.#activeWindowMs() === null || token.expiryTime === null) return;
    const now = Date.now();
    // All in one read: this runs on every proxied call.
    const [activeAt, storedRefreshAt, lead] = this.#metas('active_at', 'refresh_at', 'refresh_lead');
    if (now - Number(activeAt ?? 0) >= ACTIVITY_RESOLUTION_MS) this.#setMeta('active_at', String(now));
    const refreshAt = String(token.expiryTime - (lead === null ? REFRESH_AHEAD_MS : Number(lead)));
    if (storedRefreshAt === refreshAt) return;
    this.#setMeta('refresh_at', refreshAt);
    await this.#schedule();
  }

  /**
   * How long before expiry to refresh: REFRESH_AHEAD_MS, or half a token's lifetime when Zoho
   * issues shorter ones, learned from the last token issued. Else a refresh point would lie
   * before the new token was even issued, and each refresh would schedule the next at once.
   */
  #learnLifetime(expiryTime: number | null): void {
    if (expiryTime === null) return;
    const lead = String(Math.max(0, Math.min(REFRESH_AHEAD_MS, Math.floor((expiryTime - Date.now()) / 2))));
    if (this.#meta('refresh_lead') !== lead) this.#setMeta('refresh_lead', lead);
  }

  /** The alarm's refresh-ahead: tokens near expiry, for a user active within the window; an idle user's are left for their next request. */
  async #refreshAhead(): Promise<void> {
    const refreshAt = this.#meta('refresh_at');
    const windowMs = this.#activeWindowMs();
    if (refreshAt === null || Number(refreshAt) > Date.now()) return;
    this.#setMeta('refresh_at', null);
    if (windowMs === null || Date.now() - Number(this.#meta('active_at') ?? 0) > windowMs) return;
    const lead = Number(this.#meta('refresh_lead') ?? REFRESH_AHEAD_MS);
    for (const token of await this.#tokens.store().getTokens()) {
      if (token.expiryTime === null || token.expiryTime - Date.now() > lead) continue;
      try {
        // Single-flight with any request refreshing at the same moment; the next refresh point follows the new expiry.
        const fresh = await this.#manager().freshToken({ id: token.id }, { skewMs: lead });
        this.#learnLifetime(fresh.expiryTime);
        const next = fresh.expiryTime === null ? null : fresh.expiryTime - Number(this.#meta('refresh_lead'));
        // Never re-armed at or before now: a refresh that did not move the expiry past its point waits for a request.
        if (next !== null && next > Date.now()) this.#setMeta('refresh_at', String(next));
      } catch (error) {
        // A dead login or a busy Zoho: the user's next request meets it as it would have; the alarm goes on.
        if (!isTokenStoreError(error)) throw error;
      }
    }
  }

  #idleMs(): number | null {
    const days = Number(this.env.IDLE_PURGE_DAYS);
    return this.env.IDLE_PURGE_DAYS && days > 0 ? days * DAY_MS : null;
  }

  /** The token manager, built on first use from the object's environment (refreshes run here, single-flight). */
  #manager(): TokenManager {
    this.#refresher ??= managerFromEnv(this.#tokens.store(), this.env, (event) => this.#audit(event));
    return this.#refresher;
  }

  /** Answers one RPC: counted, and what it throws turned into an outcome. */
  #answer<T>(work: () => Promise<T>): Promise<Outcome<T>> {
    this.#calls++;
    return outcome(work);
  }

  #audit(event: TokenEvent): void {
    // The object's own name is the keyed hash of its user: the audit line names the user by it.
    void (event.userName ? userObjectName(this.env.USER_OBJECT_SECRET, event.userName) : Promise.resolve(null)).then((user) =>
      audit({ audit: event.type, user, code: event.code, retryAfterMs: event.retryAfterMs, revokedAtZoho: event.revokedAtZoho }),
    );
  }

  /** Under an old key, or in the older sealed format under the current one: re-sealed by the alarm. */
  #staleKeys(records: RecordState[]): boolean {
    return records.some((record) => !record.current);
  }

  /** Whether records here may still carry a client secret (written before logins stopped storing it). */
  #secretsToDrop(records: RecordState[]): boolean {
    return this.#meta('secrets_dropped') === null && records.length > 0;
  }

  /**
   * The key ids that seal this object's records (none when it holds no token). A record under
   * the current key in the older sealed format shows as `<key id>:v1`: not the current key, so
   * operators' re-seal and /admin/keys treat it as one to re-seal.
   */
  #keyIds(records: RecordState[]): string[] {
    const current = this.env.TOKEN_STORE_CURRENT_KEY;
    const ids = records.map((r) => (r.keyId === current && !r.current ? `${r.keyId}:v1` : r.keyId));
    return [...new Set(ids)].sort();
  }

  /** What the directory and operators see, from one read of the records. */
  #state(records = this.#tokens.records()): { keyIds: string[]; tokens: number; sessions: number } {
    const sessions = this.#sql().exec<{ n: number }>('SELECT count(*) AS n FROM ets_sessions WHERE expires_at > ?', Date.now()).one().n;
    return { keyIds: this.#keyIds(records), tokens: records.length, sessions };
  }

  /** The directory hears of an object once it holds something, and again when its key ids change. */
  #reportKey(keyIds: string[]): string {
    return keyIds.join(',');
  }

  /**
   * Sets the alarm for the next piece of housekeeping, if it is due before the one set (from
   * the alarm itself, always: the alarm that is running is no longer set).
   */
  async #schedule(fromAlarm = false): Promise<void> {
    const sql = this.#sql();
    const reported = this.#meta('reported') ?? '';
    const purgeAt = this.#meta('purge_at');
    const refreshAt = this.#meta('refresh_at');
    const times = [
      sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM ets_sessions').one().at,
      purgeAt === null ? null : Number(purgeAt),
      refreshAt === null ? null : Number(refreshAt),
    ];
    const earliest = times.filter((t): t is number => t !== null).sort((a, b) => a - b)[0] ?? null;
    // A session may be past its expiry and not yet swept: its sweep is due now, not in the past.
    const due = reported !== this.#reportKey(this.#keyIds(this.#tokens.records())) ? Date.now() : earliest === null ? null : Math.max(earliest, Date.now());
    if (due === null) return;
    const set = fromAlarm ? null : await this.ctx.storage.getAlarm();
    if (set === null || set > due) await this.ctx.storage.setAlarm(due);
  }

  #meta(key: string): string | null {
    return this.#metas(key)[0]!;
  }

  /** Several meta values in one statement, in the order asked (null where unset). */
  #metas(...keys: string[]): (string | null)[] {
    const rows = this.#sql()
      .exec<{ key: string; value: string }>(`SELECT key, value FROM ets_meta WHERE key IN (${keys.map(() => '?').join(', ')})`, ...keys)
      .toArray();
    return keys.map((key) => rows.find((row) => row.key === key)?.value ?? null);
  }

  #setMeta(key: string, value: string | null): void {
    if (value === null) this.#sql().exec('DELETE FROM ets_meta WHERE key = ?', key);
    else this.#sql().exec('INSERT OR REPLACE INTO ets_meta (key, value) VALUES (?, ?)', key, value);
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

  /** When the idle purge should next look: the earliest moment a token here could be idle. */
  async #planPurge(): Promise<void> {
    const idleMs = this.#idleMs();
    const expiries = idleMs === null ? [] : (await this.#tokens.store().getTokens()).map((t) => t.expiryTime).filter((t): t is number => t !== null);
    this.#setMeta('purge_at', expiries.length > 0 ? String(Math.min(...expiries) + idleMs!) : null);
  }

  async #startSession(tokenId: string, ttlSeconds: number): Promise<{ sessionId: string; expiresAt: number }> {
    const sessionId = randomId();
    const expiresAt = Date.now() + ttlSeconds * 1000;
    this.#sql().exec('INSERT INTO ets_sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', await sha256(sessionId), tokenId, expiresAt);
    await this.#schedule();
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
  login(
    answer: ZohoTokens,
    userName: string,
    redirectUrl: string | null,
    ttlSeconds: number,
  ): Promise<Outcome<{ tokenId: string; sessionId: string; expiresAt: number }>> {
    return this.#answer(async () => {
      const saved = await this.#manager().saveGrant(answer, { userName, redirectUrl: redirectUrl ?? undefined, storeClientSecret: false });
      this.#learnLifetime(saved.expiryTime);
      await this.#planPurge();
      return { tokenId: saved.id, ...(await this.#startSession(saved.id, ttlSeconds)) };
    });
  }

  /**
   * The token of a live session: as stored (`refresh` null), or refreshed here, single-flight,
   * when fewer than `refresh.skewMs` remain. Null when the session is unknown or expired.
   */
  session(sessionId: string, refresh: RefreshOptions | null): Promise<Outcome<CallerToken | null>> {
    return this.#answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return null;
      const token = refresh ? await this.#manager().freshToken({ id: tokenId }, refresh) : await this.#tokens.store().findTokenById(tokenId);
      if (token && refresh) await this.#noteActive(token);
      return token && callerToken(token);
    });
  }

  /** Who a live session belongs to, for the page (/auth/me). Null when the session is unknown or expired. */
  me(sessionId: string): Promise<Outcome<SessionInfo | null>> {
    return this.#answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      const token = tokenId && (await this.#tokens.store().findTokenById(tokenId));
      return token ? { tokenId: token.id, userName: token.userName, apiDomain: token.apiDomain, expiryTime: token.expiryTime } : null;
    });
  }

  /** The token a server API key names (the operator mapped the key to it), fresh as `refresh` asks. */
  apiKeyToken(tokenId: string, refresh: RefreshOptions): Promise<Outcome<CallerToken>> {
    return this.#answer(async () => {
      const token = await this.#manager().freshToken({ id: tokenId }, refresh);
      await this.#noteActive(token);
      return callerToken(token);
    });
  }

  /**
   * Refreshes the session's token now, unless a forced refresh ran within the interval: then
   * the token as it is, and when the next one may run. Null without a live session.
   */
  refreshSession(sessionId: string): Promise<Outcome<{ expiryTime: number | null; refreshed: boolean; retryAfterMs: number } | null>> {
    return this.#answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return null;
      // Checked and set with no await between: concurrent calls to this object see each other.
      const last = Number(this.#meta('forced_refresh_at') ?? 0);
      const wait = last + FORCED_REFRESH_INTERVAL_MS - Date.now();
      if (wait > 0) {
        const token = await this.#tokens.store().findTokenById(tokenId);
        return token && { expiryTime: token.expiryTime, refreshed: false, retryAfterMs: wait };
      }
      this.#setMeta('forced_refresh_at', String(Date.now()));
      const token = await this.#manager().freshToken({ id: tokenId }, { skewMs: Number.POSITIVE_INFINITY });
      return { expiryTime: token.expiryTime, refreshed: true, retryAfterMs: FORCED_REFRESH_INTERVAL_MS };
    });
  }

  endSession(sessionId: string): Promise<Outcome<void>> {
    return this.#answer(async () => {
      this.#sql().exec('DELETE FROM ets_sessions WHERE id_hash = ?', await this.#sessionHash(sessionId));
    });
  }

  /** Revokes the session's token at Zoho, deletes it and ends all its sessions; false without a live session. */
  revokeSession(sessionId: string): Promise<Outcome<boolean>> {
    return this.#answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return false;
      await this.#manager().revoke({ id: tokenId });
      this.#sql().exec('DELETE FROM ets_sessions WHERE token_id = ?', tokenId);
      await this.#schedule();
      return true;
    });
  }

  /**
   * Erases this object's user (the right to erasure): revokes at Zoho, deletes every token,
   * ends every session. A failed revoke still deletes here, and the answer says so.
   */
  erase(): Promise<Outcome<EraseAnswer>> {
    return this.#answer(async () => {
      // An object that never held anything stays that way (an operator may ask every data center).
      if (this.#tokens.records().length === 0) {
        return { found: false, revokedAtZoho: false, tokensDeleted: 0, sessionsEnded: 0 };
      }
      const tokens = await this.#tokens.store().getTokens();
      let revokedAtZoho = tokens.length > 0;
      for (const token of tokens) revokedAtZoho = (await this.#manager().erase({ id: token.id })).revokedAtZoho && revokedAtZoho;
      const sessionsEnded = this.#sql().exec<{ n: number }>('SELECT count(*) AS n FROM ets_sessions').one().n;
      this.#sql().exec('DELETE FROM ets_sessions');
      this.#setMeta('purge_at', null);
      await this.#schedule();
      return { found: tokens.length > 0, revokedAtZoho, tokensDeleted: tokens.length, sessionsEnded };
    });
  }

  /** Re-seals now what an old key sealed (operators: POST /admin/reseal); answers how many records. */
  reseal(): Promise<Outcome<number>> {
    return this.#answer(async () => {
      const resealed = await this.#tokens.store().rotate();
      // Report again even if nothing changed here: the operator asked because the directory says otherwise.
      this.#setMeta('reported', null);
      await this.#schedule();
      return resealed;
    });
  }

  /**
   * Operators' sweep (POST /admin/purge-idle): wakes this object, which plans its idle purge if
   * it had none (tokens stored before IDLE_PURGE_DAYS was set); a purge already due runs in the
   * alarm this sets. Answers whether a purge is planned.
   */
  planIdlePurge(): Promise<Outcome<boolean>> {
    return this.#answer(async () => {
      if (this.#idleMs() === null) return false;
      if (this.#meta('purge_at') === null) await this.#planPurge();
      await this.#schedule();
      return this.#meta('purge_at') !== null;
    });
  }

  /** For operators and the benchmark. Not counted as a call. */
  stats(): ObjectStats {
    return { calls: this.#calls, ...this.#state() };
  }

  /** Sweeps, re-sealing, secrets dropped, refresh ahead, the idle purge, the directory report; then the next alarm. */
  protected async [HOUSEKEEPING](): Promise<void> {
    const sql = this.#sql();
    sql.exec('DELETE FROM ets_sessions WHERE expires_at <= ?', Date.now());
    if (this.#secretsToDrop(this.#tokens.records())) {
      const store = this.#tokens.store();
      for (const token of await store.getTokens()) if (token.clientSecret !== null) await store.saveToken({ id: token.id, clientSecret: null });
      this.#setMeta('secrets_dropped', String(Date.now()));
    }
    // Read again: dropping secrets re-seals what it saves.
    if (this.#staleKeys(this.#tokens.records())) await this.#tokens.store().rotate();
    await this.#refreshAhead();
    const idleMs = this.#idleMs();
    if (idleMs !== null && this.#meta('purge_at') === null) await this.#planPurge();
    const purgeAt = this.#meta('purge_at');
    if (idleMs !== null && purgeAt !== null && Number(purgeAt) <= Date.now()) {
      await this.#manager().purgeIdle({ idleMs });
      // Sessions of the tokens the purge deleted end with them.
      const kept = new Set(this.#tokens.records().map((r) => r.id));
      for (const { token_id } of sql.exec<{ token_id: string }>('SELECT DISTINCT token_id FROM ets_sessions').toArray()) {
        if (!kept.has(token_id)) sql.exec('DELETE FROM ets_sessions WHERE token_id = ?', token_id);
      }
      await this.#planPurge();
    }
    const state = this.#state();
    const report = this.#reportKey(state.keyIds);
    if (report !== (this.#meta('reported') ?? '')) {
      const { keyIds, tokens, sessions } = state;
      const id = this.ctx.id.toString();
      // The binding's name is the class's (a subclass may rename it), so it is looked up, not typed.
      const directory = this.env[(this.constructor as typeof ZohoUserObject).directoryBinding] as DurableObjectNamespace<ZohoDirectory>;
      const shard = directory.get(directory.idFromName(await shardOf(id)));
      // A failure throws: the runtime retries the alarm with backoff.
      await shard.report({ id, keyIds, tokens, sessions } satisfies DirectoryEntry);
      this.#setMeta('reported', report);
    }
    await this.#schedule(true);
  }
}
