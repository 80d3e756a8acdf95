/**
 * The ID token of a code exchange, checked as OpenID Connect Core 3.1.3.7 asks of one that
 * came straight from the token endpoint: the issuer is the accounts server the exchange went
 * to, the audience is this client, it has not expired, and it carries the `nonce` this login
 * sent with its authorization request. A code that was issued to another login (injected into
 * this one) comes back with that login's nonce, so it is refused here whatever Zoho does with
 * PKCE.
 *
 * The signature is not verified: OIDC Core lets TLS stand in for it when the ID token comes
 * directly from the token endpoint, which is the only way it reaches this code (the exchange
 * goes only to a checked accounts server, and never follows a redirect). Fetching Zoho's keys
 * would add a network call to every login and prove nothing more here.
 */
import { TokenStoreError } from '../store/errors.ts';
import { fromUtf8 } from '../store/encoding.ts';

export interface IdTokenExpectations {
  /** The accounts server (origin) the code was exchanged at. */
  issuer: string;
  clientId: string;
  nonce: string;
  now: number;
}

/** The claims this library reads. */
export interface IdTokenClaims {
  iss: string;
  aud: string | string[];
  exp: number;
  nonce: string;
  sub?: string;
  email?: string;
}

const refused = (why: string) => new TokenStoreError('ZOHO_ID_TOKEN_INVALID', `the ID token of the exchange ${why}; the tokens were not used`);

/** A JWT part: base64url, or (as Zoho's own examples show) base64 with padding. */
function decodePart(part: string): unknown {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(part)) throw refused('is not a JWT');
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return JSON.parse(fromUtf8.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

export function checkIdToken(idToken: unknown, expected: IdTokenExpectations): IdTokenClaims {
  if (typeof idToken !== 'string') throw refused('is missing');
  const parts = idToken.split('.');
  if (parts.length !== 3) throw refused('is not a JWT');
  let claims: Partial<IdTokenClaims>;
  try {
    claims = decodePart(parts[1]!) as Partial<IdTokenClaims>;
  } catch (error) {
    throw error instanceof TokenStoreError ? error : refused('is not a JWT');
  }
  if (typeof claims !== 'object' || claims === null) throw refused('is not a JWT');
  if (typeof claims.iss !== 'string' || claims.iss.replace(/\/+$/, '') !== expected.issuer) throw refused('names another issuer');
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(expected.clientId)) throw refused('was issued to another client');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= expected.now) throw refused('has expired');
  if (typeof claims.nonce !== 'string' || claims.nonce !== expected.nonce) throw refused("does not carry this login's nonce");
  return claims as IdTokenClaims;
}
