// A child process of test/node/sql.test.ts: saves one user's token `count` times into the
// SQLite file it is given, each save its own access token, and prints how many succeeded.
import { DatabaseSync } from 'node:sqlite';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher } from '../../src/store/cipher.ts';

const [file, key, tag, count] = process.argv.slice(2);
const store = createSqlStore({ db: new DatabaseSync(file!), cipher: createCipher({ keys: { k1: key! }, current: 'k1' }) });
let saved = 0;
for (let i = 0; i < Number(count); i++) {
  await store.saveToken({ userName: 'racer@example.com:7001', clientId: '1000.C', refreshToken: '1000.refresh.racer', accessToken: `1000.access.${tag}.${i}` });
  saved++;
}
console.log(`saved ${saved}`);
