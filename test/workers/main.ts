// The workers tests' entry: the Worker as deployed (SELF), plus the library's own
// TokenStoreObject under a binding of its own (TOKEN_STORE_OBJECTS), for the conformance suite:
// the Worker's user object does not expose the raw store methods.
export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from '../../worker/index.ts';
import worker from '../../worker/index.ts';
export { TokenStoreObject as LibraryStoreObject } from '../../src/backends/durable-object.ts';

import { ZohoUserObject } from '../../src/worker/index.ts';

/** The Worker, and a consumer of its connection events' queue that hands them to the test receiver (vitest.config.ts). */
export default {
  fetch: worker.fetch,
  async queue(batch: MessageBatch<unknown>): Promise<void> {
    const posted = await fetch('https://hooks.test/__queued', { method: 'POST', body: JSON.stringify(batch.messages.map((m) => m.body)) });
    if (posted.ok) batch.ackAll();
    else batch.retryAll();
  },
} satisfies ExportedHandler<Cloudflare.Env>;

/**
 * A user's subclass that tries to replace the alarm (and so the housekeeping) and adds work
 * of its own in `onAlarm` (bound as HOOKED_USERS, for test/workers/library.test.ts).
 */
export class HookedUserObject extends ZohoUserObject {
  // @ts-expect-error -- the library owns alarm(): a subclass's does not compile (and at run time the instance's own alarm shadows it).
  override async alarm(): Promise<void> {
    await this.ctx.storage.put('ownAlarmRan', true);
  }

  protected override async onAlarm(): Promise<void> {
    await this.ctx.storage.put('onAlarmRuns', ((await this.ctx.storage.get<number>('onAlarmRuns')) ?? 0) + 1);
  }
}
