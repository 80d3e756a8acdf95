// The popup: asks the service worker for Leads; offers a login when there is none.
import { open, SCOPE, type LeadsAnswer } from './shared.ts';

const $ = (id: string) => document.getElementById(id)!;
const SENTENCES: Record<string, string> = {
  REAUTH_REQUIRED: 'Your Zoho login has ended. Please log in again.',
  ZOHO_UNAVAILABLE: 'Zoho could not be reached. Is it running?',
  ZOHO_RATE_LIMITED: 'Zoho asks us to wait a minute before refreshing again.',
};

async function main(): Promise<void> {
  const answer = await chrome.runtime.sendMessage<LeadsAnswer>({ type: 'leads' });
  if (answer.error === 'not_logged_in' || answer.error === 'REAUTH_REQUIRED') {
    $('status').textContent = answer.error === 'not_logged_in' ? 'Not logged in.' : SENTENCES.REAUTH_REQUIRED!;
    $('login').hidden = false;
    return;
  }
  if (answer.error) {
    $('status').textContent = '';
    $('error').textContent = SENTENCES[answer.error] ?? 'Something went wrong. Please try again.';
    $('error').hidden = false;
    return;
  }
  $('status').textContent = `Logged in as ${answer.user}`;
  for (const name of answer.leads ?? []) {
    const item = document.createElement('li');
    item.textContent = name;
    $('leads').append(item);
  }
}

$('login').addEventListener('click', async () => {
  const { oauth } = await open();
  const state = crypto.randomUUID();
  localStorage.setItem('zoho-login-state', state);
  await chrome.tabs.create({ url: oauth.authorizationUrl({ scope: SCOPE, state }) });
});

main().catch(() => {
  $('error').textContent = 'The extension could not start. Please reload it.';
  $('error').hidden = false;
});
