/**
 * The MCP server of `npm start` (wrangler dev, the local Zoho beside it), driven from Node by
 * the MCP SDK's client with its OAuth: it registers at /register, authorizes through the
 * Worker's Zoho login and the local Zoho's consent, calls search_records and create_record;
 * after the user's access tokens die at Zoho, two clients calling at once make one refresh in
 * all; after the user removes the app at Zoho, the next call is 401.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnStart, type RunningApp } from '../../scripts/spawn-start.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';
import { connectedClient, MemoryAuth, textOf, type McpWorld } from '../shared/mcp-client.ts';

const PORT = 18797;
const ZOHO_PORT = 18798;
const APP = `http://127.0.0.1:${PORT}`;
const admin = localZohoAdmin(`http://127.0.0.1:${ZOHO_PORT}`, () => app!.adminToken);
/** The Worker's client at the local Zoho under npm start (scripts/start.ts). */
const CLIENT_ID = '1000.LOCALDEV';
let app: RunningApp | undefined;

const world: McpWorld = {
  app: APP,
  fetchApp: (input, init) => fetch(input, init),
  consent: async (url, email) => (await admin<{ location: string }>('consent', { url, email })).location,
};

beforeAll(async () => {
  app = await spawnStart({ port: PORT, zohoPort: ZOHO_PORT, stateDir: mkdtempSync(join(tmpdir(), 'ets-mcp-')), readyWithinMs: 150_000 });
});
afterAll(async () => {
  await app?.stop();
});

describe('npm start serves a Zoho CRM MCP server at /mcp', () => {
  const email = 'user1@org41.example';
  const [one, two] = [new MemoryAuth(), new MemoryAuth()];

  it('an MCP client registers, authorizes as a local Zoho user, and searches and creates records', async () => {
    const client = await connectedClient(world, one, email);
    const created = await client.callTool({ name: 'create_record', arguments: { module: 'Leads', record: { Last_Name: 'Lovelace', Email: 'ada@example.com' } } });
    expect(created.isError).toBeFalsy();
    const found = await client.callTool({ name: 'search_records', arguments: { module: 'Leads', email: 'ada@example.com' } });
    expect(JSON.parse(textOf(found)).data[0]).toMatchObject({ Last_Name: 'Lovelace' });
    await client.close();
  });

  it("after the access tokens die at Zoho, two clients of the user calling at once make one refresh in all", async () => {
    const clients = [await connectedClient(world, one, email), await connectedClient(world, two, email)];
    // Zoho's clock past the hour: every access token it issued has expired there; the Worker does not know yet.
    await admin('advance', { ms: String(61 * 60_000) });
    const before = await admin<{ refreshes: number }>('counts', { client_id: CLIENT_ID });
    const results = await Promise.all(clients.flatMap((c) => [1, 2].map(() => c.callTool({ name: 'search_records', arguments: { module: 'Leads', word: 'Lovelace' } }))));
    expect(results.map((r) => r.isError ?? false)).toEqual([false, false, false, false]);
    expect((await admin<{ refreshes: number }>('counts', { client_id: CLIENT_ID })).refreshes - before.refreshes).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
  });

  it("after the user removes the app's access at Zoho, the next call is 401", async () => {
    await admin('revoke-user', { email, client_id: CLIENT_ID });
    const response = await fetch(`${APP}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${one.saved!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_records', arguments: { module: 'Leads', word: 'Lovelace' } } }),
    });
    expect(response.status).toBe(401);
  });
});
