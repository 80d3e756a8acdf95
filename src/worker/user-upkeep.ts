/**
 * A user object's upkeep, apart from its RPC surface (user-object.ts): its notes (`ets_meta`),
 * refresh ahead of expiry, the idle purge, re-sealing, dropping old client secrets, the
 * directory report, delivering the connection's events (user-connection.ts), and when the next
 * alarm is due. Runs in the object's alarm, never on a request path, except `noteActive`,
 * which a proxied call costs (one read, rarely a write).
 */
import type { ObjectTokens, KeyRingEnv, RecordState } from '../backends/object-base.ts';
import { isTokenStoreError } from '../store/errors.ts';
import type { OAuthToken } from '../store/types.ts';
import type { ObjectZohoEnv } from '../zoho/object-manager.ts';
import type { TokenManager } from '../zoho/token-manager.ts';
import { shardOf, type Connection, type DirectoryEntry, type LastError, type ZohoDirectory } from './directory.ts';
import type { ConnectionEventsEnv } from './event-outbox.ts';
import type { MetricsEnv } from './metrics.ts';
import { UserConnection } from './user-connection.ts';

const DAY_MS = 86_400_000;
/** How long before expiry the alarm refreshes an active user's token. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** Default of REFRESH_AHEAD_ACTIVE_MINUTES. */
const ACTIVE_WINDOW_MINUTES = 15;
/** A user's activity is written at most this often (one SQL write a minute, not one a call). */
const ACTIVITY_RESOLUTION_MS = 60_000;

/** What a user object reads from its environment (the Worker's `ZohoEnv` has it all). */
export interface UserObjectEnv extends KeyRingEnv, ObjectZohoEnv, ConnectionEventsEnv, MetricsEnv {
  USER_OBJECT_SECRET: string;
  IDLE_PURGE_DAYS?: string;
  /** The directory, under the class's `directoryBinding`. */
  [binding: string]: unknown;
}

/** What the upkeep works on: the object's storage, environment, records and manager. */
export interface UpkeepParts {
  ctx: DurableObjectState;
  env: UserObjectEnv;
  tokens: ObjectTokens;
  /** The object's SQL storage (waking it, the first time). */
  sql: () => SqlStorage;
  manager: () => TokenManager;
  /** The env binding of the directory this object reports to. */
  directoryBinding: string;
}

export class UserUpkeep {
  readonly #parts: UpkeepParts;
  /** The user's connection: its status, events, last error and chart counts (user-connection.ts). */
  readonly connection: UserConnection;

  constructor(parts: UpkeepParts) {
    this.#parts = parts;
    this.connection = new UserConnection({ ...parts, notes: this, schedule: () => this.schedule() });
  }

  meta(key: string): string | null {
    return this.metas(key)[0]!;
  }

  /** Several notes in one statement, in the order asked (null where unset). */
  metas(...keys: string[]): (string | null)[] {
    const rows = this.#parts
      .sql()
      .exec<{ key: string; value: string }>(`SELECT key, value FROM ets_meta WHERE key IN (${keys.map(() => '?').join(', ')})`, ...keys)
      .toArray();
    return keys.map((key) => rows.find((row) => row.key === key)?.value ?? null);
  }

  setMeta(key: string, value: string | null): void {
    if (value === null) this.#parts.sql().exec('DELETE FROM ets_meta WHERE key = ?', key);
    else this.#parts.sql().exec('INSERT OR REPLACE INTO ets_meta (key, value) VALUES (?, ?)', key, value);
  }

  /** Whether a wake finds work for the alarm: records to re-seal, secrets to drop, a purge to plan, events waiting. */
  dueOnWake(records: RecordState[]): boolean {
    const purgeUnplanned = records.length > 0 && this.idleMs() !== null && this.meta('purge_at') === null;
    return this.#staleKeys(records) || this.#secretsToDrop(records) || purgeUnplanned || this.connection.outbox.nextAt() !== null;
  }

  /** How recent a call makes a user active for refresh-ahead; null: refresh-ahead is off. */
  #activeWindowMs(): number | null {
    const raw = this.#parts.env.REFRESH_AHEAD_ACTIVE_MINUTES;
    const minutes = raw === undefined || raw === '' ? ACTIVE_WINDOW_MINUTES : Number(raw);
    return Number.isFinite(minutes) && minutes > 0 ? minutes * 60_000 : null;
  }

  /**
   * A call used this token: the user is active (written at most once a minute), and the alarm
   * refreshes it a lead before it expires. No storage write on most calls.
   */
  async noteActive(token: OAuthToken): Promise<void> {
    if (this.#activeWindowMs() === null || token.expiryTime === null) return;
    const now = Date.now();
    // All in one read: this runs on every proxied call.
    const [activeAt, storedRefreshAt, lead] = this.metas('active_at', 'refresh_at', 'refresh_lead');
    if (now - Number(activeAt ?? 0) >= ACTIVITY_RESOLUTION_MS) this.setMeta('active_at', String(now));
    const refreshAt = String(token.expiryTime - (lead === null ? REFRESH_AHEAD_MS : Number(lead)));
    if (storedRefreshAt === refreshAt) return;
    this.setMeta('refresh_at', refreshAt);
    await this.schedule();
  }

  /**
   * How long before expiry to refresh: REFRESH_AHEAD_MS, or half a token's lifetime when Zoho
   * issues shorter ones, learned from the last token issued. Else a refresh point would lie
   * before the new token was even issued, and each refresh would schedule the next at once.
   */
  learnLifetime(expiryTime: number | null): void {
    if (expiryTime === null) return;
    const lead = String(Math.max(0, Math.min(REFRESH_AHEAD_MS, Math.floor((expiryTime - Date.now()) / 2))));
    if (this.meta('refresh_lead') !== lead) this.setMeta('refresh_lead', lead);
  }

  /** The alarm's refresh-ahead: tokens near expiry, for a user active within the window; an idle user's are left for their next request. */
  async #refreshAhead(): Promise<void> {
    const refreshAt = this.meta('refresh_at');
    const windowMs = this.#activeWindowMs();
    if (refreshAt === null || Number(refreshAt) > Date.now()) return;
    this.setMeta('refresh_at', null);
    if (windowMs === null || Date.now() - Number(this.meta('active_at') ?? 0) > windowMs) return;
    const lead = Number(this.meta('refresh_lead') ?? REFRESH_AHEAD_MS);
    for (const token of await this.#parts.tokens.store().getTokens()) {
      if (token.expiryTime === null || token.expiryTime - Date.now() > lead) continue;
      try {
        // Single-flight with any request refreshing at the same moment; the next refresh point follows the new expiry.
        const fresh = await this.#parts.manager().freshToken({ id: token.id }, { skewMs: lead });
        this.learnLifetime(fresh.expiryTime);
        const next = fresh.expiryTime === null ? null : fresh.expiryTime - Number(this.meta('refresh_lead'));
        // Never re-armed at or before now: a refresh that did not move the expiry past its point waits for a request.
        if (next !== null && next > Date.now()) this.setMeta('refresh_at', String(next));
      } catch (error) {
        // A dead login or a busy Zoho: the user's next request meets it as it would have; the alarm goes on.
        if (!isTokenStoreError(error)) throw error;
      }
    }
  }

  /** The idle period, or null when the deployment does not purge. */
  idleMs(): number | null {
    const days = Number(this.#parts.env.IDLE_PURGE_DAYS);
    return this.#parts.env.IDLE_PURGE_DAYS && days > 0 ? days * DAY_MS : null;
  }

  /** When the idle purge should next look: the earliest moment a token here could be idle. */
  async planPurge(): Promise<void> {
    const idleMs = this.idleMs();
    const expiries = idleMs === null ? [] : (await this.#parts.tokens.store().getTokens()).map((t) => t.expiryTime).filter((t): t is number => t !== null);
    this.setMeta('purge_at', expiries.length > 0 ? String(Math.min(...expiries) + idleMs!) : null);
  }

  /** Under an old key, or in the older sealed format under the current one: re-sealed by the alarm. */
  #staleKeys(records: RecordState[]): boolean {
    return records.some((record) => !record.current);
  }

  /** Whether records here may still carry a client secret (written before logins stopped storing it). */
  #secretsToDrop(records: RecordState[]): boolean {
    return this.meta('secrets_dropped') === null && records.length > 0;
  }

  /**
   * The key ids that seal this object's records (none when it holds no token). A record under
   * the current key in the older sealed format shows as `<key id>:v1`: not the current key, so
   * operators' re-seal and /admin/keys treat it as one to re-seal.
   */
  #keyIds(records: RecordState[]): string[] {
    const current = this.#parts.env.TOKEN_STORE_CURRENT_KEY;
    const ids = records.map((r) => (r.keyId === current && !r.current ? `${r.keyId}:v1` : r.keyId));
    return [...new Set(ids)].sort();
  }

  /** What the directory and operators see, from one read of the records. */
  state(records = this.#parts.tokens.records()): { keyIds: string[]; tokens: number; sessions: number } {
    const sessions = this.#parts.sql().exec<{ n: number }>('SELECT count(*) AS n FROM ets_sessions WHERE expires_at > ?', Date.now()).one().n;
    return { keyIds: this.#keyIds(records), tokens: records.length, sessions };
  }

  /** The directory hears of an object once it holds something, and again when its key ids, its connection's status or its last error change. */
  #reportKey(keyIds: string[], connection: Connection | null, lastError: LastError | null): string {
    const parts = [keyIds.join(','), connection && `${connection.status}@${connection.since}`, lastError && `${lastError.code}@${lastError.at}`];
    return parts.filter((part) => part !== null).join('|');
  }

  /**
   * Sets the alarm for the next piece of housekeeping, if it is due before the one set (from
   * the alarm itself, always: the alarm that is running is no longer set).
   */
  async schedule(fromAlarm = false): Promise<void> {
    // The alarm as set, read before the state: what is due is then what is stored when the
    // alarm is set, not what was before an await (a schedule from a token event can await
    // while the alarm runs and clears what it was going to wake for).
    const set = fromAlarm ? null : await this.#parts.ctx.storage.getAlarm();
    const sql = this.#parts.sql();
    const reported = this.meta('reported') ?? '';
    const [purgeAt, refreshAt] = this.metas('purge_at', 'refresh_at');
    const times = [
      this.connection.tallyDueAt(),
      sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM ets_sessions').one().at,
      purgeAt === null ? null : Number(purgeAt),
      refreshAt === null ? null : Number(refreshAt),
      this.connection.outbox.nextAt(),
    ];
    const earliest = times.filter((t): t is number => t !== null).sort((a, b) => a - b)[0] ?? null;
    // A session may be past its expiry and not yet swept: its sweep is due now, not in the past.
    const due =
      reported !== this.#reportKey(this.#keyIds(this.#parts.tokens.records()), this.connection.current(), this.connection.lastError())
        ? Date.now()
        : earliest === null
          ? null
          : Math.max(earliest, Date.now());
    if (due === null) return;
    if (set === null || set > due) await this.#parts.ctx.storage.setAlarm(due);
  }

  /** The alarm's work: sweeps, secrets dropped, re-sealing, refresh ahead, the idle purge, the directory report; then the next alarm. */
  async run(): Promise<void> {
    const { tokens, manager, env, ctx } = this.#parts;
    const sql = this.#parts.sql();
    sql.exec('DELETE FROM ets_sessions WHERE expires_at <= ?', Date.now());
    if (this.#secretsToDrop(tokens.records())) {
      const store = tokens.store();
      for (const token of await store.getTokens()) if (token.clientSecret !== null) await store.saveToken({ id: token.id, clientSecret: null });
      this.setMeta('secrets_dropped', String(Date.now()));
    }
    // Read again: dropping secrets re-seals what it saves.
    if (this.#staleKeys(tokens.records())) await tokens.store().rotate();
    await this.#refreshAhead();
    const idleMs = this.idleMs();
    if (idleMs !== null && this.meta('purge_at') === null) await this.planPurge();
    const purgeAt = this.meta('purge_at');
    if (idleMs !== null && purgeAt !== null && Number(purgeAt) <= Date.now()) {
      await manager().purgeIdle({ idleMs });
      // Sessions of the tokens the purge deleted end with them.
      const kept = new Set(tokens.records().map((r) => r.id));
      for (const { token_id } of sql.exec<{ token_id: string }>('SELECT DISTINCT token_id FROM ets_sessions').toArray()) {
        if (!kept.has(token_id)) sql.exec('DELETE FROM ets_sessions WHERE token_id = ?', token_id);
      }
      await this.planPurge();
    }
    // A change the work above caused (a purge) is written before the report.
    await this.connection.settled();
    const state = this.state();
    const connection = this.connection.current();
    const lastError = this.connection.lastError();
    const report = this.#reportKey(state.keyIds, connection, lastError);
    const id = ctx.id.toString();
    const directory = env[this.#parts.directoryBinding] as DurableObjectNamespace<ZohoDirectory>;
    const shard = directory.get(directory.idFromName(await shardOf(id)));
    // A failure throws: the runtime retries the alarm with backoff.
    if (report !== (this.meta('reported') ?? '')) {
      const { keyIds, tokens: count, sessions } = state;
      await shard.report({ id, keyIds, tokens: count, sessions, connection, lastError } satisfies DirectoryEntry);
      this.setMeta('reported', report);
    }
    await this.connection.reportActivity(shard);
    // Events after the directory heard: an app that hears of a change and asks /admin/connections finds it.
    await this.connection.outbox.deliver();
    await this.schedule(true);
  }
}
