/**
 * Saves a batch of tokens into a store in order, saying for each whether it merged into a
 * record already there. Used by the `import` command in Node and inside workerd, so both
 * apply one rule set: the store's own (an id that is stored, else user name, access token,
 * or refresh/grant token with the client id).
 */
import { TokenStoreError } from '../store/errors.ts';
import type { OAuthToken, TokenQuery, TokenStore } from '../store/types.ts';

export type ImportAction = 'inserted' | 'merged';

export interface ImportFailure {
  /** Position in the batch of the token that failed; the ones before it are saved. */
  index: number;
  code: string;
  message: string;
}

/**
 * A kept id must not take over another user's record: ids from a Zoho SDK file are small
 * counters ("1", "2") that another file, or a record already stored, may use for someone else.
 */
function sameOwner(stored: OAuthToken, token: TokenQuery): boolean {
  if (stored.userName && token.userName) return stored.userName === token.userName;
  if (stored.refreshToken && token.refreshToken) return stored.refreshToken === token.refreshToken;
  return true;
}

/**
 * `target`: one store for every row, or the store of each row's user (the Worker's layout:
 * one object per user), where a row without a user name fails with INVALID_INPUT.
 */
export async function importTokens(
  target: TokenStore | ((userName: string) => Promise<TokenStore>),
  tokens: TokenQuery[],
): Promise<{ actions: ImportAction[]; failure: ImportFailure | null }> {
  const actions: ImportAction[] = [];
  for (const [index, token] of tokens.entries()) {
    try {
      let store: TokenStore;
      if (typeof target !== 'function') store = target;
      else if (token.userName) store = await target(token.userName);
      else throw new TokenStoreError('INVALID_INPUT', 'the row has no user name, and each user is stored in an object named after them');
      const byId = token.id ? await store.findTokenById(token.id) : null;
      if (byId && !sameOwner(byId, token)) {
        throw new TokenStoreError('CONFLICT', "the row's id is already used by another user's record");
      }
      const existing = byId ?? (await store.findToken(token));
      await store.saveToken(token);
      actions.push(existing ? 'merged' : 'inserted');
    } catch (error) {
      const known = error instanceof TokenStoreError;
      return {
        actions,
        failure: { index, code: known ? error.code : 'STORAGE_FAILED', message: known ? error.message : 'the store failed' },
      };
    }
  }
  return { actions, failure: null };
}
