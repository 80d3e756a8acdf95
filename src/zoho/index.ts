/**
 * `edge-token-store/zoho`: Zoho's OAuth client for any data center (`zohoOAuth`), PKCE pairs
 * (`createPkce`), and Zoho's data centers (`DATA_CENTERS`). The client's own helpers stay
 * internal (zoho.ts).
 */
export {
  createPkce,
  DATA_CENTERS,
  zohoOAuth,
  type AuthorizationOptions,
  type DataCenter,
  type DataCenterOrigins,
  type ZohoOAuth,
  type ZohoOAuthOptions,
  type ZohoTokens,
} from './zoho.ts';
