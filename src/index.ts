export type {
  OAuthToken,
  TokenQuery,
  TokenStore,
  SealedTokenStore,
  RefreshingTokenStore,
  RefreshOptions,
} from './types.ts';
export { TokenStoreError, isTokenStoreError, type TokenStoreErrorCode } from './errors.ts';
export { createMemoryStore, type MemoryStoreOptions } from './memory.ts';
export {
  createCipher,
  cipherFromKeys,
  generateSecret,
  type Cipher,
  type CipherContext,
  type CipherKeys,
  type CipherOptions,
} from './cipher.ts';
export {
  createTokenManager,
  type AccessToken,
  type EraseResult,
  type SaveGrantOptions,
  type TokenEvent,
  type TokenManager,
  type TokenManagerOptions,
} from './token-manager.ts';
export type { BackoffOptions } from './backoff.ts';
export type { CrmAccess } from './crm-call.ts';
