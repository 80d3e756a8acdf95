// Types `env` from `cloudflare:workers` in tests as the Worker's own bindings.
import type { Env as WorkerEnv } from '../../worker/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      /** A server API key whose hash is in API_KEYS (tests only). */
      TEST_API_KEY: string;
    }
  }
}
