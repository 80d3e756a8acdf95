/**
 * A user object's outbox of connection events: written in the same turn as the status change
 * it tells of, sealed (an event names the user), and delivered from the object's alarm, oldest
 * first, to the queue bound as `CONNECTION_EVENTS` and/or the webhook at `CONNECTION_WEBHOOK_URL`.
 * A row leaves when every destination took it, or after `RETRY_DELAYS_MS.length + 1` attempts
 * (an audit line says so). A restart mid-delivery finds the row still there and tries again:
 * at least once, and one event id across tries.
 */
import { isTokenStoreError } from '../store/errors.ts';
import { checkWebhookSettings, webhookHeaders, type ConnectionEvent } from './connection-events.ts';
import { audit } from './http.ts';

/** What the outbox reads from the Worker's environment (unset: that destination is off). */
export interface ConnectionEventsEnv {
  /** A Cloudflare Queue producer: each event is one message (the platform retries its consumer). */
  CONNECTION_EVENTS?: Queue;
  /** Where events are POSTed, signed per Standard Webhooks (https, or http on loopback for local runs). */
  CONNECTION_WEBHOOK_URL?: string;
  /** A secret: `whsec_` and base64 of 24 to 64 random bytes (Standard Webhooks' advice); signs each webhook. */
  CONNECTION_WEBHOOK_SECRET?: string;
}

/** The waits after each failed attempt; after the last one fails, the event is given up (about 23 hours after the change). */
// Short at first (an endpoint restarting, a deploy), then hours apart.
export const RETRY_DELAYS_MS = [1_000, 3_000, 10_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000];
/** How long one webhook attempt may take. */
const WEBHOOK_TIMEOUT_MS = 15_000;

/** Version 2 of the user object's schema: the outbox. `queued`: the queue has the event (a retry is for the webhook only). */
export const OUTBOX_MIGRATION = [
  `CREATE TABLE ets_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, sealed TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, queued INTEGER NOT NULL DEFAULT 0, last_error TEXT)`,
] as const;

type Row = { seq: number; event_id: string; sealed: string; attempts: number; next_at: number; queued: number };

export interface OutboxParts {
  sql: () => SqlStorage;
  env: ConnectionEventsEnv;
  /** Seals and opens an event's JSON with the object's key ring (bound to this object and the event's id). */
  seal: (plaintext: string, eventId: string) => Promise<string>;
  open: (sealed: string, eventId: string) => Promise<string>;
  /** The keyed name of the user, for the audit line of an event given up (null when unknown). */
  user: () => string | null;
}

export class EventOutbox {
  readonly #parts: OutboxParts;
  /** The delivery under way: a second alarm run meanwhile joins it rather than sending the same event again. */
  #delivering: Promise<void> | null = null;

  constructor(parts: OutboxParts) {
    this.#parts = parts;
  }

  /** Whether the deployment takes events at all: none are kept when it does not. */
  wanted(): boolean {
    const { CONNECTION_EVENTS, CONNECTION_WEBHOOK_URL } = this.#parts.env;
    return CONNECTION_EVENTS !== undefined || Boolean(CONNECTION_WEBHOOK_URL);
  }

  /** The event sealed, ready for `add` (sealing awaits; the add that follows does not). */
  async prepare(event: ConnectionEvent): Promise<{ id: string; sealed: string }> {
    return { id: event.id, sealed: await this.#parts.seal(JSON.stringify(event), event.id) };
  }

  /** Queues a prepared event for delivery now. Synchronous: it lands with the status write before it. */
  add(prepared: { id: string; sealed: string }): void {
    this.#parts.sql().exec('INSERT INTO ets_outbox (event_id, sealed, next_at) VALUES (?, ?, ?)', prepared.id, prepared.sealed, Date.now());
  }

  /** When the oldest event is next due (the alarm's business), or null when the outbox is empty. */
  nextAt(): number | null {
    return this.#parts.sql().exec<{ at: number | null }>('SELECT min(next_at) AS at FROM ets_outbox').one().at;
  }

  /** Delivers due events in order, stopping at the first that fails (later ones wait: in order per user). Never throws. */
  deliver(): Promise<void> {
    this.#delivering ??= this.#deliverDue().finally(() => {
      this.#delivering = null;
    });
    return this.#delivering;
  }

  async #deliverDue(): Promise<void> {
    const sql = this.#parts.sql();
    for (;;) {
      const row = sql.exec<Row>('SELECT seq, event_id, sealed, attempts, next_at, queued FROM ets_outbox ORDER BY seq LIMIT 1').toArray()[0];
      if (!row || row.next_at > Date.now()) return;
      const error = await this.#attempt(row);
      if (error === null) {
        sql.exec('DELETE FROM ets_outbox WHERE seq = ?', row.seq);
        continue;
      }
      const attempts = row.attempts + 1;
      if (attempts > RETRY_DELAYS_MS.length) {
        sql.exec('DELETE FROM ets_outbox WHERE seq = ?', row.seq);
        audit({ audit: 'event_given_up', user: this.#parts.user(), event: row.event_id, attempts, code: error });
        continue;
      }
      sql.exec(
        'UPDATE ets_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE seq = ?',
        attempts,
        Date.now() + RETRY_DELAYS_MS[attempts - 1]!,
        error,
        row.seq,
      );
      return;
    }
  }

  /** One attempt at every destination that does not have the event yet: null when all took it, else what failed. */
  async #attempt(row: Row): Promise<string | null> {
    const { env } = this.#parts;
    try {
      const body = await this.#parts.open(row.sealed, row.event_id);
      if (env.CONNECTION_EVENTS && !row.queued) {
        await env.CONNECTION_EVENTS.send(JSON.parse(body) as ConnectionEvent, { contentType: 'json' });
        this.#parts.sql().exec('UPDATE ets_outbox SET queued = 1 WHERE seq = ?', row.seq);
      }
      if (env.CONNECTION_WEBHOOK_URL) return await this.#post(env.CONNECTION_WEBHOOK_URL, row.event_id, body);
      return null;
    } catch (error) {
      return isTokenStoreError(error) ? error.code : 'DELIVERY_FAILED';
    }
  }

  /** One signed POST; the event names the user, so a redirect is not followed. Null on 2xx. */
  async #post(url: string, id: string, body: string): Promise<string | null> {
    const secret = this.#parts.env.CONNECTION_WEBHOOK_SECRET;
    checkWebhookSettings(url, secret);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await webhookHeaders(secret, id, body)) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? null : `HTTP_${response.status}`;
  }
}
