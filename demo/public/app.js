// The demo page, through the Worker: it only ever holds a session cookie (HttpOnly: not even
// this script can read it). Every answer becomes a plain sentence; nothing is put in the
// page as HTML.
const $ = (id) => document.getElementById(id);
let expiryTime = null;

const MESSAGES = {
  reauth_required: 'Your Zoho login has ended (it was revoked or expired). Please log in again.',
  unauthorized: 'You are not logged in. Please log in.',
  zoho_rate_limited: 'Zoho asks us to wait: too many token refreshes in a short time.',
  zoho_unavailable: 'Zoho could not be reached. If you run this locally, is the local Zoho running? `npm start` starts it.',
  forbidden_origin: 'This request was refused because it came from another site.',
  scope_mismatch: 'Your Zoho login did not grant this access. Log out, log in again and accept every permission.',
};
// The Leads fields this page shows: Zoho's CRM v8 lists only the fields a call names (at most 50).
const LEAD_FIELDS = ['Last_Name', 'First_Name', 'Company', 'Email'];

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

async function api(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new Error('The Worker could not be reached. Is `npm start` still running?');
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  let body = {};
  try {
    body = await response.json();
  } catch {}
  // Only our own 401s end the login; a 401 Zoho passes through (a missing scope) does not.
  if (response.status === 401 && (body.error === 'unauthorized' || body.error === 'reauth_required')) showLoggedOut();
  if (response.status === 401 && body.code === 'OAUTH_SCOPE_MISMATCH') body.error = 'scope_mismatch';
  const wait = response.headers.get('retry-after');
  const message = MESSAGES[body.error] ?? `The request failed (HTTP ${response.status}). Please try again.`;
  throw new Error(wait ? `${message} Try again in ${wait} seconds.` : message);
}

function showLoggedOut() {
  $('logged-in').hidden = true;
  $('logged-out').hidden = false;
  expiryTime = null;
}

function tick() {
  if (expiryTime === null) return;
  const seconds = Math.max(0, Math.round((expiryTime - Date.now()) / 1000));
  $('expires').textContent = seconds > 0 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : 'expired (refreshed on the next call)';
  // Zoho access tokens live one hour: the last refresh is an hour before expiry.
  $('refreshed').textContent = new Date(expiryTime - 3_600_000).toLocaleTimeString();
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  row.append(td);
}

async function loadLeads() {
  const body = await api(`/crm/v8/Leads?fields=${LEAD_FIELDS.join(',')}&per_page=50`);
  const rows = $('leads').querySelector('tbody');
  rows.replaceChildren();
  for (const lead of body?.data ?? []) {
    const row = document.createElement('tr');
    for (const field of LEAD_FIELDS) cell(row, lead[field]);
    cell(row, lead.id);
    rows.append(row);
  }
  $('no-leads').hidden = rows.children.length > 0;
}

// The MCP clients this user allowed (GET /authorize/grants), each with a button that ends it.
// 404: this Worker serves no MCP server (MCP_RESOURCE_URL unset); the section says so.
async function loadGrants() {
  const rows = $('grants').querySelector('tbody');
  rows.replaceChildren();
  const response = await fetch('/authorize/grants', { credentials: 'same-origin' });
  if (response.status === 404) {
    $('no-grants').textContent = 'This Worker serves no MCP server.';
    $('no-grants').hidden = false;
    return;
  }
  if (!response.ok) throw new Error(`The MCP clients could not be listed (HTTP ${response.status}).`);
  const { grants } = await response.json();
  for (const grant of grants) {
    const row = document.createElement('tr');
    cell(row, grant.clientName);
    cell(row, grant.scope.includes('crm.write') ? 'read and create records' : 'read records');
    cell(row, new Date(grant.createdAt * 1000).toLocaleString());
    cell(row, grant.currentLogin ? 'yes' : 'no (ends at its next call)');
    const end = document.createElement('button');
    end.textContent = 'End access';
    end.className = 'danger';
    end.addEventListener('click', async () => {
      showError('');
      try {
        const ended = await fetch('/authorize/grants/revoke', { method: 'POST', credentials: 'same-origin', body: new URLSearchParams({ id: grant.id }) });
        if (!ended.ok) throw new Error(`The access could not be ended (HTTP ${ended.status}).`);
        await loadGrants();
      } catch (error) {
        showError(error.message);
      }
    });
    const td = document.createElement('td');
    td.append(end);
    row.append(td);
    rows.append(row);
  }
  $('no-grants').textContent = 'None.';
  $('no-grants').hidden = rows.children.length > 0;
}

async function load() {
  const me = await api('/auth/me');
  if (!me.loggedIn) return showLoggedOut();
  $('logged-out').hidden = true;
  $('logged-in').hidden = false;
  $('user').textContent = me.user;
  $('dc').textContent = `${me.dataCenterName ?? me.dataCenter} (${me.dataCenter}, ${me.apiDomain})`;
  expiryTime = me.expiryTime;
  tick();
  await loadLeads();
  await loadGrants();
}

function action(id, run) {
  $(id).addEventListener('click', async (event) => {
    event.preventDefault();
    showError('');
    try {
      await run();
    } catch (error) {
      showError(error.message);
    }
  });
}

action('refresh', async () => {
  const answer = await api('/auth/refresh', { method: 'POST' });
  expiryTime = answer.expiryTime;
  tick();
  // The Worker forces a refresh at most every two minutes per user (Zoho's limits are shared).
  if (!answer.refreshed) showError('Not refreshed: the token was refreshed moments ago and is still good.');
});
action('logout', async () => {
  await api('/auth/logout', { method: 'POST' });
  showLoggedOut();
});
action('revoke', async () => {
  await api('/auth/revoke', { method: 'POST' });
  showLoggedOut();
});

$('new-lead').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  const form = new FormData(event.target);
  try {
    await api('/crm/v8/Leads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Last_Name: form.get('Last_Name'), Company: form.get('Company') }] }),
    });
    event.target.reset();
    await loadLeads();
  } catch (error) {
    showError(error.message);
  }
});

// Two modes on one page: this script drives the Worker mode; in-browser.js the other.
const browserMode = new URLSearchParams(location.search).get('mode') === 'browser';
$('worker-mode').hidden = browserMode;
$('browser-mode').hidden = !browserMode;
$(browserMode ? 'mode-browser' : 'mode-worker').classList.add('current');
if (!browserMode) {
  setInterval(tick, 1000);
  load().catch((error) => showError(error.message));
}
