/**
 * Small shared pieces of the login flow, one class for two kinds of bucket object
 * (worker/objects.ts names them; none is shared by every request):
 *   - `states-<k>`: single-use login states. A state's bucket is picked at random at login and
 *     signed into the state, so logins spread over the buckets and a state is always checked
 *     where it was first used, whatever the bucket count is later.
 *   - `refs-<k>`: what the upgrade from the single-object layout left behind, so that an old
 *     session cookie or API key finds its user's object.
 * Expired rows go by an index on their expiry, in the alarm. Only hashes are stored.
 * The class keeps its old name (`SessionsObject`): the single-object layout kept every
 * session in its instance `sessions`, which the upgrade reads once and then empties.
 */
import { DurableObject } from 'cloudflare:workers';
import { pinAlarm } from './alarm.ts';
import { sqlWithSchema } from './sql.ts';
import { sha256 } from './signing.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS login_states (nonce_hash TEXT PRIMARY KEY, claim TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS login_states_expiry ON login_states (expires_at)`,
  `CREATE TABLE IF NOT EXISTS refs (key_hash TEXT PRIMARY KEY, target TEXT NOT NULL, expires_at INTEGER)`,
  `CREATE INDEX IF NOT EXISTS refs_expiry ON refs (expires_at)`,
];

/** A session as the single-object layout stored it. */
export type LegacySession = {
  id_hash: string;
  token_id: string;
  expires_at: number;
};

export class SessionsObject extends DurableObject {
  #sql = sqlWithSchema(this.ctx.storage, SCHEMA);

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    pinAlarm(this, SessionsObject);
  }

  /** Wakes the alarm for `at` unless it is already due sooner. */
  async #sweepBy(at: number): Promise<void> {
    const set = await this.ctx.storage.getAlarm();
    if (set === null || set > at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Marks a login state used (`binding`: the keyed hash its state names). True for its first
   * use, and again for the same `claim` (a retry of the same callback after a transient fault);
   * false for a replay.
   */
  async consumeState(binding: string, expiresAt: number, claim: string): Promise<boolean> {
    const hash = await sha256(binding);
    const used = this.#sql().exec<{ claim: string }>('SELECT claim FROM login_states WHERE nonce_hash = ?', hash).toArray()[0];
    if (used) return used.claim === claim;
    this.#sql().exec('INSERT INTO login_states (nonce_hash, claim, expires_at) VALUES (?, ?, ?)', hash, claim, expiresAt);
    await this.#sweepBy(expiresAt);
    return true;
  }

  /** Remembers where something of the old layout went (`key`: "session:<hash>" or "token:<id>"). */
  async putRef(key: string, target: string, expiresAt: number | null): Promise<void> {
    this.#sql().exec('INSERT OR REPLACE INTO refs (key_hash, target, expires_at) VALUES (?, ?, ?)', await sha256(key), target, expiresAt);
    if (expiresAt !== null) await this.#sweepBy(expiresAt);
  }

  async getRef(key: string): Promise<string | null> {
    const rows = this.#sql()
      .exec<{ target: string }>('SELECT target FROM refs WHERE key_hash = ? AND (expires_at IS NULL OR expires_at > ?)', await sha256(key), Date.now())
      .toArray();
    return rows[0]?.target ?? null;
  }

  #hasLegacySessions(): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").toArray().length > 0;
  }

  /** Up to `limit` live sessions the single-object layout kept here (none once the upgrade is done). */
  exportLegacySessions(limit: number): LegacySession[] {
    if (!this.#hasLegacySessions()) return [];
    return this.ctx.storage.sql.exec<LegacySession>('SELECT id_hash, token_id, expires_at FROM sessions WHERE expires_at > ? ORDER BY id_hash LIMIT ?', Date.now(), limit).toArray();
  }

  /** Deletes sessions the upgrade has carried (or found dead). */
  dropLegacySessionRows(idHashes: string[]): void {
    if (!this.#hasLegacySessions()) return;
    for (const idHash of idHashes) this.ctx.storage.sql.exec('DELETE FROM sessions WHERE id_hash = ?', idHash);
  }

  dropLegacySessions(): void {
    this.ctx.storage.sql.exec('DROP TABLE IF EXISTS sessions');
    this.ctx.storage.sql.exec('DROP TABLE IF EXISTS used_states');
  }

  /** The housekeeping, then `onAlarm()`; pinned (alarm.ts). */
  override async alarm(): Promise<void> {
    await this.#housekeeping().then(() => this.onAlarm());
  }

  /** A subclass's work at each alarm, after the housekeeping. */
  protected onAlarm(): void | Promise<void> {}

  async #housekeeping(): Promise<void> {
    const sql = this.#sql();
    const now = Date.now();
    sql.exec('DELETE FROM login_states WHERE expires_at <= ?', now);
    sql.exec('DELETE FROM refs WHERE expires_at <= ?', now);
    const next = sql
      .exec<{ at: number | null }>('SELECT min(at) AS at FROM (SELECT min(expires_at) AS at FROM login_states UNION ALL SELECT min(expires_at) FROM refs)')
      .one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}
