// Types `env` from `cloudflare:workers` in tests as the Worker's own bindings.
import type { Env as WorkerEnv } from '../../worker/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
