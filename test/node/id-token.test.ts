/**
 * The OpenID Connect defence against code injection (issue 25): the exchange's ID token must be
 * this login's (nonce), this client's (aud), from the accounts server the code went to (iss),
 * and unexpired; otherwise the answer is refused and its new refresh token revoked. And the
 * local Zoho issues ID tokens as Zoho's "Sign in using Zoho" page documents them.
 */
import { createPublicKey, createVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { checkIdToken } from '../../src/zoho/id-token.ts';
import { pkceChallenge, zohoOAuth } from '../../src/zoho/oauth.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const ZOHO = 'http://zoho.local';
const REDIRECT = DEFAULT_CLIENT.redirectUris[0]!;
const NONCE = 'n'.repeat(43);
const VERIFIER = 'v'.repeat(43);

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${part({ alg: 'RS256' })}.${part(claims)}.signature`;
const now = Date.now();
const good = { iss: ZOHO, aud: DEFAULT_CLIENT.clientId, exp: Math.floor(now / 1000) + 3600, nonce: NONCE, sub: '1' };
const expected = { issuer: ZOHO, clientId: DEFAULT_CLIENT.clientId, nonce: NONCE, now };

describe('checkIdToken', () => {
  it("takes an ID token of this login, client and issuer; in base64url or, as Zoho's own examples show, padded base64", () => {
    expect(checkIdToken(jwt(good), expected)).toMatchObject({ nonce: NONCE });
    const padded = `${Buffer.from('{"alg":"RS256"}').toString('base64')}.${Buffer.from(JSON.stringify(good)).toString('base64')}.sig`;
    expect(checkIdToken(padded, expected)).toMatchObject({ sub: '1' });
    expect(checkIdToken(jwt({ ...good, iss: `${ZOHO}/`, aud: ['other', DEFAULT_CLIENT.clientId] }), expected)).toMatchObject({ nonce: NONCE });
  });

  const refused: [string, unknown][] = [
    ['missing', undefined],
    ['not a JWT', 'abc'],
    ['not JSON', 'a.b.c'],
    ["another login's nonce", jwt({ ...good, nonce: 'm'.repeat(43) })],
    ['no nonce', jwt({ ...good, nonce: undefined })],
    ['another client', jwt({ ...good, aud: '1000.OTHER' })],
    ['another issuer', jwt({ ...good, iss: 'https://accounts.evil.example' })],
    ['expired', jwt({ ...good, exp: Math.floor(now / 1000) - 1 })],
  ];
  for (const [what, idToken] of refused) {
    it(`refuses an ID token that is ${what}, with ZOHO_ID_TOKEN_INVALID`, () => {
      expect(() => checkIdToken(idToken, expected)).toThrow(expect.objectContaining({ code: 'ZOHO_ID_TOKEN_INVALID' }));
    });
  }
});

describe('the local Zoho issues ID tokens as Zoho documents them', () => {
  async function codeFor(zoho: LocalZoho, scope: string, nonce?: string) {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: DEFAULT_CLIENT.clientId,
      scope,
      redirect_uri: REDIRECT,
      code_challenge: await pkceChallenge(VERIFIER),
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
      email: 'ana@example.com',
    });
    if (nonce) params.set('nonce', nonce);
    const approved = await zoho.fetch(new Request(`${ZOHO}/oauth/v2/auth/approve`, { method: 'POST', body: params }));
    return new URL(approved.headers.get('location')!).searchParams.get('code')!;
  }
  const oauthOf = (zoho: LocalZoho) =>
    zohoOAuth({
      accountsUrl: ZOHO,
      clientId: DEFAULT_CLIENT.clientId,
      clientSecret: DEFAULT_CLIENT.clientSecret,
      redirectUrl: REDIRECT,
      fetch: (input, init) => zoho.fetch(new Request(input, init)),
    });

  it('an email (or openid) scope answers an RS256 ID token with the nonce, verifiable with the keys of the discovery document', async () => {
    const zoho = new LocalZoho();
    const answer = await oauthOf(zoho).exchangeGrant(await codeFor(zoho, 'ZohoCRM.modules.ALL,email', NONCE), { codeVerifier: VERIFIER, nonce: NONCE });
    const [header, payload, signature] = answer.idToken!.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({
      iss: ZOHO,
      aud: DEFAULT_CLIENT.clientId,
      nonce: NONCE,
      email: 'ana@example.com',
      email_verified: true,
    });
    const discovery = (await (await zoho.fetch(new Request(`${ZOHO}/.well-known/openid-configuration`))).json()) as {
      issuer: string;
      jwks_uri: string;
      code_challenge_methods_supported: string[];
    };
    expect(discovery).toMatchObject({ issuer: ZOHO, code_challenge_methods_supported: ['plain', 'S256'] });
    const { keys } = (await (await zoho.fetch(new Request(discovery.jwks_uri))).json()) as { keys: import('node:crypto').JsonWebKey[] };
    const key = createPublicKey({ key: keys[0]!, format: 'jwk' });
    expect(createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(key, Buffer.from(signature!, 'base64url'))).toBe(true);
    // Without an OIDC scope there is none.
    expect((await oauthOf(zoho).exchangeGrant(await codeFor(zoho, 'ZohoCRM.modules.ALL'), { codeVerifier: VERIFIER })).idToken).toBeUndefined();
  });

  it("an exchange whose ID token carries another login's nonce is refused, and its new refresh token revoked at Zoho", async () => {
    // A Zoho that does not check server-based clients' PKCE: only the nonce stands between the code and the attacker.
    const zoho = new LocalZoho({ pkce: 'ignore-server' });
    const before = zoho.counts().revokes;
    const error = await tokenErrorOf(
      oauthOf(zoho).exchangeGrant(await codeFor(zoho, 'ZohoCRM.modules.ALL,email', 'victim-nonce-0123456789'), { codeVerifier: 'w'.repeat(43), nonce: NONCE }),
    );
    expect(error.code).toBe('ZOHO_ID_TOKEN_INVALID');
    expect(error.message).not.toContain('victim-nonce');
    expect(zoho.counts().revokes).toBe(before + 1);
    // A login that asked for no ID token gets none checked: the nonce is the caller's choice.
    await expect(oauthOf(zoho).exchangeGrant(await codeFor(zoho, 'ZohoCRM.modules.ALL,email'), { codeVerifier: VERIFIER })).resolves.toMatchObject({
      refreshToken: expect.any(String),
    });
  });

  it('PKCE: checked for every client by default; with pkce "ignore-server", not for server-based clients', async () => {
    const strict = new LocalZoho();
    await expect(oauthOf(strict).exchangeGrant(await codeFor(strict, 'ZohoCRM.modules.ALL'), { codeVerifier: 'w'.repeat(43) })).rejects.toMatchObject({
      code: 'ZOHO_INVALID_CODE',
    });
    const lax = new LocalZoho({ pkce: 'ignore-server' });
    await expect(oauthOf(lax).exchangeGrant(await codeFor(lax, 'ZohoCRM.modules.ALL'), { codeVerifier: 'w'.repeat(43) })).resolves.toMatchObject({
      refreshToken: expect.any(String),
    });
    expect(() => new LocalZoho({ pkce: 'sometimes' as never })).toThrow(/pkce/);
  });
});
