export type { OAuthToken, TokenQuery, TokenStore, SealedTokenStore } from './store/types.ts';
export { TokenStoreError, isTokenStoreError, type TokenStoreErrorCode } from './store/errors.ts';
export { createMemoryStore, type MemoryStoreOptions } from './backends/memory.ts';
export { cipherFromSettings, createCipher, generateSecret, type Cipher, type CipherOptions } from './store/cipher.ts';
export { createTokenManager, type AccessToken, type TokenEvent, type TokenManager, type TokenManagerOptions } from './zoho/token-manager.ts';
