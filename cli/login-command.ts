// edge-token-store login --device ... (Node 22.5+): a first Zoho token for a user, from a place
// with no browser, straight into a sealed store (device.ts does the flow).
import { parseArgs } from 'node:util';
import { isTokenStoreError } from '../src/store/errors.ts';
import { DATA_CENTER_IDS, isDataCenter, type DataCenter, type DataCenterTable } from '../src/zoho/data-centers.ts';
import type { DevicePoll } from '../src/zoho/device.ts';
import { zohoOAuth, type ZohoOAuth } from '../src/zoho/oauth.ts';
import { chosenTarget, TARGET_FLAGS, TARGETS } from './targets.ts';

const DEFAULT_SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.settings.fields.READ';

const USAGE = `usage: edge-token-store login --device --client-id <id> --data-center <dc> --to <target> [options]

Logs a Zoho user in where there is no browser (Zoho's device flow): it prints a code and a URL,
the person opens the URL on any device, enters the code and accepts, and the token is saved,
sealed, in the target. A second login of the same user replaces their record.

  --client-id <id>          a client of type "Non-browser Applications" in Zoho's API console
                            (its secret from the environment: ZOHO_CLIENT_SECRET, never an argument)
  --data-center <dc>        where the client is registered: ${DATA_CENTER_IDS.join(', ')}, or any
                            (users of every data center; the login starts at the US server)
  --scope <scopes>          comma-separated (default ${DEFAULT_SCOPE};
                            ZohoCRM.users.READ is needed to name the user)
  --accounts-url <url>      a local Zoho instead of Zoho's accounts server; repeat as
                            <dc>=<url> for several data centers (with --data-center any)

targets (keys from TOKEN_STORE_KEYS and TOKEN_STORE_CURRENT_KEY, as the import takes them):
  --to sqlite --out <file.db>   a SQLite file, as createSqlStore (and the official SDK through
                                createZohoSdkStore) reads it
  --to wrangler-durable-object  the Worker's per-user objects as \`wrangler dev\` persists them
      --config, --persist-to, --binding, --object-name   as for the import
  --to wrangler-kv | wrangler-d1 | d1-sql | kv-bulk     as for the import (--out, --table, --prefix)`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: {
    device: { type: 'boolean', default: false },
    'client-id': { type: 'string' },
    'data-center': { type: 'string', default: 'us' },
    scope: { type: 'string', default: DEFAULT_SCOPE },
    'accounts-url': { type: 'string', multiple: true },
    ...TARGET_FLAGS,
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.device) fail(`login needs --device (the only way this command logs in)\n\n${USAGE}`);
const clientId = values['client-id'] ?? fail(`--client-id is required\n\n${USAGE}`);
const clientSecret = process.env.ZOHO_CLIENT_SECRET || fail("set ZOHO_CLIENT_SECRET to the client's secret (it is never taken as an argument)");
const dataCenter = values['data-center'];
if (dataCenter !== 'any' && !isDataCenter(dataCenter)) fail(`--data-center must be one of ${DATA_CENTER_IDS.join(', ')} or any`);
const to = values.to ?? fail(`--to is required: ${TARGETS.join(', ')}\n\n${USAGE}`);
const target = chosenTarget(to, values);
if (typeof target === 'string') fail(`${target}\n\n${USAGE}`);

/** The OAuth client the flags describe: Zoho's servers, or local ones. */
function oauthOf(): ZohoOAuth {
  const urls = values['accounts-url'] ?? [];
  if (urls.length === 0) return zohoOAuth({ clientId, clientSecret, dataCenter: dataCenter as DataCenter | 'any' });
  if (urls.length === 1 && !urls[0]!.includes('=')) {
    if (dataCenter === 'any') fail('--data-center any needs --accounts-url <dc>=<url> for each data center');
    return zohoOAuth({ clientId, clientSecret, accountsUrl: urls[0]! });
  }
  const table: DataCenterTable = {};
  for (const pair of urls) {
    const [dc, url] = pair.split(/=(.*)/s);
    if (!isDataCenter(dc) || !url || !URL.canParse(url)) fail(`--accounts-url ${pair}: give <dc>=<url>, such as eu=http://127.0.0.1:8798`);
    // A local Zoho serves accounts and the CRM from one origin.
    table[dc] = { accounts: url, apiDomain: url };
  }
  return zohoOAuth({ clientId, clientSecret, dataCenter: 'any', dataCenters: table });
}

const minutes = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

/** The code, the URL and a QR code of it (when the optional `qrcode` package is installed). */
async function show(url: string, userCode: string): Promise<void> {
  console.log(`\nOpen ${url}\nand enter the code  ${userCode}\n`);
  try {
    const { default: qrcode } = await import('qrcode');
    console.log(await qrcode.toString(url, { type: 'terminal', small: true }));
  } catch {
    // No QR code without the package: the URL and code above are enough.
  }
}

const oauth = oauthOf();
// The target is opened before the person is asked anything: a wrong key ring or path fails now.
let store: Awaited<ReturnType<typeof target>> | undefined;
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
let countdown: ReturnType<typeof setInterval> | undefined;
let failed: string | null = null;
try {
  store = await target();
  const login = await oauth.startDeviceLogin({ scope: values.scope, signal: controller.signal });
  await show(login.verificationUrlComplete ?? login.verificationUrl, login.userCode);
  const status = (poll?: DevicePoll) =>
    `waiting for the person to accept: ${minutes(Math.max(0, login.expiresAt - Date.now()))} left${poll?.reason === 'slow_down' ? ' (Zoho asked to poll slower)' : ''}`;
  if (process.stdout.isTTY) countdown = setInterval(() => process.stdout.write(`\r${status()}   `), 1000);
  else console.log(status());
  const tokens = await login.tokens({ signal: controller.signal, onPoll: (poll) => (process.stdout.isTTY ? undefined : console.log(status(poll))) });
  clearInterval(countdown);
  if (process.stdout.isTTY) process.stdout.write('\n');
  let userName: string;
  try {
    userName = await oauth.currentUser(tokens);
  } catch (error) {
    // A token nobody can be named for would be stored nowhere: not left live at Zoho.
    await oauth.revoke(tokens.refreshToken!, { apiDomain: tokens.apiDomain }).catch(() => undefined);
    throw error;
  }
  // The Worker's objects refresh with the secret in their environment; every other store keeps it, sealed, as the SDK's do.
  const perUserObjects = to === 'wrangler-durable-object' && values['object-name'] === undefined;
  const { actions, failure } = await store.save([
    {
      userName,
      clientId,
      clientSecret: perUserObjects ? null : oauth.clientSecretFor(tokens.apiDomain),
      refreshToken: tokens.refreshToken,
      accessToken: tokens.accessToken,
      expiryTime: tokens.expiryTime,
      apiDomain: tokens.apiDomain,
      grantToken: null,
    },
  ]);
  if (failure) throw new Error(`${failure.code}: ${failure.message}`);
  // The user's name stays off the screen, as every secret does.
  console.log(
    `${actions[0] === 'merged' ? 'replaced the token of' : 'saved a token for'} the Zoho user who accepted (data center ${oauth.dataCenterOf(tokens.apiDomain) ?? 'local'}), sealed, in ${store.describe}`,
  );
} catch (error) {
  clearInterval(countdown);
  if (process.stdout.isTTY) process.stdout.write('\n');
  const messages: Record<string, string> = {
    ZOHO_ACCESS_DENIED: 'the person refused the login at Zoho; nothing was saved',
    ZOHO_DEVICE_CODE_EXPIRED: 'the code expired before the person accepted; run the command again',
    CANCELLED: 'cancelled; nothing was saved',
    ZOHO_INVALID_CLIENT: 'Zoho does not know this client id at that data center (is it a "Non-browser Applications" client there?)',
  };
  failed = `login failed: ${isTokenStoreError(error) ? (messages[error.code] ?? `${error.code}: ${error.message}`) : (error as Error).message}`;
} finally {
  await store?.close();
}
if (failed) fail(failed, 1);
