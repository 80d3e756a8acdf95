// Where Zoho sends the login back: checks state and accounts server, exchanges the code,
// and stores the tokens (sealed) in the extension's IndexedDB.
import { isTokenStoreError } from '../../../src/errors.ts';
import { open } from './shared.ts';

async function main(): Promise<string> {
  const params = new URLSearchParams(location.search);
  const expected = localStorage.getItem('zoho-login-state');
  localStorage.removeItem('zoho-login-state');
  const { manager, oauth } = await open();
  if (!expected || params.get('state') !== expected) return 'This login did not start in the extension. Please log in again from the popup.';
  if (new URL(params.get('accounts-server') ?? 'x:').origin !== oauth.accountsUrl) return 'The login came back from an unexpected server.';
  const token = await manager.exchangeGrant(params.get('code') ?? '');
  history.replaceState(null, '', location.pathname);
  return `Logged in as ${token.userName}. You can close this tab and open the extension.`;
}

main()
  .then((text) => (document.getElementById('status')!.textContent = text))
  .catch((error: unknown) => {
    document.getElementById('status')!.textContent = isTokenStoreError(error)
      ? `Zoho did not accept the login (${error.code}). Please try again.`
      : 'The login failed. Please try again.';
  });
