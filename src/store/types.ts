/** One user's Zoho OAuth tokens, as the Zoho CRM SDKs keep them. Field names are fixed. */
export interface OAuthToken {
  /** Assigned by the store on first save, stable afterwards. */
  id: string;
  /** Zoho "user signature" name; the SDK stores "email:zgid" (the org's zgid). */
  userName: string | null;
  clientId: string | null;
  clientSecret: string | null;
  refreshToken: string | null;
  accessToken: string | null;
  grantToken: string | null;
  /** Epoch milliseconds at which `accessToken` expires. */
  expiryTime: number | null;
  redirectUrl: string | null;
  /** e.g. https://www.zohoapis.eu */
  apiDomain: string | null;
}

export type TokenQuery = Partial<OAuthToken>;

/** The six methods of the Zoho SDK's token store, async. */
export interface TokenStore {
  findToken(query: TokenQuery): Promise<OAuthToken | null>;
  /** Upsert; resolves to what is stored, with `id` set. */
  saveToken(token: TokenQuery): Promise<OAuthToken>;
  deleteToken(id: string): Promise<void>;
  getTokens(): Promise<OAuthToken[]>;
  deleteTokens(): Promise<void>;
  findTokenById(id: string): Promise<OAuthToken | null>;
}

/** A store whose records are sealed by a cipher; `rotate` re-seals every record under the current key. */
export interface SealedTokenStore extends TokenStore {
  /** Re-seals every record not sealed under the cipher's current key; resolves to how many it re-sealed. */
  rotate(): Promise<number>;
}

export const TOKEN_FIELDS = [
  'id',
  'userName',
  'clientId',
  'clientSecret',
  'refreshToken',
  'accessToken',
  'grantToken',
  'expiryTime',
  'redirectUrl',
  'apiDomain',
] as const satisfies readonly (keyof OAuthToken)[];

/** Options for a refresh decided where the token lives. */
export interface RefreshOptions {
  /** Refresh when fewer than this many milliseconds of the access token remain. */
  skewMs: number;
  /**
   * An access token the caller saw fail (a CRM 401): refresh unless the stored access token
   * is already a different, fresh one.
   */
  rejectedAccessToken?: string;
}

/** Runs `task` while holding `name` exclusively (across every caller that shares the lock). */
export type Lock = <T>(name: string, task: () => Promise<T>) => Promise<T>;

/**
 * A store shared by many isolates that offers a lock of its own (the Durable Object store: a
 * lease in its object). A token manager over it takes that lock before a refresh, re-reads the
 * token once it holds it, and so refreshes once however many isolates raced.
 */
export interface LockingTokenStore extends TokenStore {
  lock: Lock;
}
