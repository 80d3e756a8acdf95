/**
 * Durable Object backend: one SQLite-backed object per tenant (`name`), holding sealed
 * records (object-base.ts: one table with a unique column per blind index). The object is the
 * only place that holds the key material (from the Worker's secrets), and it exposes the six
 * store methods, `rotate` and a lease (so that a refresh, wherever it runs, runs once),
 * nothing of its internals and nothing about Zoho. Calls to it retry transient faults and
 * report overload (object-call.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { TokenStoreError } from '../store/errors.ts';
import { callObject, type ObjectCallOptions } from './object-call.ts';
import { placedNamespace, type DurableObjectNamespaceLike, type ObjectPlacement } from './placement.ts';
import { ObjectTokens, outcome, unwrap, type KeyRingEnv, type Outcome } from './object-base.ts';
import type { LockingTokenStore, OAuthToken, SealedTokenStore, TokenQuery } from '../store/types.ts';
import { checkId, checkTokenInput } from '../store/validate.ts';

export type { DurableObjectNamespaceLike, ObjectPlacement } from './placement.ts';
export type { ObjectCallOptions } from './object-call.ts';
export type { KeyRingEnv, Outcome } from './object-base.ts';
export type { Lock, LockingTokenStore } from '../store/types.ts';

/** What a `TokenStoreObject` reads from its environment: its key ring. */
export interface TokenStoreObjectEnv extends KeyRingEnv {}

/** How long a lease holds without its holder's release: far longer than one refresh at Zoho. */
const LEASE_MS = 30_000;

/** The token store as a Durable Object: the six store methods, `rotate`, and a lease over RPC. */
export class TokenStoreObject extends DurableObject<TokenStoreObjectEnv> {
  readonly #tokens = new ObjectTokens(this.ctx.storage, this.env, `do:${this.ctx.id.toString()}`);
  /** Leases held, by name: in memory, as the callers waiting for them are (an evicted object frees them). */
  readonly #leases = new Map<string, { holder: string; until: number }>();
  readonly #waiting = new Map<string, (() => void)[]>();

  findToken(query: TokenQuery): Promise<Outcome<OAuthToken | null>> {
    return outcome(() => this.#tokens.store().findToken(query));
  }
  saveToken(token: TokenQuery): Promise<Outcome<OAuthToken>> {
    return outcome(() => this.#tokens.store().saveToken(token));
  }
  deleteToken(id: string): Promise<Outcome<void>> {
    return outcome(() => this.#tokens.store().deleteToken(id));
  }
  getTokens(): Promise<Outcome<OAuthToken[]>> {
    return outcome(() => this.#tokens.store().getTokens());
  }
  deleteTokens(): Promise<Outcome<void>> {
    return outcome(() => this.#tokens.store().deleteTokens());
  }
  findTokenById(id: string): Promise<Outcome<OAuthToken | null>> {
    return outcome(() => this.#tokens.store().findTokenById(id));
  }
  rotate(): Promise<Outcome<number>> {
    return outcome(() => this.#tokens.store().rotate());
  }
  /**
   * Waits until `name` is free, or its holder's lease has run out, then holds it for `ttlMs`:
   * answers the holder's id, for `releaseLease`. Storage knows nothing of what is done under it.
   */
  acquireLease(name: string, ttlMs: number): Promise<Outcome<string>> {
    return outcome(async () => {
      if (typeof name !== 'string' || name === '' || name.length > 200) throw new TokenStoreError('INVALID_INPUT', 'acquireLease: name must be a short string');
      if (!(ttlMs > 0 && ttlMs <= 5 * 60_000)) throw new TokenStoreError('INVALID_INPUT', 'acquireLease: ttlMs must be positive, at most 5 minutes');
      for (let held = this.#leases.get(name); held && held.until > Date.now(); held = this.#leases.get(name)) {
        const queue = this.#waiting.get(name) ?? [];
        this.#waiting.set(name, queue);
        // Woken by the holder's release, or when its lease runs out; either way it leaves the queue.
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            const at = queue.indexOf(wake);
            if (at >= 0) queue.splice(at, 1);
            resolve();
          };
          const timer = setTimeout(wake, held!.until - Date.now());
          queue.push(wake);
        });
      }
      const holder = crypto.randomUUID();
      this.#leases.set(name, { holder, until: Date.now() + ttlMs });
      return holder;
    });
  }

  /** Frees `name` if `holder` still holds it, and wakes the next caller waiting for it. */
  releaseLease(name: string, holder: string): Promise<Outcome<void>> {
    return outcome(async () => {
      if (this.#leases.get(name)?.holder !== holder) return;
      this.#leases.delete(name);
      const queue = this.#waiting.get(name);
      queue?.shift()?.();
      if (queue?.length === 0) this.#waiting.delete(name);
    });
  }
}

/** The RPC surface of a `TokenStoreObject` stub. */
type TokenStoreObjectStub = {
  [K in 'findToken' | 'saveToken' | 'deleteToken' | 'getTokens' | 'deleteTokens' | 'findTokenById' | 'rotate' | 'acquireLease' | 'releaseLease']: (
    ...args: Parameters<TokenStoreObject[K]>
  ) => Promise<Awaited<ReturnType<TokenStoreObject[K]>>>;
};

export interface DurableObjectStoreOptions {
  /** The binding of the `TokenStoreObject` class. */
  namespace: DurableObjectNamespaceLike;
  /** Which object: one per app, org, tenant or user (default "default"). */
  name?: string;
  /** Retries of transient faults (`retryable`); `overloaded` is never retried. */
  retry?: ObjectCallOptions;
  /**
   * Where the object is created: a `jurisdiction` (its data never leaves it; the same name is
   * another object there) or a `locationHint`.
   */
  placement?: ObjectPlacement;
}

/**
 * A `TokenStore` that lives in one `TokenStoreObject`, reached over RPC. Its `lock` is a lease
 * in that object: a token manager given this store takes it before a refresh, so however many
 * isolates find the token expired at once, one refreshes and the others read its token.
 */
export function createDurableObjectStore(options: DurableObjectStoreOptions): SealedTokenStore & LockingTokenStore {
  const { namespace, name = 'default', retry, placement } = options ?? ({} as DurableObjectStoreOptions);
  if (!namespace || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'createDurableObjectStore: namespace must be a Durable Object binding');
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new TokenStoreError('INVALID_INPUT', 'createDurableObjectStore: name must be a non-empty string');
  }
  if (placement?.jurisdiction && typeof namespace.jurisdiction !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'createDurableObjectStore: this namespace cannot place objects in a jurisdiction');
  }
  // A stub is tied to the request that made it; a store kept across requests (in module
  // scope, say) must take a fresh one per call. The id is plain data and can be kept.
  const placed = placedNamespace(namespace, placement);
  const id = placed.namespace.idFromName(name);
  const stubFor = () => placed.namespace.get(id as never, placed.options) as TokenStoreObjectStub;

  // Every method is safe to repeat: reads, saves (by id, or found again by user name), deletes.
  const call = async <T>(rpc: (stub: TokenStoreObjectStub) => Promise<Outcome<T>>): Promise<T> => unwrap(await callObject(stubFor, rpc, retry));

  // Checked here too, so bad input fails before a network hop, with the same errors.
  return {
    findToken: async (query) => {
      const checked = checkTokenInput(query, 'query');
      return call((stub) => stub.findToken(checked));
    },
    saveToken: async (token) => {
      const checked = checkTokenInput(token, 'token');
      return call((stub) => stub.saveToken(checked));
    },
    deleteToken: async (id) => {
      const checked = checkId(id);
      return call((stub) => stub.deleteToken(checked));
    },
    getTokens: () => call((stub) => stub.getTokens()),
    deleteTokens: () => call((stub) => stub.deleteTokens()),
    findTokenById: async (id) => {
      const checked = checkId(id);
      return call((stub) => stub.findTokenById(checked));
    },
    rotate: () => call((stub) => stub.rotate()),
    async lock(name, task) {
      // Not retried: a retried acquire whose first answer was lost would hold a lease nobody releases (until it runs out).
      const holder = unwrap(await callObject(stubFor, (stub) => stub.acquireLease(name, LEASE_MS), { ...retry, attempts: 1 }));
      try {
        return await task();
      } finally {
        await call((stub) => stub.releaseLease(name, holder)).catch(() => undefined);
      }
    },
  };
}
