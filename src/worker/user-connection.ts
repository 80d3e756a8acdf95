/**
 * A user object's Zoho connection: its status (the note `connection`), the event each change
 * makes (written in the same turn, into the outbox: event-outbox.ts), the last transient error,
 * and the operators' chart's counts. `noteTokenEvent` says what the token manager's events do
 * to it. The alarm (user-upkeep.ts) reports it to the directory and delivers the events.
 */
import type { ObjectTokens } from '../backends/object-base.ts';
import type { TokenEvent } from '../zoho/token-manager.ts';
import { eventTypeOf, userNameParts, type ConnectionEvent, type ConnectionEventType, type ConnectionStatus } from './connection-events.ts';
import type { Activity, ActivityKind, Connection, LastError, ZohoDirectory } from './directory.ts';
import { EventOutbox, type ConnectionEventsEnv } from './event-outbox.ts';
import { writeMetric, type MetricsEnv } from './metrics.ts';
import { randomId } from './signing.ts';

const HOUR_MS = 3_600_000;
/** Counts for the chart wait this long before the alarm reports them (one directory call for a burst, off the request that counted). */
const TALLY_DELAY_MS = 5_000;
/** The same transient error is noted again at most this often. */
const TROUBLE_RESOLUTION_MS = 60_000;

/** The token events that end a connection, and the status (and reason) each leaves. */
const ENDED_BY = { revoke: ['revoked', null], erase: ['erased', null], purge: ['purged', 'idle'] } as const satisfies Partial<
  Record<TokenEvent['type'], readonly [ConnectionStatus, string | null]>
>;

/** The object's notes (`ets_meta`), as the upkeep keeps them. */
export interface ObjectNotes {
  meta(key: string): string | null;
  metas(...keys: string[]): (string | null)[];
  setMeta(key: string, value: string | null): void;
}

export interface ConnectionParts {
  ctx: DurableObjectState;
  env: ConnectionEventsEnv & MetricsEnv;
  tokens: ObjectTokens;
  sql: () => SqlStorage;
  notes: ObjectNotes;
  /** Sets the alarm for what is now due (the upkeep's `schedule`). */
  schedule: () => Promise<void>;
}

/** Who a change is about: their user name for the event (null when no longer known), and a data center when it is new. */
export interface ChangeAbout {
  userName?: string | null;
  dataCenter?: string | null;
}

export class UserConnection {
  readonly outbox: EventOutbox;
  readonly #parts: ConnectionParts;
  /** The changes, in order: each reads the status the one before wrote (see `set`). */
  #changes: Promise<void> = Promise.resolve();

  constructor(parts: ConnectionParts) {
    this.#parts = parts;
    this.outbox = new EventOutbox({
      sql: parts.sql,
      env: parts.env,
      seal: (plaintext, id) => parts.tokens.seal(plaintext, `event:${id}`),
      open: (sealed, id) => parts.tokens.open(sealed, `event:${id}`),
      user: () => parts.notes.meta('user'),
    });
  }

  /** The connection, or null before any login (or for tokens imported and never used). */
  current(): Connection | null {
    const raw = this.#parts.notes.meta('connection');
    return raw === null ? null : (JSON.parse(raw) as Connection);
  }

  /**
   * Records a change of status (the same status and reason again is no change) and, when the
   * deployment takes events, its event, written together. An erase keeps only the status and
   * its time. The caller's next `schedule()` wakes the alarm to tell the directory and deliver.
   */
  set(status: ConnectionStatus, reason: string | null = null, about: ChangeAbout = {}): Promise<void> {
    const change = this.#changes.then(() => this.#change(status, reason, about));
    this.#changes = change.catch(() => {});
    return change;
  }

  /** Resolves once every change asked for so far is written. */
  settled(): Promise<void> {
    return this.#changes;
  }

  async #change(status: ConnectionStatus, reason: string | null, about: ChangeAbout): Promise<void> {
    const before = this.current();
    if (before?.status === status && before.reason === reason) return;
    const dataCenter = about.dataCenter === undefined ? (before?.dataCenter ?? null) : about.dataCenter;
    const erased = status === 'erased';
    const connection: Connection = { status, since: Date.now(), reason: erased ? null : reason, dataCenter: erased ? null : dataCenter };
    const type = eventTypeOf(before?.status ?? null, status);
    const event = type && this.outbox.wanted() ? await this.outbox.prepare(this.#event(type, connection, dataCenter, about.userName ?? null)) : null;
    // No await from here: the status and its event are written together.
    this.#parts.notes.setMeta('connection', JSON.stringify(connection));
    if (event) this.outbox.add(event);
    writeMetric(this.#parts.env, 'status', status, dataCenter);
    if (type === 'connection.reauth_required') this.#tally('refusals');
    if (type === 'connection.recovered') this.#tally('reauths');
  }

  #event(type: ConnectionEventType, connection: Connection, dataCenter: string | null, userName: string | null): ConnectionEvent {
    const [user = null, reconnectUrl = null] = this.#parts.notes.metas('user', 'reconnect_url');
    return {
      id: `msg_${randomId(18)}`,
      type,
      timestamp: new Date(connection.since).toISOString(),
      data: {
        userName,
        ...userNameParts(userName),
        user,
        objectId: this.#parts.ctx.id.toString(),
        dataCenter,
        status: connection.status,
        reason: connection.reason,
        reconnectUrl,
      },
    };
  }

  /**
   * What a token event does: a refresh refused for good makes the connection `needs_reauth`
   * (with Zoho's reason); a revoke, an erase or a purge ends it; Zoho busy or down is only the
   * last error. Refreshes are counted for the chart and the metrics.
   */
  noteTokenEvent(event: TokenEvent): void {
    const { type } = event;
    if (type === 'refresh' || type === 'refresh_failed')
      writeMetric(this.#parts.env, 'refresh', type === 'refresh' ? 'ok' : (event.code ?? 'UNKNOWN'), this.current()?.dataCenter ?? null);
    if (type === 'refresh') this.#tally('refreshes');
    const ended = Object.hasOwn(ENDED_BY, type) ? ENDED_BY[type as keyof typeof ENDED_BY] : null;
    const dead = type === 'refresh_failed' && event.code === 'REAUTH_REQUIRED';
    if (ended || dead) {
      const [status, reason] = ended ?? ['needs_reauth', event.zohoError ?? event.code ?? null];
      void this.set(status, reason, { userName: event.userName })
        .then(() => this.#parts.schedule())
        .catch(() => {});
      return;
    }
    if (type === 'refresh_failed' || type === 'backoff') this.#noteTrouble(event.code ?? 'UNKNOWN');
    if (type === 'refresh' || type === 'refresh_failed' || type === 'backoff') void this.#parts.schedule().catch(() => {});
  }

  /** What a login tells the object for its events: the keyed name of its user, and where they log in again. */
  noteLogin(user: string, reconnectUrl: string | null): void {
    const { notes } = this.#parts;
    const [knownUser, knownUrl] = notes.metas('user', 'reconnect_url');
    if (knownUser !== user) notes.setMeta('user', user);
    if (knownUrl !== reconnectUrl) notes.setMeta('reconnect_url', reconnectUrl);
  }

  /** Transient trouble: no change of status, but the last error with its time, written at most once a minute per code. */
  #noteTrouble(code: string): void {
    const last = this.lastError();
    if (last?.code === code && Date.now() - last.at < TROUBLE_RESOLUTION_MS) return;
    this.#parts.notes.setMeta('last_error', JSON.stringify({ code, at: Date.now() } satisfies LastError));
  }

  lastError(): LastError | null {
    const raw = this.#parts.notes.meta('last_error');
    return raw === null ? null : (JSON.parse(raw) as LastError);
  }

  /** Counts one of the chart's events in its hour; the alarm hands the counts to the directory within seconds. */
  #tally(kind: ActivityKind): void {
    const { notes } = this.#parts;
    const hour = String(Math.floor(Date.now() / HOUR_MS) * HOUR_MS);
    const [raw = null, at = null] = notes.metas('tally', 'tally_at');
    const tally = raw === null ? {} : (JSON.parse(raw) as Activity);
    const counts = (tally[hour] ??= {});
    counts[kind] = (counts[kind] ?? 0) + 1;
    notes.setMeta('tally', JSON.stringify(tally));
    if (at === null) notes.setMeta('tally_at', String(Date.now() + TALLY_DELAY_MS));
  }

  /** When counts wait to be reported, or null. */
  tallyDueAt(): number | null {
    const at = this.#parts.notes.meta('tally_at');
    return at === null ? null : Number(at);
  }

  /** Hands the chart's counts to the directory shard: taken out first, so counts made meanwhile wait for the next report; put back if it fails. */
  async reportActivity(shard: DurableObjectStub<ZohoDirectory>): Promise<void> {
    const { notes } = this.#parts;
    const raw = notes.meta('tally');
    if (raw === null) return;
    notes.setMeta('tally', null);
    notes.setMeta('tally_at', null);
    try {
      await shard.addActivity(JSON.parse(raw) as Activity);
    } catch (error) {
      const merged = JSON.parse(raw) as Activity;
      for (const [hour, counts] of Object.entries(JSON.parse(notes.meta('tally') ?? '{}') as Activity)) {
        for (const [kind, n] of Object.entries(counts) as [ActivityKind, number][]) (merged[hour] ??= {})[kind] = (merged[hour]?.[kind] ?? 0) + n;
      }
      notes.setMeta('tally', JSON.stringify(merged));
      notes.setMeta('tally_at', String(Date.now()));
      throw error;
    }
  }
}
