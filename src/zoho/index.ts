/**
 * `edge-token-store/zoho`: Zoho's OAuth client for any data center (`zohoOAuth`), PKCE pairs
 * (`createPkce`), and Zoho's data centers (`DATA_CENTERS`). The client's own helpers stay
 * internal (oauth.ts).
 */
export {
  createPkce,
  zohoOAuth,
  type AuthorizationOptions,
  type DeviceLogin,
  type DeviceLoginOptions,
  type DevicePoll,
  type ZohoOAuth,
  type ZohoOAuthOptions,
  type ZohoTokens,
} from './oauth.ts';
export { DATA_CENTERS, type DataCenter, type DataCenterOrigins, type DataCenterTable } from './data-centers.ts';
