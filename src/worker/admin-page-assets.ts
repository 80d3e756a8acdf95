/**
 * The operators' page's script and style (admin-page.ts serves them from this origin: its CSP
 * allows no inline code). Plain DOM: text goes in with `textContent`, never as HTML. The script
 * reads through the admin routes with the sign-in cookie; erasing asks twice (a second click
 * within five seconds).
 */
export const ADMIN_SCRIPT = `'use strict';
const root = document.getElementById('console');
const base = root.dataset.base;
const STATUSES = ['active', 'needs_reauth', 'revoked', 'erased', 'purged'];
const SERIES = [['refreshes', 'Refreshes'], ['refusals', 'Refusals'], ['reauths', 'Re-authorizations']];
let after = '';

function el(name, text, className) {
  const node = document.createElement(name);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function get(path) {
  const response = await fetch(base + path, { headers: { accept: 'application/json' } });
  if (response.status === 401) location.reload();
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).message || 'HTTP ' + response.status);
  return response.json();
}

function say(text, isError) {
  const message = document.getElementById('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

const when = (ms) => (ms ? new Date(ms).toLocaleString() : '');

function showCounts(counts) {
  const box = document.getElementById('counts');
  box.replaceChildren(...STATUSES.map((status) => {
    const card = el('div', undefined, 'count ' + status);
    card.dataset.status = status;
    card.append(el('strong', String(counts[status] || 0)), el('span', status));
    return card;
  }));
}

function row(connection) {
  const tr = el('tr');
  tr.dataset.id = connection.id;
  const error = connection.lastError ? connection.lastError.code + ' at ' + when(connection.lastError.at) : '';
  const cells = [connection.id.slice(0, 12) + '…', connection.status, when(connection.since), connection.reason || '', connection.dataCenter || '', error, String(connection.tokens), String(connection.sessions)];
  cells.forEach((text, i) => tr.append(el('td', text, i === 1 ? 'status ' + connection.status : undefined)));
  const actions = el('td', undefined, 'actions');
  for (const [action, label] of [['refresh', 'Refresh now'], ['revoke', 'Revoke'], ['erase', 'Erase']]) {
    if (connection.status === 'erased' || (action !== 'erase' && connection.tokens === 0)) continue;
    const button = el('button', label, action);
    button.dataset.action = action;
    actions.append(button);
  }
  tr.append(actions);
  return tr;
}

async function loadConnections(more) {
  if (!more) after = '';
  const status = document.getElementById('status').value;
  const query = new URLSearchParams({ limit: '100', after });
  if (status) query.set('status', status);
  const page = await get('/admin/connections?' + query);
  showCounts(page.counts);
  const body = document.querySelector('#connections tbody');
  const rows = page.connections.map(row);
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  after = page.next || '';
  document.getElementById('more').hidden = !page.next;
}

function showChart(hours) {
  const width = 720, height = 160, gap = 2, slot = width / hours.length, bar = (slot - gap) / SERIES.length;
  const top = Math.max(1, ...hours.flatMap((h) => SERIES.map(([key]) => h[key] || 0)));
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + (height + 16));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Refreshes, refusals and re-authorizations per hour, last 24 hours');
  hours.forEach((h, i) => {
    SERIES.forEach(([key], s) => {
      const n = h[key] || 0;
      const rect = document.createElementNS(svgNs, 'rect');
      const tall = Math.round((n / top) * height);
      rect.setAttribute('x', String(i * slot + s * bar));
      rect.setAttribute('y', String(height - tall));
      rect.setAttribute('width', String(Math.max(bar - 0.5, 0.5)));
      rect.setAttribute('height', String(tall));
      rect.setAttribute('class', key);
      const title = document.createElementNS(svgNs, 'title');
      title.textContent = new Date(h.hour).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ': ' + n + ' ' + key;
      rect.append(title);
      svg.append(rect);
    });
    if (i % 4 === 0) {
      const label = document.createElementNS(svgNs, 'text');
      label.setAttribute('x', String(i * slot));
      label.setAttribute('y', String(height + 13));
      label.textContent = new Date(h.hour).toLocaleTimeString([], { hour: '2-digit' });
      svg.append(label);
    }
  });
  const legend = el('p', undefined, 'legend');
  for (const [key, label] of SERIES) {
    const total = hours.reduce((sum, h) => sum + (h[key] || 0), 0);
    const item = el('span', label + ': ' + total, key);
    item.dataset.series = key;
    legend.append(item);
  }
  document.getElementById('chart').replaceChildren(svg, legend);
}

function showKeys(keys) {
  const parts = Object.entries(keys.objectsByKey).map(([id, n]) => id + (id === keys.current ? ' (current)' : '') + ': ' + n);
  document.getElementById('keys').textContent = (keys.done ? 'Done: every record is sealed under ' + keys.current + '. ' : 'Re-sealing: ') + parts.join(', ');
}

async function act(button) {
  const tr = button.closest('tr');
  const action = button.dataset.action;
  if (action === 'erase' && button.dataset.armed !== 'yes') {
    button.dataset.armed = 'yes';
    button.textContent = 'Click again to erase';
    setTimeout(() => { button.dataset.armed = ''; button.textContent = 'Erase'; }, 5000);
    return;
  }
  button.disabled = true;
  const response = await fetch(base + '/admin/connections/act', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: tr.dataset.id, action }),
  });
  const answer = await response.json().catch(() => ({}));
  say(response.ok ? answer.message : answer.message || 'HTTP ' + response.status, !response.ok);
  await refresh();
}

async function refresh() {
  try {
    await loadConnections(false);
    showChart((await get('/admin/activity')).hours);
    showKeys(await get('/admin/keys'));
  } catch (error) {
    say(error.message, true);
  }
}

document.getElementById('status').addEventListener('change', () => void refresh());
document.getElementById('more').addEventListener('click', () => void loadConnections(true));
document.getElementById('connections').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) void act(button);
});
void refresh();
`;

export const ADMIN_STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:72rem;margin:0 auto;padding:1.5rem}
.sign-in{max-width:24rem;margin-top:4rem}
.sign-in input{display:block;width:100%;margin:.4rem 0 .8rem;padding:.5rem;font:inherit}
header{display:flex;justify-content:space-between;align-items:center}
h1{margin:.2rem 0}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
button{font:inherit;padding:.3rem .7rem;border:1px solid #8a94a3;border-radius:4px;background:#fff;cursor:pointer}
button.erase{border-color:#b42318;color:#b42318}button:disabled{opacity:.5}
#counts{display:flex;gap:.6rem;flex-wrap:wrap}
.count{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:.5rem .9rem;min-width:7rem}
.count strong{display:block;font-size:1.5rem}
table{width:100%;border-collapse:collapse;background:#fff;margin-top:.6rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6eb;font-size:.9rem}
td.actions{white-space:nowrap}td.actions button{margin-right:.3rem}
.status.active{color:#067647}.status.needs_reauth{color:#b54708;font-weight:600}.status.revoked,.status.erased,.status.purged{color:#667085}
.error{color:#b42318}
#chart svg{width:100%;max-width:720px;background:#fff;border:1px solid #d5d9e0}
#chart text{font-size:10px;fill:#667085}
rect.refreshes{fill:#2e90fa}rect.refusals{fill:#f04438}rect.reauths{fill:#12b76a}
.legend span{margin-right:1rem}.legend .refreshes{color:#175cd3}.legend .refusals{color:#b42318}.legend .reauths{color:#067647}
`;
