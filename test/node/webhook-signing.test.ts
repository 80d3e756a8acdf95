/**
 * The connection events' webhook signature against the Standard Webhooks reference library
 * (`standardwebhooks`): what it verifies, ours produces; and which change is which event.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { eventTypeOf, userNameParts, webhookHeaders } from '../../src/worker/connection-events.ts';

describe('webhook signatures', () => {
  it('the reference library verifies ours, for secrets with and without the whsec_ prefix, and refuses a changed body', async () => {
    for (const bytes of [24, 32, 64]) {
      const raw = randomBytes(bytes).toString('base64');
      for (const secret of [`whsec_${raw}`, raw]) {
        const body = JSON.stringify({ id: 'msg_1', type: 'connection.revoked', data: { reason: null } });
        const headers = await webhookHeaders(secret, 'msg_1', body);
        expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
        expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
        expect(() => new Webhook(secret).verify(body.replace('revoked', 'erased'), headers)).toThrow();
      }
    }
  });

  it('signs the time it is given, in seconds, which the library holds to its tolerance', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const stale = await webhookHeaders(secret, 'msg_2', '{}', Date.now() - 10 * 60_000);
    expect(stale['webhook-timestamp']).toBe(String(Math.floor((Date.now() - 10 * 60_000) / 1000)));
    expect(() => new Webhook(secret).verify('{}', stale)).toThrow();
  });

  it('a secret that is not base64 is MISCONFIGURED, and the message does not quote it', async () => {
    for (const secret of ['whsec_not base64!', 'whsec_']) {
      const refused = await webhookHeaders(secret, 'msg_3', '{}').catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'MISCONFIGURED' });
      expect(String((refused as Error).message)).not.toContain('not base64!');
    }
  });
});

describe('which change is which event', () => {
  it('a first login is none; coming back from any other status is recovered; each end its own', () => {
    expect(eventTypeOf(null, 'active')).toBeNull();
    expect(eventTypeOf('active', 'active')).toBeNull();
    for (const before of ['needs_reauth', 'revoked', 'erased', 'purged'] as const) expect(eventTypeOf(before, 'active')).toBe('connection.recovered');
    expect(eventTypeOf('active', 'needs_reauth')).toBe('connection.reauth_required');
    expect(eventTypeOf('active', 'revoked')).toBe('connection.revoked');
    expect(eventTypeOf('needs_reauth', 'erased')).toBe('connection.erased');
    expect(eventTypeOf('active', 'purged')).toBe('connection.purged');
  });

  it("splits Zoho's user name into email and org", () => {
    expect(userNameParts('ana@example.com:7001')).toEqual({ email: 'ana@example.com', org: '7001' });
    expect(userNameParts(null)).toEqual({ email: null, org: null });
  });
});
