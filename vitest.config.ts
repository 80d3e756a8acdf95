import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { playwright } from '@vitest/browser-playwright';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { resolve as resolvePathFrom } from 'node:path';
import { defineConfig } from 'vitest/config';
import { findChromium } from './scripts/chromium.ts';
import { LocalZoho } from 'edge-token-store/testing';
import { WebhookReceiver, webhookSecret } from './test/shared/webhook-receiver.ts';

// The system's Chromium (scripts/chromium.ts; npm test installs Debian's when there is none);
// never a downloaded browser. The flags keep it off the (closed) network.
const resolvePath = (path: string) => resolvePathFrom(import.meta.dirname, path);
const chromium = findChromium() ?? '/usr/bin/chromium';
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

// One local Zoho in this (Node) process answers every outbound fetch from workerd tests.
// Each test file registers its own client through /__admin/clients, so counts stay apart.
const workersClient = {
  clientId: '1000.WORKERSTEST',
  clientSecret: randomBytes(16).toString('hex'),
  // The Worker's callback (test/workers/worker-client.ts APP), and the redirect the library's tests name.
  redirectUris: ['https://worker.test/auth/callback', 'https://worker.test/zoho/auth/callback', 'https://app.example.com/callback'],
};
// Two data centers, as Zoho's multi-DC clients see them: US at zoho.local, EU at eu.zoho.local.
const ZOHO_ORIGINS = { us: 'http://zoho.local', eu: 'http://eu.zoho.local' };
// The workers test files log the same few users in many times within minutes, through one
// client: Zoho's per-client and per-user 10-minute limits are raised here and tested at their
// defaults in test/node/local-zoho-accounts.test.ts.
const localZoho = new LocalZoho({ clients: [workersClient], grantsPerWindow: 1000, refreshTokensPerWindow: 1000, dataCenters: ZOHO_ORIGINS });
// The app's endpoint for connection events (test/shared/webhook-receiver.ts), at https://hooks.test/.
const CONNECTION_WEBHOOK_SECRET = webhookSecret();
const hooks = new WebhookReceiver(CONNECTION_WEBHOOK_SECRET);
/** Server API keys the Worker tests use; the Worker only knows their hashes. */
const TEST_API_KEY = randomBytes(24).toString('base64url');
const TEST_ADMIN_KEY = randomBytes(24).toString('base64url');
const USER_OBJECT_SECRET = randomBytes(32).toString('base64url');
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
/** The Worker's name for a user's object (worker/objects.ts), for the API key below. */
const userObjectName = (userName: string) => `u-${createHmac('sha256', USER_OBJECT_SECRET).update(`user-object\u0000${userName}`).digest('base64url')}`;

// Time limits sized for a busy 2-core machine (CI, or a laptop with one core taken): each is
// at least 10x the slowest test or hook of its project measured here with one core kept busy
// (figures in the notes of issue 12). They catch a hang, never a slow machine.
const limits = {
  node: { testTimeout: 60_000, hookTimeout: 120_000 },
  browser: { testTimeout: 60_000, hookTimeout: 120_000 },
  workers: { testTimeout: 60_000, hookTimeout: 180_000 },
  // expect.poll waits for a page to reach a state; its default (1 s) is a speed assumption.
  e2e: { testTimeout: 180_000, hookTimeout: 300_000, expect: { poll: { timeout: 30_000 } } },
};

/** The settings and secrets every workers project's Worker reads (the Worker's own, and the fixtures'). */
const workerBindings = {
  // k1 seals; k0 is an older key still in the ring (tests of re-sealing write records under it).
  TOKEN_STORE_KEYS: JSON.stringify({ k1: randomBytes(32).toString('base64url'), k0: randomBytes(32).toString('base64url') }),
  ZOHO_DATA_CENTER: 'us,eu',
  // workerd cannot place objects in a jurisdiction; the residency test checks placement through the binding.
  OBJECT_PLACEMENT: 'off',
  ZOHO_LOCAL_DATA_CENTERS: JSON.stringify(ZOHO_ORIGINS),
  ZOHO_CLIENT_ID: workersClient.clientId,
  ZOHO_CLIENT_SECRET: workersClient.clientSecret,
  ZOHO_EXTRA_API_DOMAINS: 'http://zoho.local',
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  ALLOWED_ORIGINS: 'https://app.example.com',
  USER_OBJECT_SECRET,
  API_KEYS: JSON.stringify({
    [sha256(TEST_API_KEY)]: `us/${userObjectName('bo@example.com:7002')}/api-key-token`,
  }),
  ADMIN_KEY_SHA256: sha256(TEST_ADMIN_KEY),
  // The MCP server at /mcp (worker/index.ts), behind workers-oauth-provider.
  MCP_RESOURCE_URL: 'https://worker.test/mcp',
  // Idle tokens are purged after 90 days (tests move a token's expiry back to see it).
  IDLE_PURGE_DAYS: '90',
  // Connection events, signed per Standard Webhooks, to the receiver above.
  CONNECTION_WEBHOOK_URL: 'https://hooks.test/events',
  CONNECTION_WEBHOOK_SECRET,
  TEST_API_KEY,
  TEST_ADMIN_KEY,
};

/** A workerd project: a Worker by its wrangler config, with the shared settings and the local Zoho behind every outbound fetch. */
function workersProject(
  name: string,
  configPath: string,
  include: string[],
  extra: {
    main?: string;
    durableObjects?: Record<string, { className: string; useSQLite: boolean }>;
    queues?: { producers: Record<string, string>; consumers: Record<string, { maxBatchSize: number; maxBatchTimeout: number }> };
  } = {},
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath },
        ...(extra.main ? { main: extra.main } : {}),
        miniflare: {
          bindings: workerBindings,
          outboundService: (request: Request) => (new URL(request.url).host === 'hooks.test' ? hooks.fetch(request) : localZoho.fetch(request)),
          ...(extra.durableObjects ? { durableObjects: extra.durableObjects } : {}),
          ...(extra.queues ? { queueProducers: extra.queues.producers, queueConsumers: extra.queues.consumers } : {}),
        },
      }),
    ],
    // Fixtures import the package by name, as its users do: here it is the source.
    resolve: {
      alias: {
        'edge-token-store/worker': resolvePath('src/worker/index.ts'),
        'edge-token-store/hono': resolvePath('src/hono/index.ts'),
        'edge-token-store/mcp': resolvePath('src/mcp/index.ts'),
      },
    },
    test: { name, ...limits.workers, include },
  };
}

export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          ...limits.node,
          include: ['test/node/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          ...limits.e2e,
        },
      },
      {
        test: {
          name: 'browser',
          ...limits.browser,
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: chromium, args: chromiumArgs } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      workersProject('workers', './wrangler.toml', ['test/workers/**/*.test.ts'], {
        // The Worker's bindings and settings, with an entry that also exports the library's object class.
        main: './test/workers/main.ts',
        // The library's TokenStoreObject (test/workers/main.ts), beside the Worker's own objects.
        // and a user's subclass of the user object (its alarm hook).
        durableObjects: {
          TOKEN_STORE_OBJECTS: { className: 'LibraryStoreObject', useSQLite: true },
          HOOKED_USERS: { className: 'HookedUserObject', useSQLite: true },
        },
        // Connection events also go to a queue; test/workers/main.ts consumes it into the receiver's log.
        queues: { producers: { CONNECTION_EVENTS: 'connection-events' }, consumers: { 'connection-events': { maxBatchSize: 10, maxBatchTimeout: 1 } } },
      }),
      // Users' own Workers: the routes mounted under /zoho in a Hono app, and without a framework.
      workersProject('fixture-hono', './test/fixtures/hono/wrangler.toml', ['test/fixtures/hono/*.test.ts']),
      workersProject('fixture-plain', './test/fixtures/plain/wrangler.toml', ['test/fixtures/plain/*.test.ts']),
    ],
  },
});
