// Node peers, measured on the same tokens and operations: the official Zoho TypeScript SDK's
// FileStore (the store most Zoho users run; its CSV is written directly in its own format, as
// seeding through its saveToken would rewrite the whole file per token), and unstorage's db0
// driver over a node:sqlite file (a SQL table as a key-value layer: tokens as JSON items).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OAuthToken } from '../../src/store/types.ts';
import { createDatabase } from 'db0';
import nodeSqliteConnector from 'db0/connectors/node-sqlite';
import { createStorage } from 'unstorage';
import db0Driver from 'unstorage/drivers/db0';
import { CLIENT, keyValueOps, seedKeyValue, token, type Stats, time } from './measure.ts';

const require = createRequire(import.meta.url);
const sdk = '@zohocrm/typescript-sdk-8.0/dist';
const { FileStore } = require(`${sdk}/models/authenticator/store/file_store`);
const { OAuthToken: SdkToken } = require(`${sdk}/models/authenticator/oauth_token`);
const { UserSignature } = require(`${sdk}/routes/user_signature`);

const HEADER = 'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain';

export async function zohoFileStore(n: number, iterations: number): Promise<Stats> {
  const path = join(mkdtempSync(join(tmpdir(), 'ets-bench-')), 'tokens.csv');
  const saved: OAuthToken[] = [];
  const rows = [HEADER];
  for (let i = 0; i < n; i++) {
    const t = { id: String(i + 1), ...token(i) } as OAuthToken;
    saved.push(t);
    rows.push([t.id, t.userName, t.clientId, t.clientSecret, t.refreshToken, t.accessToken, t.grantToken, t.expiryTime, t.redirectUrl, t.apiDomain].join(','));
  }
  writeFileSync(path, rows.join('\n'));
  const store = new FileStore(path);
  const pick = (i: number) => saved[(i * 7919) % saved.length]!;
  // The SDK's own token objects, built as it builds them: (clientID, secret, grant, refresh, redirect, id, access, user).
  const sdkToken = (fields: Partial<Record<'clientId' | 'clientSecret' | 'grantToken' | 'refreshToken' | 'id' | 'accessToken' | 'user', string>>) =>
    new SdkToken(
      fields.clientId ?? null,
      fields.clientSecret ?? null,
      fields.grantToken ?? null,
      fields.refreshToken ?? null,
      null,
      fields.id ?? null,
      fields.accessToken ?? null,
      fields.user ? new UserSignature(fields.user) : null,
    );
  const found = async (promise: Promise<unknown>) => {
    if (!(await promise)) throw new Error('FileStore lookup found nothing');
  };
  return time(
    {
      'findToken userName': (i) => found(store.findToken(sdkToken({ user: pick(i).userName! }))),
      'findToken accessToken': (i) => found(store.findToken(sdkToken({ accessToken: pick(i).accessToken! }))),
      'findToken refresh+client': (i) => found(store.findToken(sdkToken({ refreshToken: pick(i).refreshToken!, ...CLIENT }))),
      'findToken grant+client': (i) => found(store.findToken(sdkToken({ grantToken: pick(i).grantToken!, ...CLIENT }))),
      findTokenById: (i) => found(store.findTokenById(pick(i).id)),
      'saveToken (refresh)': async (i) => {
        const accessToken = `1000.access.new.${i}.${pick(i).id}`;
        const t = sdkToken({ id: pick(i).id, ...CLIENT, refreshToken: pick(i).refreshToken!, accessToken });
        t.setExpiresIn(String(1_900_000_000_000 + i));
        await store.saveToken(t);
        saved[(i * 7919) % saved.length] = { ...pick(i), accessToken };
      },
    },
    iterations,
  );
}

/** unstorage + db0 on a SQLite file; SQL statements per call counted where db0 prepares them. */
export async function unstorageDb0(n: number, iterations: number): Promise<Stats> {
  const connector = nodeSqliteConnector({ path: join(mkdtempSync(join(tmpdir(), 'ets-bench-db0-')), 'tokens.db') });
  let statements = 0;
  const prepare = connector.prepare.bind(connector);
  connector.prepare = (sql: string) => (statements++, prepare(sql));
  const storage = createStorage({ driver: db0Driver({ database: createDatabase(connector) }) });
  const saved = await seedKeyValue(storage, n);
  return time(keyValueOps(storage, saved), iterations, { reset: () => (statements = 0), read: () => statements });
}
