/**
 * A `store` for the official Zoho CRM TypeScript SDK (`@zohocrm/typescript-sdk-8.0`), backed
 * by any of this library's stores. What the SDK expects, read from its published code:
 *   - it uses a found token only if it is an instance of its own `OAuthToken` class, so
 *     tokens are built with the classes the application passes in (the SDK copy it runs);
 *   - `findToken` gets the SDK's partial token and, like the SDK's own stores, fills it in
 *     and returns it; `findTokenById` returns a new token, and a missing id is an
 *     `SDKException` (else the SDK goes on to a grant exchange with empty values);
 *   - it ignores what `saveToken` returns: an insert sets the id on the token it was given;
 *   - expiry is a string of epoch milliseconds; a token without expiry is never refreshed;
 *   - `new UserSignature(null)` leaves a rejected promise behind, so none is built without a name.
 * Given a token manager, both finds hand the SDK a token refreshed single-flight with more
 * than the SDK's 5 seconds left, so the SDK never refreshes (nor saves) on its own.
 */
import { TokenStoreError } from '../store/errors.ts';
import type { TokenManager } from './token-manager.ts';
import type { OAuthToken, TokenQuery, TokenStore } from '../store/types.ts';

/** The SDK's `OAuthToken`, as far as this adapter uses it. */
/** What the store reads and writes of the SDK's `OAuthToken` (its getters and setters). */
export interface SdkOAuthToken {
  getId(): string | null;
  setId(id: string): void;
  getUserSignature(): { getName(): string } | null | undefined;
  setUserSignature(signature: { getName(): string } | null): void;
  getClientId(): string | null | undefined;
  setClientId(value: string | null): void;
  getClientSecret(): string | null | undefined;
  setClientSecret(value: string | null): void;
  getRefreshToken(): string | null | undefined;
  setRefreshToken(value: string | null): void;
  getAccessToken(): string | null | undefined;
  setAccessToken(value: string | null): void;
  getGrantToken(): string | null | undefined;
  setGrantToken(value: string | null): void;
  getExpiresIn(): string | null | undefined;
  setExpiresIn(value: string | null): void;
  getRedirectURL(): string | null | undefined;
  setRedirectURL(value: string | null): void;
  getAPIDomain(): string | null | undefined;
  setAPIDomain(value: string | null): void;
  // The rest of the SDK's `Token` interface, so these tokens type-check where the SDK wants one.
  authenticate(connection: never): void;
  generateToken(): void;
  remove(): Promise<boolean>;
  revoke(id: string): Promise<boolean | undefined>;
}

/** The SDK classes the adapter needs, from the copy of the SDK the application runs. */
export interface ZohoSdkClasses {
  // The SDK's constructor as it declares it; the adapter passes nulls and uses the setters.
  OAuthToken: new (
    clientID: string | null,
    clientSecret: string | null,
    grantToken: string | null,
    refreshToken: string | null,
    redirectURL: string | null,
    id: string | null,
    accessToken: string | null,
    userSignature: null,
  ) => SdkOAuthToken;
  UserSignature: new (name: string) => { getName(): string };
  SDKException: new (code: string | null, message: string | null, details?: undefined, cause?: unknown) => object;
}

export interface ZohoSdkStoreOptions {
  /** `{ OAuthToken, UserSignature, SDKException }` imported from `@zohocrm/typescript-sdk-8.0`. */
  sdk: ZohoSdkClasses;
  store: TokenStore;
  /** With a manager, found tokens are refreshed here (single-flight), never by the SDK. */
  manager?: TokenManager;
  /** With a manager: refresh when fewer than this many ms remain (default 60,000). */
  skewMs?: number;
}

/** The six methods the SDK calls. Tokens given in are checked at run time to be the SDK's own. */
export interface ZohoSdkTokenStore {
  findToken(token: unknown): Promise<SdkOAuthToken | null>;
  findTokenById(id: string): Promise<SdkOAuthToken>;
  saveToken(token: unknown): Promise<void>;
  deleteToken(id: string): Promise<void>;
  getTokens(): Promise<SdkOAuthToken[]>;
  deleteTokens(): Promise<void>;
}

/** The SDK refreshes when fewer than 5 s remain; a manager must refresh before that. */
const SDK_REFRESH_WINDOW_MS = 5_000;
const DEFAULT_SKEW_MS = 60_000;

type Field = Exclude<keyof OAuthToken, 'id' | 'userName' | 'expiryTime'>;
/** Our string fields and the SDK getter and setter for each. */
const STRING_FIELDS: [Field, keyof SdkOAuthToken, keyof SdkOAuthToken][] = [
  ['clientId', 'getClientId', 'setClientId'],
  ['clientSecret', 'getClientSecret', 'setClientSecret'],
  ['refreshToken', 'getRefreshToken', 'setRefreshToken'],
  ['accessToken', 'getAccessToken', 'setAccessToken'],
  ['grantToken', 'getGrantToken', 'setGrantToken'],
  ['redirectUrl', 'getRedirectURL', 'setRedirectURL'],
  ['apiDomain', 'getAPIDomain', 'setAPIDomain'],
];

const present = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * A token store for Zoho's official SDK (its `TokenStore` interface) over any store of this
 * package, optionally refreshing through a token manager (single-flight).
 *
 * ```ts
 * await new ZohoSDK.InitializeBuilder().store(createZohoSdkStore({ sdk: ZohoSDK, store })).token(token).environment(environment).initialize();
 * ```
 */
export function createZohoSdkStore(options: ZohoSdkStoreOptions): ZohoSdkTokenStore {
  const { sdk, store, manager, skewMs = DEFAULT_SKEW_MS } = options ?? ({} as ZohoSdkStoreOptions);
  if (typeof sdk?.OAuthToken !== 'function' || typeof sdk.UserSignature !== 'function' || typeof sdk.SDKException !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'createZohoSdkStore: sdk must be { OAuthToken, UserSignature, SDKException } from @zohocrm/typescript-sdk-8.0');
  }
  if (!store || typeof store.findToken !== 'function') throw new TokenStoreError('INVALID_INPUT', 'createZohoSdkStore: store is required');
  if (!Number.isFinite(skewMs) || skewMs <= SDK_REFRESH_WINDOW_MS) {
    throw new TokenStoreError('INVALID_INPUT', "createZohoSdkStore: skewMs must exceed the SDK's own 5,000 ms window, or the SDK refreshes on its own");
  }

  /** Every failure reaches the SDK as its own exception type, our error as the cause. */
  const failure = (error: unknown) => new sdk.SDKException(error instanceof TokenStoreError ? error.code : 'TOKEN_STORE', null, undefined, error);
  const guarded =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await run(...args);
      } catch (error) {
        throw failure(error);
      }
    };

  function checkSdkToken(token: unknown): SdkOAuthToken {
    if (!(token instanceof sdk.OAuthToken)) {
      // The SDK ignores tokens of another class: a second SDK copy would fail silently later.
      throw new TokenStoreError('INVALID_INPUT', 'the token is not an OAuthToken of the SDK copy this store was given');
    }
    return token;
  }

  /** The SDK token's fields, for our store. Empty fields are left out: a save keeps what is stored. */
  function fieldsOf(token: SdkOAuthToken): TokenQuery {
    const fields: TokenQuery = {};
    const id = token.getId();
    if (present(id)) fields.id = id;
    const name = token.getUserSignature()?.getName();
    if (present(name)) fields.userName = name;
    for (const [field, get] of STRING_FIELDS) {
      const value = (token[get] as () => unknown)();
      if (present(value)) fields[field] = value;
    }
    const expiry = token.getExpiresIn() as unknown;
    if (expiry !== null && expiry !== undefined && expiry !== '') {
      if (!/^\d{1,16}$/.test(String(expiry))) throw new TokenStoreError('INVALID_INPUT', 'the expiry time must be a string of epoch milliseconds');
      fields.expiryTime = Number(expiry);
    }
    return fields;
  }

  /** Fills the SDK token's empty fields from a stored token (the SDK's own stores do the same). */
  function fillFrom(token: SdkOAuthToken, stored: OAuthToken): SdkOAuthToken {
    if (!present(token.getId())) token.setId(stored.id);
    if (!token.getUserSignature() && stored.userName) token.setUserSignature(new sdk.UserSignature(stored.userName));
    for (const [field, get, set] of STRING_FIELDS) {
      if (!present((token[get] as () => unknown)())) (token[set] as (v: string | null) => void)(stored[field]);
    }
    // The access token and its expiry are one pair: both come from the store when it has one,
    // so a refreshed token is never paired with a stale expiry (or the other way round).
    if (stored.accessToken) token.setAccessToken(stored.accessToken);
    if (stored.accessToken || !present(token.getExpiresIn())) token.setExpiresIn(stored.expiryTime === null ? null : String(stored.expiryTime));
    return token;
  }

  const sdkTokenFrom = (stored: OAuthToken) => fillFrom(new sdk.OAuthToken(null, null, null, null, null, null, null, null), stored);

  /** With a manager: the token refreshed (single-flight) if it would expire within skewMs. */
  async function fresh(token: OAuthToken): Promise<OAuthToken> {
    if (!manager) return token;
    // The SDK never refreshes an access token without expiry; neither does this adapter.
    if (token.accessToken && token.expiryTime === null) return token;
    if (token.accessToken && token.expiryTime !== null && token.expiryTime - Date.now() > skewMs) return token;
    return manager.freshToken({ id: token.id }, { skewMs });
  }

  return {
    findToken: guarded(async (token: unknown) => {
      const given = checkSdkToken(token);
      const found = await store.findToken(fieldsOf(given));
      return found ? fillFrom(given, await fresh(found)) : null;
    }),

    findTokenById: guarded(async (id: string) => {
      if (!present(id)) throw new TokenStoreError('INVALID_INPUT', 'findTokenById: id must be a non-empty string');
      const found = await store.findTokenById(id);
      if (!found) throw new TokenStoreError('NOT_FOUND', 'no stored token has this id');
      return sdkTokenFrom(await fresh(found));
    }),

    saveToken: guarded(async (token: unknown) => {
      const given = checkSdkToken(token);
      const saved = await store.saveToken(fieldsOf(given));
      if (!present(given.getId())) given.setId(saved.id);
    }),

    deleteToken: guarded(async (id: string) => {
      if (!present(id)) throw new TokenStoreError('INVALID_INPUT', 'deleteToken: id must be a non-empty string');
      await store.deleteToken(id);
    }),

    getTokens: guarded(async () => (await store.getTokens()).map(sdkTokenFrom)),

    deleteTokens: guarded(() => store.deleteTokens()),
  };
}
