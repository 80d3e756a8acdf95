/**
 * The local Zoho's OpenID Connect half, as Zoho's "Sign in using Zoho" page documents it: a
 * login whose scope has `email`, `openid` or `profile` gets an `id_token` (RS256, signed with
 * a key of this process, published at the discovery document's `jwks_uri`) beside its tokens,
 * carrying the authorization request's `nonce` (OpenID Connect Core).
 */
import { base64url, type LocalZohoUser } from './model.ts';

export const OIDC_SCOPES = ['email', 'openid', 'profile'];
const ID_TOKEN_TTL_S = 3600;

const encodeJson = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
const sha256 = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

export const wantsIdToken = (scope: string) => scope.split(/[ ,]+/).some((s) => OIDC_SCOPES.includes(s));

export class IdTokenIssuer {
  readonly #keyId = `local-${crypto.randomUUID()}`;
  #keys: Promise<CryptoKeyPair> | null = null;

  #pair(): Promise<CryptoKeyPair> {
    this.#keys ??= crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    ) as Promise<CryptoKeyPair>;
    return this.#keys;
  }

  /** A user's zuid: stable per email, digits as Zoho's are. */
  static async subjectOf(user: LocalZohoUser): Promise<string> {
    const digest = await sha256(`zuid\u0000${user.email}`);
    return String(((digest[0]! << 24) >>> 0) + (digest[1]! << 16) + (digest[2]! << 8) + digest[3]!);
  }

  async issue(claims: { issuer: string; clientId: string; user: LocalZohoUser; nonce: string | undefined; accessToken: string; now: number }): Promise<string> {
    const { privateKey } = await this.#pair();
    const iat = Math.floor(claims.now / 1000);
    const atHash = base64url((await sha256(claims.accessToken)).slice(0, 16));
    const payload = {
      iss: claims.issuer,
      sub: await IdTokenIssuer.subjectOf(claims.user),
      aud: claims.clientId,
      iat,
      exp: iat + ID_TOKEN_TTL_S,
      at_hash: atHash,
      email: claims.user.email,
      email_verified: true,
      name: claims.user.name,
      ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
    };
    const signed = `${encodeJson({ alg: 'RS256', typ: 'JWT', kid: this.#keyId })}.${encodeJson(payload)}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', privateKey, new TextEncoder().encode(signed));
    return `${signed}.${base64url(new Uint8Array(signature))}`;
  }

  /** The JWKS of `jwks_uri`. */
  async keys(): Promise<{ keys: JsonWebKey[] }> {
    const jwk = await crypto.subtle.exportKey('jwk', (await this.#pair()).publicKey);
    return { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, alg: 'RS256', use: 'sig', kid: this.#keyId } as JsonWebKey] };
  }

  /** The discovery document at `<accounts>/.well-known/openid-configuration`. */
  static discovery(origin: string): Record<string, unknown> {
    return {
      issuer: origin,
      authorization_endpoint: `${origin}/oauth/v2/auth`,
      token_endpoint: `${origin}/oauth/v2/token`,
      revocation_endpoint: `${origin}/oauth/v2/token/revoke`,
      jwks_uri: `${origin}/oauth/v2/keys`,
      scopes_supported: OIDC_SCOPES,
      response_types_supported: ['code', 'token'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'implicit'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['plain', 'S256'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce', 'at_hash', 'email', 'email_verified', 'name'],
    };
  }
}
