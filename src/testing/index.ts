/**
 * edge-token-store/testing: a local Zoho (accounts server and CRM v8) as a `fetch` handler, for
 * tests that must never reach the real one. Web APIs only: it runs in Node, workerd, Deno, Bun
 * and browsers. Node's HTTP server for it is edge-token-store/testing/node. docs/testing.md.
 */
export { LocalZoho } from './local-zoho.ts';
export type { LocalZohoCounts, LocalZohoEdition, LocalZohoGrant, LocalZohoOptions, LocalZohoPkceMode, LocalZohoUsage } from './options.ts';
export type { LocalZohoField, LocalZohoFieldType, LocalZohoModule } from './crm/modules.ts';
export {
  APP_SCOPE,
  DEFAULT_CLIENT,
  DEFAULT_USERS,
  pkceChallenge,
  SDK_SCOPE,
  type LocalZohoClient,
  type LocalZohoClientType,
  type LocalZohoUser,
} from './model.ts';
