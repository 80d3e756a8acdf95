// The service worker: logs in (the popup closes when the sign-in window opens, so the flow runs
// here), answers the popup's "leads" message with the CRM's Leads, and keeps the access token
// fresh on an alarm. Its refreshes and the popup's share one Web Lock.
import { isTokenStoreError } from '../../../src/store/errors.ts';
import { createPkce } from '../../../src/zoho/oauth.ts';
import { open, SCOPE, type LeadsAnswer } from './shared.ts';

const ready = open();

async function leads(): Promise<LeadsAnswer> {
  const { store, manager } = await ready;
  const [token] = await store.getTokens();
  if (!token) return { error: 'not_logged_in' };
  try {
    const response = await manager.fetchCrm({ id: token.id }, '/crm/v8/Leads?fields=Last_Name,Company&per_page=20');
    const body = response.status === 200 ? ((await response.json()) as { data: { Last_Name?: string }[] }) : { data: [] };
    return { user: token.userName ?? '', leads: body.data.map((lead) => lead.Last_Name ?? '') };
  } catch (error) {
    return { error: isTokenStoreError(error) ? error.code : 'failed' };
  }
}

/** The code flow with PKCE: the verifier never leaves this worker; the code comes back to Chrome, not to a page. */
async function login(): Promise<LeadsAnswer> {
  const { manager, oauth } = await ready;
  const state = crypto.randomUUID();
  const { verifier, challenge } = await createPkce();
  let redirected: URL;
  try {
    redirected = new URL(
      await chrome.identity.launchWebAuthFlow({ url: oauth.authorizationUrl({ scope: SCOPE, state, codeChallenge: challenge }), interactive: true }),
    );
  } catch {
    return { error: 'login_cancelled' };
  }
  const params = redirected.searchParams;
  if (params.get('state') !== state) return { error: 'bad_state' };
  if (new URL(params.get('accounts-server') ?? 'x:').origin !== oauth.accountsUrl) return { error: 'bad_accounts_server' };
  try {
    await manager.exchangeGrant(params.get('code') ?? '', { codeVerifier: verifier });
  } catch (error) {
    return { error: isTokenStoreError(error) ? error.code : 'failed' };
  }
  return leads();
}

chrome.runtime.onMessage.addListener((message, _sender, respond) => {
  const type = (message as { type?: string }).type;
  if (type !== 'leads' && type !== 'login') return false;
  (type === 'login' ? login() : leads()).then(respond);
  return true; // answers asynchronously
});

chrome.alarms.create('keep-fresh', { periodInMinutes: 5 });
chrome.alarms.onAlarm.addListener(async () => {
  const { store, manager } = await ready;
  const [token] = await store.getTokens();
  if (token) await manager.getAccessToken({ id: token.id }).catch(() => undefined);
});
