// The service worker: answers the popup's "leads" message with the CRM's Leads, and keeps
// the access token fresh on an alarm. Its refreshes and the popup's share one Web Lock.
import { isTokenStoreError } from '../../../src/errors.ts';
import { open, type LeadsAnswer } from './shared.ts';

const ready = open();

async function leads(): Promise<LeadsAnswer> {
  const { store, manager } = await ready;
  const [token] = await store.getTokens();
  if (!token) return { error: 'not_logged_in' };
  try {
    const response = await manager.fetchCrm({ id: token.id }, '/crm/v8/Leads?per_page=20');
    const body = response.status === 200 ? ((await response.json()) as { data: { Last_Name?: string }[] }) : { data: [] };
    return { user: token.userName ?? '', leads: body.data.map((lead) => lead.Last_Name ?? '') };
  } catch (error) {
    return { error: isTokenStoreError(error) ? error.code : 'failed' };
  }
}

chrome.runtime.onMessage.addListener((message, _sender, respond) => {
  if ((message as { type?: string }).type !== 'leads') return false;
  leads().then(respond);
  return true; // answers asynchronously
});

chrome.alarms?.create('keep-fresh', { periodInMinutes: 5 });
chrome.alarms?.onAlarm.addListener(async () => {
  const { store, manager } = await ready;
  const [token] = await store.getTokens();
  if (token) await manager.getAccessToken({ id: token.id }).catch(() => undefined);
});
