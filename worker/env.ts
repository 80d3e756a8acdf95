import type { TokenStoreObject, TokenStoreObjectEnv } from '../src/durable-object.ts';

/** The Worker's bindings, as wrangler.toml and its secrets declare them. */
export interface Env extends TokenStoreObjectEnv {
  TOKEN_STORE: DurableObjectNamespace<TokenStoreObject>;
  TOKENS_KV: KVNamespace;
}
