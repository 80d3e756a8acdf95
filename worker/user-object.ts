/**
 * One Zoho user's object: the library's token store object (their token, sealed; the refresh,
 * single-flight) plus their sessions, so that a proxied call is one call to one object: it
 * checks the session and hands back a fresh access token.
 *
 * Housekeeping runs in the object's alarm, never on a request path: expired sessions go by an
 * index on their expiry; records sealed under a key that is no longer current are re-sealed
 * (checked once per wake, through the index on key id); and the object reports what it holds
 * (key ids, counts; no name, no token) to its directory shard, for operators.
 * Only SHA-256 hashes of session ids are stored, so a copy of storage cannot be replayed.
 */
import { objectInternals, TokenStoreObject, type ObjectInternals, type Outcome } from '../src/durable-object.ts';
import type { OAuthToken, RefreshOptions } from '../src/types.ts';
import type { ZohoTokens } from '../src/zoho.ts';
import type { DirectoryEntry } from './directory.ts';
import type { Env } from './env.ts';
import { DIRECTORY_SHARDS, bucketOf } from './objects.ts';
import { randomId, sha256 } from './signing.ts';
import { sqlWithSchema } from './sql.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS sessions_token ON sessions (token_id)`,
  `CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at)`,
  // What this object last told the directory, so it reports only changes.
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
];

/** What an operator sees of one object: counts and key ids, never a name or a token. */
export interface ObjectStats {
  calls: number;
  tokens: number;
  sessions: number;
  keyIds: string[];
}

export class UserTokensObject extends TokenStoreObject {
  #internals: ObjectInternals = this[objectInternals]();
  #tables = sqlWithSchema(this.ctx.storage, SCHEMA);
  #awake = false;

  #sql() {
    const sql = this.#tables();
    if (!this.#awake) {
      this.#awake = true;
      this.#internals.store(); // creates the tokens table
      // On wake: records under an old key get re-sealed by the alarm, not on this request.
      if (this.#staleKeys()) void this.ctx.storage.setAlarm(Date.now());
    }
    return sql;
  }

  #staleKeys(): boolean {
    const current = this.env.TOKEN_STORE_CURRENT_KEY;
    return this.ctx.storage.sql.exec('SELECT 1 FROM tokens WHERE key_id != ? LIMIT 1', current).toArray().length > 0;
  }

  #state(): { keyIds: string[]; tokens: number; sessions: number } {
    const sql = this.#sql();
    const keyIds = sql.exec<{ key_id: string }>('SELECT DISTINCT key_id FROM tokens ORDER BY key_id').toArray().map((r) => r.key_id);
    const tokens = sql.exec<{ n: number }>('SELECT count(*) AS n FROM tokens').one().n;
    const sessions = sql.exec<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE expires_at > ?', Date.now()).one().n;
    return { keyIds, tokens, sessions };
  }

  /** The directory hears of an object once it holds something, and again when its key ids change. */
  #reportKey(): string {
    const { keyIds, tokens } = this.#state();
    return tokens > 0 ? keyIds.join(',') : '';
  }

  /** Sets the alarm for the next piece of housekeeping, if it is due before the one set. */
  async #schedule(): Promise<void> {
    const sql = this.#sql();
    const reported = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'reported'").toArray()[0]?.value ?? '';
    const earliest = sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM sessions').one().at;
    // A session may be past its expiry and not yet swept: its sweep is due now, not in the past.
    const due = reported !== this.#reportKey() ? Date.now() : earliest === null ? null : Math.max(earliest, Date.now());
    if (due === null) return;
    const set = await this.ctx.storage.getAlarm();
    if (set === null || set > due) await this.ctx.storage.setAlarm(due);
  }

  async #startSession(tokenId: string, ttlSeconds: number): Promise<string> {
    const id = randomId();
    this.#sql().exec('INSERT INTO sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', await sha256(id), tokenId, Date.now() + ttlSeconds * 1000);
    await this.#schedule();
    return id;
  }

  async #sessionTokenId(sessionId: string): Promise<string | null> {
    const rows = this.#sql()
      .exec<{ token_id: string }>('SELECT token_id FROM sessions WHERE id_hash = ? AND expires_at > ?', await sha256(sessionId), Date.now())
      .toArray();
    return rows[0]?.token_id ?? null;
  }

  /** Stores the tokens of a login (exchanged by the Worker) and starts a session on them. */
  login(answer: ZohoTokens, userName: string, redirectUrl: string | null, ttlSeconds: number): Promise<Outcome<{ tokenId: string; sessionId: string }>> {
    return this.#internals.answer(async () => {
      const saved = await this.#internals.manager().saveGrant(answer, { userName, redirectUrl: redirectUrl ?? undefined });
      return { tokenId: saved.id, sessionId: await this.#startSession(saved.id, ttlSeconds) };
    });
  }

  /**
   * The token of a live session: as stored (`refresh` null), or refreshed here, single-flight,
   * when fewer than `refresh.skewMs` remain. Null when the session is unknown or expired.
   */
  session(sessionId: string, refresh: RefreshOptions | null): Promise<Outcome<OAuthToken | null>> {
    return this.#internals.answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return null;
      if (!refresh) return this.#internals.store().findTokenById(tokenId);
      return this.#internals.manager().freshToken({ id: tokenId }, refresh);
    });
  }

  endSession(sessionId: string): Promise<Outcome<void>> {
    return this.#internals.answer(async () => {
      this.#sql().exec('DELETE FROM sessions WHERE id_hash = ?', await sha256(sessionId));
    });
  }

  /** Revokes the session's token at Zoho, deletes it and ends all its sessions; false without a live session. */
  revokeSession(sessionId: string): Promise<Outcome<boolean>> {
    return this.#internals.answer(async () => {
      const tokenId = await this.#sessionTokenId(sessionId);
      if (!tokenId) return false;
      await this.#internals.manager().revoke({ id: tokenId });
      this.#sql().exec('DELETE FROM sessions WHERE token_id = ?', tokenId);
      await this.#schedule();
      return true;
    });
  }

  /** Takes over a session from the single-object layout (its hash, as that layout stored it). */
  importSession(idHash: string, tokenId: string, expiresAt: number): Promise<Outcome<void>> {
    return this.#internals.answer(async () => {
      this.#sql().exec('INSERT OR REPLACE INTO sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', idHash, tokenId, expiresAt);
      await this.#schedule();
    });
  }

  /** Re-seals now what an old key sealed (operators: POST /admin/reseal); answers how many records. */
  reseal(): Promise<Outcome<number>> {
    return this.#internals.answer(async () => {
      const resealed = await this.#internals.store().rotate();
      // Report again even if nothing changed here: the operator asked because the directory says otherwise.
      this.#sql().exec("DELETE FROM meta WHERE key = 'reported'");
      await this.#schedule();
      return resealed;
    });
  }

  /** For operators and the benchmark. Not counted as a call. */
  stats(): ObjectStats {
    return { calls: this.#internals.calls(), ...this.#state() };
  }

  override async alarm(): Promise<void> {
    const sql = this.#sql();
    sql.exec('DELETE FROM sessions WHERE expires_at <= ?', Date.now());
    if (this.#staleKeys()) await this.#internals.store().rotate();
    const report = this.#reportKey();
    const reported = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'reported'").toArray()[0]?.value ?? '';
    if (report !== reported) {
      const { keyIds, tokens, sessions } = this.#state();
      const id = this.ctx.id.toString();
      const env = this.env as unknown as Env;
      const shard = env.DIRECTORY.get(env.DIRECTORY.idFromName(`directory-${await bucketOf(id, DIRECTORY_SHARDS)}`));
      // A failure throws: the runtime retries the alarm with backoff.
      await shard.report({ id, keyIds, tokens, sessions } satisfies DirectoryEntry);
      sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('reported', ?)", report);
    }
    const earliest = sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM sessions').one().at;
    if (earliest !== null) await this.ctx.storage.setAlarm(earliest);
  }
}
