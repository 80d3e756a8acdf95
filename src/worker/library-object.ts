/**
 * The one base class of the Worker's Durable Objects (ZohoUserObject, ZohoLoginStates,
 * ZohoDirectory): it owns `alarm()` and the schema, so a subclass of yours adds to them and
 * cannot break them.
 *
 * - `alarm()` runs the library's housekeeping, then your `onAlarm()`. It is a property of the
 *   instance, not a method: a subclass that declares `alarm()` does not compile, and at run
 *   time the instance's own `alarm` would shadow it anyway.
 * - Every table the library makes starts with `ets_` (reserved: name yours otherwise), and
 *   `ets_schema` holds each part's version; migrations run in order, once, in a transaction,
 *   when an instance first touches its storage. Versions only grow: an object a newer release
 *   wrote is refused rather than misread.
 */
import { DurableObject } from 'cloudflare:workers';
import { TokenStoreError } from '../store/errors.ts';

/** The prefix of every table the library owns in an object's SQLite storage. */
export const RESERVED_TABLE_PREFIX = 'ets_';

/** What the library's classes give the base class, under names a subclass outside the package cannot reach. */
export const HOUSEKEEPING = Symbol('edge-token-store housekeeping');

/** One part's schema: its name in `ets_schema` and its migrations, oldest first (its version is their count). */
export interface ObjectSchema {
  part: string;
  migrations: readonly (readonly string[])[];
}

/**
 * DurableObject as this base class extends it: without its optional `alarm` method, so that
 * the base can own `alarm` as a property (TypeScript then refuses a subclass's `alarm()`).
 */
const AlarmOwnedObject = DurableObject as unknown as abstract new <E>(ctx: DurableObjectState, env: E) => Omit<DurableObject<E>, 'alarm'>;

/**
 * The base class of the Worker's Durable Objects: it owns `alarm()` and the schema. Extend one
 * of its classes and override `onAlarm()` for work of your own.
 *
 * ```ts
 * export class MyUsers extends ZohoUserObject {
 *   protected override async onAlarm() { await this.ctx.storage.put('last-alarm', Date.now()); }
 * }
 * ```
 */
export abstract class ZohoLibraryObject<E> extends AlarmOwnedObject<E> {
  declare protected readonly ctx: DurableObjectState;
  declare protected readonly env: E;
  readonly #schemas: readonly ObjectSchema[];
  #migrated = false;

  /**
   * The library's housekeeping, then `onAlarm()`. Owned by the library: override `onAlarm()`.
   * A failure throws, and the runtime retries the alarm with back-off.
   */
  readonly alarm = async (): Promise<void> => {
    await this[HOUSEKEEPING]();
    await this.onAlarm();
  };

  constructor(ctx: DurableObjectState, env: E, schemas: readonly ObjectSchema[]) {
    super(ctx, env);
    this.#schemas = schemas;
  }

  /** Your work at each alarm, after the library's housekeeping. Set the next alarm as usual: the library keeps its own times. */
  protected onAlarm(): void | Promise<void> {}

  /** The library's housekeeping of this object (library classes only: the key is not exported). */
  protected abstract [HOUSEKEEPING](): Promise<void>;

  /** The object's SQL storage, its schema brought to the current version first. */
  protected sql(): SqlStorage {
    const { sql } = this.ctx.storage;
    if (this.#migrated) return sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec(`CREATE TABLE IF NOT EXISTS ${RESERVED_TABLE_PREFIX}schema (part TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
      for (const { part, migrations } of this.#schemas) {
        const rows = sql.exec<{ version: number }>(`SELECT version FROM ${RESERVED_TABLE_PREFIX}schema WHERE part = ?`, part).toArray();
        const version = rows[0]?.version ?? 0;
        if (version > migrations.length) {
          throw new TokenStoreError(
            'STORAGE_FAILED',
            `this object's ${part} schema is version ${version}, newer than this code's ${migrations.length}: upgrade edge-token-store`,
          );
        }
        for (const migration of migrations.slice(version)) for (const statement of migration) sql.exec(statement);
        if (version < migrations.length) {
          sql.exec(
            `INSERT INTO ${RESERVED_TABLE_PREFIX}schema (part, version) VALUES (?, ?) ON CONFLICT(part) DO UPDATE SET version = excluded.version`,
            part,
            migrations.length,
          );
        }
      }
    });
    this.#migrated = true;
    return sql;
  }
}
