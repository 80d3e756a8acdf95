// The popup: asks the service worker for Leads; offers a login when there is none.
import type { LeadsAnswer } from './shared.ts';

const $ = (id: string) => document.getElementById(id)!;
const SENTENCES: Record<string, string> = {
  REAUTH_REQUIRED: 'Your Zoho login has ended. Please log in again.',
  ZOHO_UNAVAILABLE: 'Zoho could not be reached. Is it running?',
  ZOHO_RATE_LIMITED: 'Zoho asks us to wait a minute before refreshing again.',
  ZOHO_INVALID_CODE: 'Zoho did not accept the login. Please try again.',
  login_cancelled: 'The login was closed before it finished.',
  bad_state: 'The login did not come back as it started. Please try again.',
};

function show(answer: LeadsAnswer): void {
  $('leads').replaceChildren();
  $('error').hidden = true;
  if (answer.error === 'not_logged_in' || answer.error === 'REAUTH_REQUIRED') {
    $('status').textContent = answer.error === 'not_logged_in' ? 'Not logged in.' : SENTENCES.REAUTH_REQUIRED!;
    $('login').hidden = false;
    return;
  }
  if (answer.error) {
    $('status').textContent = '';
    $('error').textContent = SENTENCES[answer.error] ?? 'Something went wrong. Please try again.';
    $('error').hidden = false;
    $('login').hidden = false;
    return;
  }
  $('login').hidden = true;
  $('status').textContent = `Logged in as ${answer.user}`;
  for (const name of answer.leads ?? []) {
    const item = document.createElement('li');
    item.textContent = name;
    $('leads').append(item);
  }
}

$('login').addEventListener('click', async () => {
  $('status').textContent = 'Logging in…';
  show(await chrome.runtime.sendMessage<LeadsAnswer>({ type: 'login' }));
});

chrome.runtime.sendMessage<LeadsAnswer>({ type: 'leads' }).then(show, () => {
  $('error').textContent = 'The extension could not start. Please reload it.';
  $('error').hidden = false;
});
