// `npm start` until the Worker lands: saves, finds, rotates and deletes tokens in a sealed
// in-memory store, printing what it does (never a secret: only ids, key ids and lengths).
import { createCipher, generateSecret } from '../src/store/cipher.ts';
import { cipherCodec } from '../src/store/codec.ts';
import { memoryBackend } from '../src/backends/memory.ts';
import { createRecordStore } from '../src/store/record-store.ts';

const backend = memoryBackend();
const k1 = generateSecret();
const k2 = generateSecret();
const users = ['ana@example.com:7001', 'bo@example.com:7002', 'cy@example.com:7003'];
const client = { clientId: '1000.EXAMPLE', clientSecret: generateSecret() };

const before = createRecordStore(backend, cipherCodec(createCipher({ keys: { k1 }, current: 'k1' }), 'example'));
for (const [n, userName] of users.entries()) {
  const token = await before.saveToken({
    userName,
    ...client,
    refreshToken: `1000.${generateSecret()}`,
    accessToken: `1000.${generateSecret()}`,
    expiryTime: Date.now() + 3_600_000,
    apiDomain: 'https://www.zohoapis.com',
  });
  console.log(`saved user #${n + 1} as record ${token.id}`);
}

const second = await before.findToken({ userName: users[1] });
console.log(`found user #2 by user name: record ${second?.id}`);
const byRefresh = await before.findToken({ refreshToken: second!.refreshToken!, ...client });
console.log(`found user #2 by refresh token + client: record ${byRefresh?.id}`);
console.log(`refresh token alone (no client) finds: ${await before.findToken({ refreshToken: second!.refreshToken! })}`);

let sample = (await backend.get(second!.id))!;
console.log(`stored record is sealed under key "${sample.keyId}": ${sample.data.slice(0, 32)}... (${sample.data.length} chars)`);

const after = createRecordStore(backend, cipherCodec(createCipher({ keys: { k1, k2 }, current: 'k2' }), 'example'));
console.log(`rotated to key "k2": re-sealed ${await after.rotate()} records`);
sample = (await backend.get(second!.id))!;
console.log(`the same record is now sealed under key "${sample.keyId}": ${sample.data.slice(0, 32)}...`);

await after.deleteToken(second!.id);
console.log(`deleted record ${second!.id}; ${(await after.getTokens()).length} records remain`);
await after.deleteTokens();
console.log(`deleted all; ${(await after.getTokens()).length} records remain`);
