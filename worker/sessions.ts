/**
 * Server-side sessions and single-use login states, in one SQLite Durable Object. Only
 * SHA-256 hashes of session ids and state nonces are stored, so a copy of this storage
 * cannot be replayed as a cookie. A session names a token id, never a token.
 */
import { DurableObject } from 'cloudflare:workers';
import { randomId, sha256 } from './signing.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS sessions_token ON sessions (token_id)`,
  `CREATE TABLE IF NOT EXISTS used_states (nonce_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`,
];

export class SessionsObject extends DurableObject {
  #ready = false;

  #sql() {
    const { sql } = this.ctx.storage;
    if (!this.#ready) {
      for (const statement of SCHEMA) sql.exec(statement);
      this.#ready = true;
    }
    return sql;
  }

  #sweep(now: number): void {
    const sql = this.#sql();
    sql.exec('DELETE FROM sessions WHERE expires_at <= ?', now);
    sql.exec('DELETE FROM used_states WHERE expires_at <= ?', now);
  }

  /** Starts a session for a token; returns the session id (only its hash is kept). */
  async start(tokenId: string, ttlSeconds: number): Promise<string> {
    const now = Date.now();
    this.#sweep(now);
    const id = randomId();
    this.#sql().exec('INSERT INTO sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', await sha256(id), tokenId, now + ttlSeconds * 1000);
    return id;
  }

  /** The token id of a live session, or null. */
  async resolve(id: string): Promise<string | null> {
    const rows = this.#sql()
      .exec<{ token_id: string }>('SELECT token_id FROM sessions WHERE id_hash = ? AND expires_at > ?', await sha256(id), Date.now())
      .toArray();
    return rows[0]?.token_id ?? null;
  }

  async end(id: string): Promise<void> {
    this.#sql().exec('DELETE FROM sessions WHERE id_hash = ?', await sha256(id));
  }

  /** Ends every session of a token (after a revoke). */
  endAllFor(tokenId: string): void {
    this.#sql().exec('DELETE FROM sessions WHERE token_id = ?', tokenId);
  }

  /** Marks a login state nonce used; false when it was used before (a replay). */
  async consumeState(nonce: string, expiresAt: number): Promise<boolean> {
    this.#sweep(Date.now());
    const hash = await sha256(nonce);
    if (this.#sql().exec('SELECT 1 FROM used_states WHERE nonce_hash = ?', hash).toArray().length > 0) return false;
    this.#sql().exec('INSERT INTO used_states (nonce_hash, expires_at) VALUES (?, ?)', hash, expiresAt);
    return true;
  }
}
