// Types `env` from `cloudflare:workers` in tests as the Worker's own bindings.
import type { TokenStoreObject } from '../../src/backends/durable-object.ts';
import type { Env as WorkerEnv } from '../../src/worker/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      /** A server API key whose hash is in API_KEYS, naming bo's object and token (tests only). */
      TEST_API_KEY: string;
      /** The key whose hash is ADMIN_KEY_SHA256. */
      TEST_ADMIN_KEY: string;
      /** Workers KV for the library's KV store tests (and `edge-token-store import --to wrangler-kv`); the Worker does not use it. */
      TOKENS_KV: KVNamespace;
      /** D1 for the library's SQL store tests; the Worker does not use it. */
      TOKENS_D1: D1Database;
      /** workers-oauth-provider's store for the MCP server (worker/index.ts). */
      OAUTH_KV: KVNamespace;
      /** The library's own TokenStoreObject (test/workers/main.ts), for the conformance suite. */
      TOKEN_STORE_OBJECTS: DurableObjectNamespace<TokenStoreObject>;
      /** A user's subclass of the user object (test/workers/main.ts). */
      HOOKED_USERS: DurableObjectNamespace<import('./main.ts').HookedUserObject>;
    }
  }
}
