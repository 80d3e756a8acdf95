// An app's webhook endpoint for the tests: it checks each delivery's signature with the
// `standardwebhooks` package (as an app would), keeps what arrived, and can be told to fail the
// next deliveries. Runtime-neutral: vitest.config.ts answers the workers tests' outbound
// https://hooks.test/ with it, and the npm start test serves it on loopback.
import { Webhook } from 'standardwebhooks';

/** One delivery as it arrived: its Standard Webhooks headers, whether the signature held, and what was answered. */
export interface Delivery {
  id: string;
  timestamp: string;
  verified: boolean;
  body: string;
  answered: number;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Events a queue consumer handed on (the workers tests' consumer posts them to /__queued). */
  readonly queued: unknown[] = [];
  readonly #webhook: Webhook;
  #failNext = 0;

  constructor(secret: string) {
    this.#webhook = new Webhook(secret);
  }

  /**
   * `POST /events` a delivery; `GET /__received` what arrived (`{ deliveries, queued }`);
   * `POST /__fail?count=N` fails the next N with 503; `POST /__queued` a consumer's messages.
   */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__received') return Response.json({ deliveries: this.deliveries, queued: this.queued });
    if (url.pathname === '/__queued') {
      this.queued.push(...((await request.json()) as unknown[]));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/__fail') {
      this.#failNext = Number(url.searchParams.get('count') ?? 1);
      return new Response(null, { status: 204 });
    }
    if (url.pathname !== '/events' || request.method !== 'POST') return new Response('not here', { status: 404 });
    const body = await request.text();
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, request.headers.get(h) ?? '']));
    let verified = true;
    try {
      this.#webhook.verify(body, headers);
    } catch {
      verified = false;
    }
    const answered = !verified ? 401 : this.#failNext > 0 ? 503 : 204;
    if (answered === 503) this.#failNext--;
    this.deliveries.push({ id: headers['webhook-id']!, timestamp: headers['webhook-timestamp']!, verified, body, answered });
    return new Response(null, { status: answered });
  }
}

/** A fresh `whsec_` secret (32 random bytes). */
export function webhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}
