export type { Lock, LockingTokenStore, OAuthToken, RefreshOptions, SealedTokenStore, TokenQuery, TokenStore } from './store/types.ts';
export { TokenStoreError, isTokenStoreError, type TokenStoreErrorCode } from './store/errors.ts';
export { createMemoryStore, type MemoryStoreOptions } from './backends/memory.ts';
export { cipherFromSettings, createCipher, generateSecret, type Cipher, type CipherContext, type CipherOptions } from './store/cipher.ts';
export {
  createTokenManager,
  type AccessToken,
  type EraseResult,
  type SaveGrantOptions,
  type TokenEvent,
  type TokenManager,
  type TokenManagerOptions,
} from './zoho/token-manager.ts';
export type { BackoffOptions } from './zoho/backoff.ts';
