/**
 * Single-use login states, in bucket objects `states-<k>` (worker/objects.ts names them; none
 * is shared by every request). A state's bucket is picked at random at login and signed into
 * the state, so logins spread over the buckets and a state is always checked where it was
 * first used, whatever the bucket count is later. Expired rows go by an index on their expiry,
 * in the alarm. Only hashes are stored.
 */
import { HOUSEKEEPING, ZohoLibraryObject, type ObjectSchema } from './library-object.ts';
import { sha256 } from './signing.ts';

const SCHEMA: ObjectSchema = {
  part: 'login_states',
  migrations: [
    [
      `CREATE TABLE ets_login_states (binding_hash TEXT PRIMARY KEY, claim TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
      `CREATE INDEX ets_login_states_expiry ON ets_login_states (expires_at)`,
    ],
  ],
};

/**
 * Single-use login states, in buckets (bind as `ZOHO_LOGIN_STATES`): only hashes, swept by
 * their expiry.
 *
 * ```ts
 * export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from 'edge-token-store/worker';
 * ```
 */
export class ZohoLoginStates extends ZohoLibraryObject<Cloudflare.Env> {
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env, [SCHEMA]);
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
    const used = this.sql().exec<{ claim: string }>('SELECT claim FROM ets_login_states WHERE binding_hash = ?', hash).toArray()[0];
    if (used) return used.claim === claim;
    this.sql().exec('INSERT INTO ets_login_states (binding_hash, claim, expires_at) VALUES (?, ?, ?)', hash, claim, expiresAt);
    await this.#sweepBy(expiresAt);
    return true;
  }

  /** Expired states go; the alarm is set for the next expiry. */
  protected async [HOUSEKEEPING](): Promise<void> {
    const sql = this.sql();
    sql.exec('DELETE FROM ets_login_states WHERE expires_at <= ?', Date.now());
    const next = sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM ets_login_states').one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}
