/**
 * Zoho's device flow, for places with no browser (a terminal, a server, a container): the
 * accounts server gives a user code and a verification URL, the person enters the code on any
 * device, and the program polls at Zoho's interval until Zoho answers with tokens. Polls slow
 * down when Zoho says `slow_down`, move to the user's data center on `other_dc`, and end with
 * a coded error when the person refuses, the code expires, or the caller aborts. Web APIs only.
 */
import { TokenStoreError } from '../store/errors.ts';
import { isDataCenter, type DataCenter } from './data-centers.ts';
import type { ZohoTokens } from './tokens.ts';

/** What `startDeviceLogin` takes. */
export interface DeviceLoginOptions {
  /** Scopes to ask for, comma-separated or a list. */
  scope: string | string[];
  /**
   * Ask the person's consent even if they gave it before (default true): Zoho gives a refresh
   * token on a second consent only with `prompt=consent`.
   */
  consent?: boolean;
  signal?: AbortSignal;
}

/** A device login under way: what to show the person, and the wait for their decision. */
export interface DeviceLogin {
  /** The code the person enters at `verificationUrl`. */
  readonly userCode: string;
  readonly verificationUrl: string;
  /** The verification URL with the code in it, when Zoho gives one. */
  readonly verificationUrlComplete: string | null;
  /** Epoch ms after which the code is dead. */
  readonly expiresAt: number;
  /** The wait between polls now (ms): Zoho's interval, longer after each `slow_down`. */
  readonly intervalMs: number;
  /**
   * Polls until the person decides: the tokens (with their data center's API domain), or
   * ZOHO_ACCESS_DENIED (refused), ZOHO_DEVICE_CODE_EXPIRED (not decided in time), CANCELLED
   * (`signal` aborted). `onPoll` hears why each poll still waits, for a countdown.
   */
  tokens(options?: { signal?: AbortSignal; onPoll?: (poll: DevicePoll) => void }): Promise<ZohoTokens>;
}

/** Why a poll still waits, as `onPoll` hears it: Zoho's `error` (pending, slow down) or a move to another data center. */
export interface DevicePoll {
  reason: 'authorization_pending' | 'slow_down' | 'other_dc';
  /** Epoch ms of the next poll. */
  nextPollAt: number;
  expiresAt: number;
}

/** What the OAuth client lends the flow: its calls, its servers and its secrets. */
export interface DeviceChannel {
  clientId: string;
  /** The accounts server a login starts at. */
  startServer: string;
  /** The accounts server of a data center this client serves, or null. */
  serverOf(dataCenter: DataCenter): string | null;
  /** The client secret for an accounts server, or null. */
  secretFor(server: string): string | null;
  call(url: string, init: RequestInit, doing: string): Promise<{ status: number; body: unknown }>;
  tokensFrom(answer: Record<string, unknown>, doing: string): ZohoTokens;
  /** The typed error for an answer's `error`, as the client maps every token endpoint's. */
  errorFrom(answer: Record<string, unknown>, doing: string): TokenStoreError;
  now(): number;
  /** Waits `ms`, or rejects when `signal` aborts. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

/** RFC 8628 §3.5: after each `slow_down`, five seconds more between polls. */
const SLOW_DOWN_STEP_MS = 5_000;
/** Zoho's documented rate: one poll per 30 seconds, when its answer gives no interval. */
const DEFAULT_INTERVAL_MS = 30_000;

const invalid = (message: string) => new TokenStoreError('INVALID_INPUT', `zohoOAuth device login: ${message}`);
const cancelled = () => new TokenStoreError('CANCELLED', 'the device login was cancelled');
const expired = () => new TokenStoreError('ZOHO_DEVICE_CODE_EXPIRED', 'the device login expired before the person decided');

/**
 * Zoho's older pages give `interval` and `expires_in` in milliseconds, the current ones in
 * seconds: a value too large to be seconds is taken as milliseconds.
 */
const milliseconds = (value: unknown, largestSeconds: number, fallback: number) =>
  typeof value === 'number' && value > 0 ? (value > largestSeconds ? value : value * 1000) : fallback;

/** Waits `ms` on the real clock, or rejects with CANCELLED when `signal` aborts. */
export function waitUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function startDeviceLogin(channel: DeviceChannel, options: DeviceLoginOptions): Promise<DeviceLogin> {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const scope = Array.isArray(options.scope) ? options.scope.join(',') : options.scope;
  if (typeof scope !== 'string' || scope.trim() === '') throw invalid('scope is required');
  if (options.signal?.aborted) throw cancelled();
  const params = new URLSearchParams({ client_id: channel.clientId, grant_type: 'device_request', scope, access_type: 'offline' });
  if (options.consent !== false) params.set('prompt', 'consent');
  const doing = 'starting a device login';
  const { body } = await channel
    .call(`${channel.startServer}/oauth/v3/device/code?${params}`, { method: 'POST', signal: options.signal ?? null }, doing)
    .catch((error: unknown) => {
      throw options.signal?.aborted ? cancelled() : error;
    });
  const answer = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof answer.error === 'string') throw channel.errorFrom(answer, doing);
  const { user_code: userCode, device_code: deviceCode, verification_url: verificationUrl } = answer;
  if (typeof userCode !== 'string' || typeof deviceCode !== 'string' || typeof verificationUrl !== 'string') {
    throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho's answer lacks user_code, device_code or verification_url while ${doing}`);
  }
  const complete = answer.verification_uri_complete ?? answer.verification_url_complete;
  let intervalMs = milliseconds(answer.interval, 600, DEFAULT_INTERVAL_MS);
  const expiresAt = channel.now() + milliseconds(answer.expires_in, 86_400, 5 * 60_000);
  let server = channel.startServer;

  /** One poll at the current server: tokens, or what to do next. */
  async function poll(signal: AbortSignal | undefined): Promise<ZohoTokens | DevicePoll['reason']> {
    const secret = channel.secretFor(server);
    if (secret === null) throw invalid("this client has no secret for the user's data center");
    const form = new URLSearchParams({ client_id: channel.clientId, client_secret: secret, grant_type: 'device_token', code: deviceCode as string });
    const { body: polled } = await channel.call(
      `${server}/oauth/v3/device/token`,
      { method: 'POST', body: form, signal: signal ?? null },
      'polling for a device login',
    );
    const reply = (typeof polled === 'object' && polled !== null ? polled : {}) as Record<string, unknown>;
    switch (reply.error) {
      case undefined:
        return channel.tokensFrom(reply, 'polling for a device login');
      case 'authorization_pending':
      case 'slow_down':
        return reply.error;
      case 'other_dc': {
        const location = reply.user_location;
        const next = isDataCenter(location) ? channel.serverOf(location) : null;
        if (!next)
          throw new TokenStoreError(
            'ZOHO_BAD_RESPONSE',
            `the person's Zoho account is in a data center this client does not serve (${String(location).slice(0, 10)})`,
          );
        server = next;
        return 'other_dc';
      }
      case 'access_denied':
        throw new TokenStoreError('ZOHO_ACCESS_DENIED', 'the person refused the device login at Zoho');
      case 'expired':
        throw expired();
      default:
        throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho answered "${String(reply.error).slice(0, 60)}" while polling for a device login`);
    }
  }

  return {
    userCode,
    verificationUrl,
    verificationUrlComplete: typeof complete === 'string' ? complete : null,
    expiresAt,
    get intervalMs() {
      return intervalMs;
    },
    async tokens({ signal, onPoll } = {}) {
      const aborted = signal ?? options.signal;
      for (;;) {
        if (channel.now() >= expiresAt) throw expired();
        await channel.wait(intervalMs, aborted).catch((error: unknown) => {
          throw aborted?.aborted ? cancelled() : error;
        });
        let result: Awaited<ReturnType<typeof poll>>;
        try {
          result = await poll(aborted);
        } catch (error) {
          if (aborted?.aborted) throw cancelled();
          // Zoho down or busy for a moment: the person may still be deciding; poll again after the wait.
          if (error instanceof TokenStoreError && error.retryable) continue;
          throw error;
        }
        if (typeof result !== 'string') return result;
        if (result === 'slow_down') intervalMs += SLOW_DOWN_STEP_MS;
        onPoll?.({ reason: result, nextPollAt: channel.now() + intervalMs, expiresAt });
      }
    },
  };
}
