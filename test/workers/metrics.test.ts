/**
 * Analytics Engine data points (METRICS): one per proxied CRM call with its status class and
 * duration, per login, per refresh with its outcome, per status change; never a user or token.
 * The Worker's are seen through a handler given a recording dataset; the user object's through
 * the same dataset put in its environment.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../src/worker/env.ts';
import { createZohoHandler } from '../../src/worker/index.ts';
import { admin, client, env } from './local-zoho.ts';
import { APP, call, loginAs, recordLogs, userNameOf, userStub } from './worker-client.ts';

recordLogs();

/** A dataset that keeps what it is given. */
function recordingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, dataset: { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) } as AnalyticsEngineDataset };
}

describe('metrics', () => {
  it('a proxied call is one data point with its status class and duration; nothing names the user', async () => {
    const email = 'user161@org16.example';
    const user = await loginAs(email);
    const { points, dataset } = recordingDataset();
    const handler = createZohoHandler();
    const ctx = createExecutionContext();
    const answer = await handler.route(
      new Request(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie: user.cookie } }),
      { ...env, METRICS: dataset } as unknown as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(answer!.status).toBeLessThan(300);
    expect(points).toEqual([{ indexes: ['crm_call'], blobs: ['crm_call', '2xx', 'us'], doubles: [1, expect.any(Number)] }]);
    expect(JSON.stringify(points)).not.toContain(email);
  });

  it("the user's object counts refreshes with their outcome and each change of status", async () => {
    const email = 'user162@org16.example';
    const user = await loginAs(email);
    const { points, dataset } = recordingDataset();
    await runInDurableObject(await userStub(userNameOf(email)), (object) => {
      (object as unknown as { env: Env }).env.METRICS = dataset;
    });
    expect((await call('/auth/refresh', { method: 'POST', cookie: user.cookie })).status).toBe(200);
    expect(points).toEqual([{ indexes: ['refresh'], blobs: ['refresh', 'ok', 'us'], doubles: [1, 0] }]);
    await admin('revoke-user', { email, client_id: client.clientId });
    const again = await call('/crm/v8/Leads', { cookie: user.cookie });
    expect(again.status).toBe(401);
    await expect
      .poll(() => points.map((p) => p.blobs))
      .toEqual([
        ['refresh', 'ok', 'us'],
        ['refresh', 'REAUTH_REQUIRED', 'us'],
        ['status', 'needs_reauth', 'us'],
      ]);
    expect(JSON.stringify(points)).not.toContain(email);
  });
});
