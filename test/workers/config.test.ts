import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../worker/config.ts';
import './env.ts';

describe('worker configuration', () => {
  it('reports malformed JSON secrets by name, never by value (the message is logged)', () => {
    const secret = 'Zm9vYmFyYmF6cXV4c2VjcmV0a2V5bWF0ZXJpYWwxMjM';
    for (const [name, value] of [
      ['TOKEN_STORE_KEYS', secret],
      ['TOKEN_STORE_KEYS', `{"k1":"${secret}" oops}`],
      ['TOKEN_STORE_KEYS', `["${secret}"]`],
      ['API_KEYS', `"${secret}`],
    ] as const) {
      let message = '';
      try {
        readConfig({ ...env, [name]: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(`configuration: ${name} must be a JSON object`);
    }
  });

  it('parses the key ring once, for the KV store to use', () => {
    expect(readConfig(env).tokenStoreKeys).toEqual(JSON.parse(env.TOKEN_STORE_KEYS));
  });
});
