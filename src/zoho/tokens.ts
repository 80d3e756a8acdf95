// What Zoho's token endpoints answer, in the store's terms: the OAuth client and the device flow share it.

/** What a token endpoint answered, in the store's terms. */
export interface ZohoTokens {
  accessToken: string;
  /** Absent on refresh answers: keep the stored one. */
  refreshToken: string | null;
  apiDomain: string;
  /** Epoch ms at which the access token expires. */
  expiryTime: number;
  /** An exchange's OpenID Connect ID token, when the login asked for one (the `email` or `openid` scope). */
  idToken?: string;
}
