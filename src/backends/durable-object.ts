/**
 * Durable Object backend: one SQLite-backed object per tenant (`name`), holding sealed
 * records (object-base.ts: one table with a unique column per blind index). The object is the
 * only place that holds the key material (from the Worker's secrets), and it exposes the six
 * store methods, `rotate` and `freshToken` (the refresh, run here so it is single-flight),
 * nothing of its internals. `freshToken` is the one thing here that knows Zoho (its manager
 * comes from ../zoho/object-manager.ts); the rest is storage. Calls to it retry transient
 * faults and report overload (object-call.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { TokenStoreError } from '../store/errors.ts';
import { callObject, type ObjectCallOptions } from './object-call.ts';
import { placedNamespace, type DurableObjectNamespaceLike, type ObjectPlacement } from './placement.ts';
import { ObjectTokens, outcome, unwrap, type KeyRingEnv, type Outcome } from './object-base.ts';
import type { OAuthToken, RefreshingTokenStore, RefreshOptions, SealedTokenStore, TokenQuery } from '../store/types.ts';
import { checkId, checkTokenInput } from '../store/validate.ts';
import type { TokenManager } from '../zoho/token-manager.ts';
import { managerFromEnv, type ObjectZohoEnv } from '../zoho/object-manager.ts';

export type { ObjectPlacement } from './placement.ts';

/** What a `TokenStoreObject` reads from its environment: the key ring, and for `freshToken` the Zoho client. */
export interface TokenStoreObjectEnv extends KeyRingEnv, ObjectZohoEnv {}

/** The token store as a Durable Object: the six store methods, `rotate` and `freshToken` over RPC. */
export class TokenStoreObject extends DurableObject<TokenStoreObjectEnv> {
  readonly #tokens = new ObjectTokens(this.ctx.storage, this.env, `do:${this.ctx.id.toString()}`);
  #refresher: TokenManager | undefined;

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
  /** The token, refreshed here if needed: every Worker's callers share this object's one refresh. */
  freshToken(query: TokenQuery, options: RefreshOptions): Promise<Outcome<OAuthToken>> {
    return outcome(() => {
      this.#refresher ??= managerFromEnv(this.#tokens.store(), this.env);
      return this.#refresher.freshToken(query, options);
    });
  }
}

/** The RPC surface of a `TokenStoreObject` stub. */
type TokenStoreObjectStub = {
  [K in 'findToken' | 'saveToken' | 'deleteToken' | 'getTokens' | 'deleteTokens' | 'findTokenById' | 'rotate' | 'freshToken']: (
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
 * A `TokenStore` that lives in one `TokenStoreObject`, reached over RPC. A token manager given
 * this store hands its refreshes to the object, so they are single-flight across isolates.
 */
export function createDurableObjectStore(options: DurableObjectStoreOptions): SealedTokenStore & RefreshingTokenStore {
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
    freshToken: async (query, { skewMs, rejectedAccessToken }) => {
      const checked = checkTokenInput(query, 'query');
      if (typeof skewMs !== 'number' || !(skewMs >= 0)) throw new TokenStoreError('INVALID_INPUT', 'skewMs must be a non-negative number');
      if (rejectedAccessToken !== undefined && typeof rejectedAccessToken !== 'string') {
        throw new TokenStoreError('INVALID_INPUT', 'rejectedAccessToken must be a string');
      }
      return call((stub) => stub.freshToken(checked, { skewMs, rejectedAccessToken }));
    },
  };
}
