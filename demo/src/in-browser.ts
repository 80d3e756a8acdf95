/**
 * The demo's second way to hold tokens: in this browser, in IndexedDB, sealed with keys
 * from `browserCipher()` that no script can read. The page is a Zoho client-based
 * (JavaScript) app: the implicit flow gives it an access token for an hour and no refresh
 * token, there is no client secret anywhere, and the CRM answers it cross-origin because its
 * origin is a JavaScript domain registered for the client. When the hour is over, the person
 * logs in again. Bundled to demo/public/in-browser.js.
 */
import { browserCipher, openIndexedDBStore } from '../../src/backends/idb.ts';
import { isTokenStoreError } from '../../src/store/errors.ts';
import { createTokenManager, type TokenManager } from '../../src/zoho/token-manager.ts';
import type { OAuthToken, TokenStore } from '../../src/store/types.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';

const DB = 'edge-token-store-demo';
const SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ';
const LEAD_FIELDS = ['Last_Name', 'First_Name', 'Company', 'Email'];
const $ = (id: string) => document.getElementById(id)!;

/** A client-based client: its id and where it signs in. No secret: Zoho issues none to such clients. */
interface LocalConfig {
  accountsUrl: string;
  clientId: string;
}

const SENTENCES: Record<string, string> = {
  REAUTH_REQUIRED: 'Your Zoho login has ended: a login in the browser lasts an hour. Please log in again.',
  ZOHO_SCOPE_MISMATCH: 'The Zoho login did not grant every permission this page asks for. Please log in again and accept them.',
  ZOHO_RATE_LIMITED: 'Zoho asks us to wait: too many token refreshes in a short time. Try again in a minute.',
  ZOHO_UNAVAILABLE: 'Zoho could not be reached. If you run this locally, is the local Zoho running? `npm start` starts it.',
  ZOHO_INVALID_CODE: 'Zoho did not accept the login (the code was used or expired). Please log in again.',
  NOT_FOUND: 'There is no login stored in this browser. Please log in.',
};

function say(error: unknown): void {
  const text = isTokenStoreError(error)
    ? (SENTENCES[error.code] ?? `Something went wrong (${error.code}). Please try again.`)
    : 'Something went wrong. Please try again.';
  $('b-error').textContent = text;
  $('b-error').hidden = false;
}

async function rawRecords(): Promise<{ id: string; keyId: string; data: string }[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('tokens')) return resolve([]);
      const request = db.transaction('tokens').objectStore('tokens').getAll();
      request.onsuccess = () => {
        db.close();
        resolve(request.result);
      };
    };
  });
}

async function showStorage(): Promise<void> {
  const rows = $('b-raw').querySelector('tbody')!;
  rows.replaceChildren();
  for (const record of await rawRecords()) {
    const row = document.createElement('tr');
    for (const text of [record.id, record.keyId, `${record.data.length} chars`, `${record.data.slice(0, 40)}…`]) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    rows.append(row);
  }
}

async function main(): Promise<void> {
  // Back from Zoho: the token is in the fragment, which never reaches a server. It leaves the
  // address bar (and so history, and any script that reads it later) before anything else runs.
  const fragment = location.hash.includes('access_token=') ? location.hash : null;
  const expected = sessionStorage.getItem('ets-demo-state') ?? '';
  if (fragment !== null) {
    sessionStorage.removeItem('ets-demo-state');
    history.replaceState(null, '', '/?mode=browser');
  }
  const response = await fetch('/demo/browser-client');
  if (!response.ok) {
    $('b-unavailable').hidden = false;
    return;
  }
  const config = (await response.json()) as LocalConfig;
  const redirectUrl = `${location.origin}/?mode=browser`;
  const oauth = zohoOAuth({ accountsUrl: config.accountsUrl, clientId: config.clientId, redirectUrl });
  const store: TokenStore = await openIndexedDBStore({ name: DB, cipher: await browserCipher(`${DB}-keys`) });
  const manager: TokenManager = createTokenManager({ store, oauth });
  // On open: a token nobody used for 90 days is revoked at Zoho and deleted (best effort offline).
  await manager.purgeIdle({ idleMs: 90 * 86_400_000 }).catch(() => undefined);
  let token: OAuthToken | null = null;

  // Then: was it this page's login?
  if (fragment !== null) {
    try {
      const answer = oauth.tokenFromRedirect(fragment, { state: expected });
      const userName = await oauth.currentUser(answer);
      await store.saveToken({
        userName,
        clientId: oauth.clientId,
        accessToken: answer.accessToken,
        expiryTime: answer.expiryTime,
        apiDomain: answer.apiDomain,
      });
    } catch (error) {
      say(error);
    }
  }

  async function render(): Promise<void> {
    token = (await store.getTokens())[0] ?? null;
    $('b-logged-out').hidden = !!token;
    $('b-logged-in').hidden = !token;
    await showStorage();
    if (!token) return;
    $('b-user').textContent = token.userName ?? '';
    $('b-domain').textContent = token.apiDomain ?? '';
    try {
      await loadLeads();
    } catch (error) {
      say(error);
      // An expired login is deleted by the manager (nothing can refresh it): show the login button.
      if (!(await store.findTokenById(token.id))) await render();
    }
  }

  async function loadLeads(): Promise<void> {
    const response = await manager.fetchCrm({ id: token!.id }, `/crm/v8/Leads?fields=${LEAD_FIELDS.join(',')}&per_page=50`);
    token = await store.findTokenById(token!.id);
    const body = response.status === 200 ? ((await response.json()) as { data: Record<string, string>[] }) : { data: [] };
    const rows = $('b-leads').querySelector('tbody')!;
    rows.replaceChildren();
    for (const lead of body.data) {
      const row = document.createElement('tr');
      for (const text of [...LEAD_FIELDS.map((field) => lead[field]), lead.id]) {
        const td = document.createElement('td');
        td.textContent = text ?? '';
        row.append(td);
      }
      rows.append(row);
    }
    await showStorage();
  }

  function tick(): void {
    if (!token?.expiryTime) return;
    const seconds = Math.max(0, Math.round((token.expiryTime - Date.now()) / 1000));
    $('b-expires').textContent = seconds > 0 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : 'expired: log in again';
  }
  setInterval(tick, 1000);

  const on = (id: string, run: () => Promise<void>) =>
    $(id).addEventListener('click', async (event) => {
      event.preventDefault();
      $('b-error').hidden = true;
      try {
        await run();
      } catch (error) {
        say(error);
        await render().catch(() => undefined);
      }
      tick();
    });

  on('b-login', async () => {
    const state = crypto.randomUUID();
    sessionStorage.setItem('ets-demo-state', state);
    location.href = oauth.authorizationUrl({ scope: SCOPE, state, responseType: 'token' });
  });
  on('b-logout', async () => {
    await store.deleteToken(token!.id);
    await render();
  });
  $('b-new-lead').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    try {
      await manager.fetchCrm({ id: token!.id }, '/crm/v8/Leads', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: [{ Last_Name: form.get('Last_Name'), Company: form.get('Company') }] }),
      });
      (event.target as HTMLFormElement).reset();
      await loadLeads();
    } catch (error) {
      say(error);
    }
  });

  await render();
  tick();
}

main().catch(say);
