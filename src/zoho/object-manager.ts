/**
 * The token manager of a Durable Object that refreshes its own tokens: its Zoho client (id,
 * secret, the data centers it serves) read from the object's environment. The object is the
 * one place its tokens live, so the manager's own single-flight is global (no lock).
 */
import { TokenStoreError } from '../store/errors.ts';
import type { SealedTokenStore } from '../store/types.ts';
import { zohoDataCenters, type DataCenterEnv } from './data-centers.ts';
import { zohoOAuth } from './oauth.ts';
import { createTokenManager, type TokenEvent, type TokenManager } from './token-manager.ts';

/** The Zoho client an object refreshes with, beside the data centers it serves. */
export interface ObjectZohoEnv extends DataCenterEnv {
  ZOHO_CLIENT_ID?: string;
  /** A secret. */
  ZOHO_CLIENT_SECRET?: string;
}

export function managerFromEnv(store: SealedTokenStore, env: ObjectZohoEnv, onEvent: (event: TokenEvent) => void = () => {}): TokenManager {
  if (!env.ZOHO_CLIENT_ID || !env.ZOHO_CLIENT_SECRET) {
    throw new TokenStoreError('INVALID_INPUT', 'the token store object has no Zoho client (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET)');
  }
  let table;
  try {
    ({ table } = zohoDataCenters(env));
  } catch (cause) {
    throw new TokenStoreError('INVALID_INPUT', (cause as Error).message);
  }
  // Each token is refreshed and revoked at its own data center's server, read from its API domain.
  const oauth = zohoOAuth({ dataCenter: 'any', dataCenters: table, clientId: env.ZOHO_CLIENT_ID, clientSecret: env.ZOHO_CLIENT_SECRET });
  return createTokenManager({ store, oauth, lock: null, onEvent });
}
