// OAR Cloud admin dashboard: signs in, follows the cluster through server-sent events (polling when they fail),
// and changes nodes and quotas through the admin JSON API. No framework, no external asset.
'use strict';

const API = '/_oarcloud/admin/api';
const POLL_MS = 2000;
const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

const view = {
  snapshot: null,
  stateFilter: 'active',
  accountFilter: '',
  textFilter: '',
  errorsOnly: false,
  stream: null,
  pollTimer: null,
};

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const dash = (v) => (v === null || v === undefined || v === '' ? '<span class="muted">–</span>' : esc(v));
/** A form's control by name (form.name and form.role would be the form's own properties). */
const field = (form, name) => form.elements.namedItem(name);
const badge = (text, cls) => `<span class="badge b-${esc(cls ?? text)}">${esc(text)}</span>`;

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
const clock = (iso) => new Date(iso).toLocaleTimeString('en-GB');
const mib = (n) => (n >= 1024 ? `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} GiB` : `${n} MiB`);
const bytes = (n) => (n === null ? null : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

function toast(message, bad = false) {
  const el = document.createElement('div');
  el.className = `toast${bad ? ' bad' : ''}`;
  el.textContent = message;
  $('toasts').append(el);
  setTimeout(() => el.remove(), bad ? 8000 : 4000);
}

async function api(method, path, body) {
  const res = await fetch(API + path, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-oarcloud-admin': '1' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error?.message ?? `${res.status} ${res.statusText}`);
    err.status = res.status;
    err.code = data.error?.code;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------------------------------------ session

function showSignIn(message, isError = true) {
  stopFollowing();
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !message;
  $('signin-error').className = isError ? 'error' : 'muted';
  $('signin-error').textContent = message ?? '';
  $('signin-key').focus();
}

function showApp(session) {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').textContent = `${session.user} @ ${session.account}`;
  follow();
  void refreshNotify().catch(() => undefined);
  setTimeout(() => void refreshCharts().catch(() => undefined), 500);
}

async function signIn(event) {
  event.preventDefault();
  const button = $('signin-submit');
  button.disabled = true;
  try {
    const session = await api('POST', '/session', { accessKeyId: $('signin-key').value, secretAccessKey: $('signin-secret').value });
    $('signin-secret').value = '';
    showApp(session);
  } catch (err) {
    showSignIn(err.message);
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  await api('DELETE', '/session').catch(() => undefined);
  view.snapshot = null;
  showSignIn('Signed out.', false);
}

// ------------------------------------------------------------------------------------------------ live data

function setLive(state, text) {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function receive(snapshot) {
  view.snapshot = snapshot;
  setLive('live', `live · ${clock(snapshot.at)}`);
  render();
}

function follow() {
  stopFollowing();
  if (!('EventSource' in window)) return poll();
  const stream = new EventSource(`${API}/stream`);
  view.stream = stream;
  stream.addEventListener('snapshot', (e) => receive(JSON.parse(e.data)));
  stream.addEventListener('signed-out', () => showSignIn('Your session ended.'));
  stream.onerror = async () => {
    setLive('reconnecting', 'reconnecting…');
    // EventSource retries by itself; a 401 behind the error means the session is gone
    try {
      await api('GET', '/session');
    } catch (err) {
      if (err.status === 401 || err.status === 403) showSignIn('Your session ended; sign in again.');
      else if (stream.readyState === EventSource.CLOSED) poll();
    }
  };
}

function poll() {
  stopFollowing();
  const once = async () => {
    try {
      receive(await api('GET', '/snapshot'));
    } catch (err) {
      if (err.status === 401 || err.status === 403) return showSignIn('Your session ended; sign in again.');
      setLive('reconnecting', 'server unreachable, retrying…');
    }
    view.pollTimer = setTimeout(once, POLL_MS);
  };
  void once();
}

function stopFollowing() {
  view.stream?.close();
  view.stream = null;
  clearTimeout(view.pollTimer);
}

/** Runs an admin change, tells how it went, and refreshes at once rather than waiting for the next push. */
async function act(button, label, fn) {
  if (button) button.disabled = true;
  try {
    await fn();
    toast(label);
    receive(await api('GET', '/snapshot'));
  } catch (err) {
    toast(err.message, true);
  } finally {
    if (button) button.disabled = false;
  }
}

function confirmDialog(text) {
  return new Promise((resolve) => {
    const dialog = $('confirm-dialog');
    $('confirm-text').textContent = text;
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

// ------------------------------------------------------------------------------------------------ rendering

function render() {
  const s = view.snapshot;
  if (!s) return;
  renderAlarms(s.alarms);
  renderSummary(s);
  renderNodes(s.nodes);
  renderInstances(s);
  renderAccounts(s.accounts);
  renderKeys(s.keys);
  renderEvents(s.events);
  renderImages(s.images);
  renderVpcs(s.vpcs);
}

function renderAlarms(alarms) {
  const box = $('alarms');
  box.hidden = alarms.length === 0;
  box.innerHTML = alarms.map((a) => `<div class="alarm ${esc(a.level)}" data-subject="${esc(a.subject)}" role="alert">
      <span class="level">${esc(a.level)}</span><span class="subject">${esc(a.subject)}</span><span>${esc(a.message)}</span></div>`).join('');
}

function renderSummary(s) {
  const alive = s.nodes.filter((n) => n.state === 'Alive').length;
  const cores = s.nodes.reduce((a, n) => a + n.cores, 0);
  const used = s.nodes.reduce((a, n) => a + n.usedCores, 0);
  const free = s.nodes.reduce((a, n) => a + n.freeCores, 0);
  const by = (state) => s.instances.filter((i) => i.state === state).length;
  const hourAgo = Date.now() - 3600_000;
  const errors = s.events.filter((e) => e.kind === 'error' && Date.parse(e.at) > hourAgo).length;
  const card = (id, label, value, sub, extra = '', cls = '') =>
    `<div class="card ${cls}" data-testid="${id}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div>${extra}</div>`;
  $('summary').innerHTML = [
    card('card-nodes', 'Nodes', `${alive}/${s.nodes.length}`, `Alive · ${s.nodes.filter((n) => n.drain).length} drained`),
    card('card-cores', 'Cores', `${used}/${cores}`, `in use · ${free} free`, `<div class="meter"><span data-width="${cores ? Math.round((100 * used) / cores) : 0}"></span></div>`),
    card('card-running', 'Running', by('running'), `${by('pending')} pending · ${by('stopped')} stopped`),
    card('card-accounts', 'Accounts', s.accounts.length, `${s.accounts.filter((a) => a.usage.instances > 0).length} with instances`),
    card('card-images', 'Images', s.images.length, `${s.images.filter((i) => i.isPublic).length} public`),
    card('card-errors', 'Errors', errors, 'in the last hour', '', errors ? 'alert' : ''),
  ].join('');
  setWidths($('summary'));
}

/** Meter widths: the page's security policy forbids style attributes in markup, so they are set from script. */
function setWidths(root) {
  for (const bar of root.querySelectorAll('[data-width]')) bar.style.width = `${bar.dataset.width}%`;
}

function renderNodes(nodes) {
  if (nodes.length === 0) {
    $('nodes').innerHTML = '<div class="empty">OAR has no node. Add one above.</div>';
    return;
  }
  $('nodes').innerHTML = nodes.map((n) => {
    const cores = [];
    for (let i = 0; i < n.cores; i++) {
      const cls = i < n.usedCores ? 'used' : i < n.usedCores + n.freeCores ? '' : 'off';
      cores.push(`<span class="core ${cls}" title="${cls === 'used' ? 'in use' : cls === 'off' ? 'not available' : 'free'}"></span>`);
    }
    const alive = n.state === 'Alive';
    return `<article class="node${n.drain ? ' drained' : ''}" data-node="${esc(n.host)}">
      <div class="node-head"><span class="host">${esc(n.host)}</span>${badge(n.state, n.state.includes('+') ? 'Suspected' : n.state)}
        ${n.drain ? '<span class="badge b-drain" data-testid="drained">drained</span>' : ''}</div>
      <div class="cores" aria-label="${n.usedCores} of ${n.cores} cores in use">${cores.join('')}</div>
      <div class="node-facts"><span><b data-testid="used">${n.usedCores}</b>/${n.cores} cores used</span><span>${n.freeCores} free</span>
        <span data-testid="slots">${n.slots - n.freeSlots}/${n.slots} slots used</span><span>${mib(n.memoryMib)}</span>
        <span>${n.instanceIds.length} instance${n.instanceIds.length === 1 ? '' : 's'}</span></div>
      <div class="node-actions">
        <button data-action="drain" data-on="${!n.drain}">${n.drain ? 'Undrain' : 'Drain'}</button>
        <button data-action="state" data-state="${alive ? 'Absent' : 'Alive'}">${alive ? 'Set Absent' : 'Set Alive'}</button>
        <button data-action="remove" class="danger">Remove</button>
      </div>
    </article>`;
  }).join('');
}

function onNodeAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const host = button.closest('[data-node]').dataset.node;
  const node = view.snapshot.nodes.find((n) => n.host === host);
  const running = node?.instanceIds.length ?? 0;
  const path = `/nodes/${encodeURIComponent(host)}`;
  if (button.dataset.action === 'drain') {
    const on = button.dataset.on === 'true';
    return act(button, `${host} ${on ? 'drained' : 'undrained'} in OAR`, () => api('POST', `${path}/drain`, { drain: on }));
  }
  if (button.dataset.action === 'state') {
    const state = button.dataset.state;
    const go = (force) => act(button, `${host} is ${state} in OAR`, () => api('POST', `${path}/state`, { state, force }));
    if (state === 'Absent' && running > 0) {
      return confirmDialog(`${host} runs ${running} instance(s). OAR will end them if the node becomes Absent. Go on?`).then((ok) => ok && go(true));
    }
    return go(false);
  }
  if (button.dataset.action === 'remove') {
    const text = running > 0 ? `${host} runs ${running} instance(s); removing it ends them. Remove ${host} from OAR?` : `Remove ${host} from OAR?`;
    return confirmDialog(text).then((ok) => ok && act(button, `${host} removed from OAR`, () => api('DELETE', `${path}${running > 0 ? '?force=1' : ''}`)));
  }
}

function renderInstances(s) {
  const counts = Object.fromEntries(STATES.map((st) => [st, 0]));
  for (const i of s.instances) counts[i.state] = (counts[i.state] ?? 0) + 1;
  const active = s.instances.length - counts.terminated;
  // the chips are made once and then updated in place: a chip replaced by a snapshot while it is being clicked
  // would swallow the click
  const chips = [['active', `active ${active}`], ['', `all ${s.instances.length}`]].concat(STATES.map((st) => [st, `${st} ${counts[st]}`]));
  const bar = $('state-filter');
  if (bar.children.length !== chips.length) {
    bar.innerHTML = chips.map(([st]) => `<button class="chip" data-state="${st}"></button>`).join('');
  }
  chips.forEach(([st, label], n) => {
    const chip = bar.children[n];
    if (chip.textContent !== label) chip.textContent = label;
    chip.setAttribute('aria-pressed', String(view.stateFilter === st));
  });

  const select = $('account-filter');
  const options = ['<option value="">all accounts</option>'].concat(s.accounts.map((a) => `<option value="${esc(a.id)}">${esc(a.name)} (${a.usage.instances})</option>`)).join('');
  if (select.dataset.options !== options) {
    select.innerHTML = options;
    select.dataset.options = options;
    select.value = view.accountFilter;
  }

  const text = view.textFilter.toLowerCase();
  const stateMatches = (i) => !view.stateFilter || i.state === view.stateFilter || (view.stateFilter === 'active' && i.state !== 'terminated');
  const rows = s.instances.filter((i) => stateMatches(i) && (!view.accountFilter || i.accountId === view.accountFilter)
    && (!text || [i.id, i.name, i.node, i.privateIp, i.accountName, i.instanceType].some((v) => v && String(v).toLowerCase().includes(text))));
  const head = '<thead><tr><th>Instance</th><th>Account</th><th>State</th><th>Type</th><th>Cores</th><th>Node</th><th>OAR job</th><th>Private IP</th><th>Launched</th><th></th></tr></thead>';
  const actions = (i) => {
    if (i.state === 'terminated' || i.desiredState === 'terminated') return '';
    const stop = i.desiredState === 'running' ? '<button data-action="stop">Stop</button>' : '';
    return `<div class="row-actions">${stop}<button data-action="terminate" class="danger">Terminate</button></div>`;
  };
  const body = rows.length === 0 ? '<tr><td colspan="10" class="empty">No instance.</td></tr>' : rows.map((i) => `<tr data-instance-id="${esc(i.id)}">
      <td><span class="mono">${esc(i.id)}</span>${i.name ? ` <span class="muted">${esc(i.name)}</span>` : ''}</td>
      <td>${esc(i.accountName)}</td>
      <td data-testid="state" data-state="${esc(i.state)}" title="${esc(i.stateReason ?? '')}">${badge(i.state)}</td>
      <td>${esc(i.instanceType)}</td><td class="num">${i.cores}</td><td>${dash(i.node)}</td><td class="num">${dash(i.oarJobId)}</td>
      <td class="mono">${dash(i.privateIp)}</td><td title="${esc(i.launchTime)}">${ago(i.launchTime)}</td><td>${actions(i)}</td></tr>`).join('');
  $('instances').innerHTML = `${head}<tbody>${body}</tbody>`;
}

function onInstanceAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const id = button.closest('[data-instance-id]').dataset.instanceId;
  const instance = view.snapshot.instances.find((i) => i.id === id);
  const action = button.dataset.action;
  const text = `${action === 'terminate' ? 'Terminate' : 'Stop'} ${id} of account ${instance?.accountName}? Its owner will see "${action === 'terminate' ? 'terminated' : 'stopped'} by an administrator".`;
  return confirmDialog(text).then((ok) => ok && act(button, `${id}: ${action} requested`, () => api('POST', `/instances/${encodeURIComponent(id)}/${action}`)));
}

function renderAccounts(accounts) {
  const usage = (used, max) => {
    const pct = max ? Math.min(100, Math.round((100 * used) / max)) : 100;
    return `<div class="usage"><span class="num">${used}/${max}</span><div class="meter"><span class="${used >= max ? 'full' : ''}" data-width="${pct}"></span></div></div>`;
  };
  const head = '<thead><tr><th>Account</th><th>Instances</th><th>Cores</th><th>By state</th><th></th></tr></thead>';
  const body = accounts.map((a) => `<tr data-account="${esc(a.id)}">
      <td><b>${esc(a.name)}</b> <span class="muted mono">${esc(a.id)}</span>${a.isSystem ? ' <span class="badge b-kind">system</span>' : ''}</td>
      <td>${usage(a.usage.instances, a.limits.maxInstances)}</td><td>${usage(a.usage.cores, a.limits.maxCores)}</td>
      <td>${Object.entries(a.instancesByState).map(([st, n]) => `${badge(`${st} ${n}`, st)}`).join(' ') || '<span class="muted">–</span>'}</td>
      <td><div class="row-actions"><button data-action="quota">Quotas…</button><button data-action="key">New key…</button>
        ${a.isSystem ? '' : '<button data-action="delete" class="danger">Delete</button>'}</div></td></tr>`).join('');
  $('accounts').innerHTML = `${head}<tbody>${body}</tbody>`;
  setWidths($('accounts'));
}

function onAccountAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const id = button.closest('[data-account]').dataset.account;
  const account = view.snapshot.accounts.find((a) => a.id === id);
  if (button.dataset.action === 'quota') return editQuota(account);
  if (button.dataset.action === 'key') return newKey(account);
  if (button.dataset.action === 'delete') {
    return confirmDialog(`Delete account ${account.name}, its users, keys, key pairs and images? (Refused while it has instances.)`)
      .then((ok) => ok && act(button, `account ${account.name} deleted`, () => api('DELETE', `/accounts/${encodeURIComponent(id)}`)));
  }
}

function editQuota(account) {
  const form = $('quota-form');
  $('quota-account').textContent = account.name;
  form.maxInstances.value = account.limits.maxInstances;
  form.maxCores.value = account.limits.maxCores;
  const dialog = $('quota-dialog');
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'save') return;
    const value = (input) => (input.value === '' ? null : Number(input.value));
    void act(null, `quotas of ${account.name} saved`, () =>
      api('PUT', `/accounts/${encodeURIComponent(account.id)}/quota`, { maxInstances: value(form.maxInstances), maxCores: value(form.maxCores) }));
  }, { once: true });
  dialog.showModal();
}

function newKey(account) {
  const form = $('key-form');
  $('key-account').textContent = account.name;
  const dialog = $('key-dialog');
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'create') return;
    void act(null, `key created for ${field(form, 'user').value} in ${account.name}`, async () => {
      const { key } = await api('POST', `/accounts/${encodeURIComponent(account.id)}/keys`, { user: field(form, 'user').value.trim(), role: field(form, 'role').value });
      $('new-key-id').textContent = key.accessKeyId;
      $('new-key-secret').textContent = key.secretAccessKey;
      $('secret-dialog').showModal();
    });
  }, { once: true });
  dialog.showModal();
}

function renderKeys(keys) {
  const head = '<thead><tr><th>Access key</th><th>Account</th><th>User</th><th>Role</th><th>Created</th><th></th></tr></thead>';
  const body = keys.length === 0 ? '<tr><td colspan="6" class="empty">No active key.</td></tr>' : keys.map((k) => `<tr data-key="${esc(k.accessKeyId)}">
      <td class="mono">${esc(k.accessKeyId)}</td><td>${esc(k.accountName)}</td><td>${esc(k.user)}</td>
      <td>${k.role === 'admin' ? badge('admin', 'drain') : esc(k.role)}</td><td title="${esc(k.createdAt)}">${ago(k.createdAt)}</td>
      <td><div class="row-actions"><button data-action="revoke" class="danger">Revoke</button></div></td></tr>`).join('');
  $('keys').innerHTML = `${head}<tbody>${body}</tbody>`;
}

function onKeyAction(event) {
  const button = event.target.closest('button[data-action="revoke"]');
  if (!button) return;
  const id = button.closest('[data-key]').dataset.key;
  return confirmDialog(`Revoke ${id}? Requests signed with it are refused from the next one on.`)
    .then((ok) => ok && act(button, `${id} revoked`, () => api('POST', `/keys/${encodeURIComponent(id)}/revoke`)));
}

function addAccount(event) {
  event.preventDefault();
  const form = event.target;
  const name = field(form, 'accountName').value.trim();
  void act(form.querySelector('button'), `account ${name} created`, async () => {
    await api('POST', '/accounts', { name });
    form.reset();
  });
}

function renderEvents(events) {
  const list = view.errorsOnly ? events.filter((e) => e.kind === 'error') : events;
  $('events').innerHTML = list.length === 0 ? '<li class="empty">Nothing yet.</li>' : list.map((e) => `<li class="${e.kind === 'error' ? 'is-error' : ''}">
      <time datetime="${esc(e.at)}" title="${esc(e.at)}">${clock(e.at)}</time>${badge(e.kind, e.kind === 'error' ? 'error' : 'kind')}
      <span class="msg">${e.resourceId ? `<span class="res mono">${esc(e.resourceId)}</span>` : ''}${esc(e.message)}</span></li>`).join('');
}

function renderImages(images) {
  const head = '<thead><tr><th>Image</th><th>Name</th><th>Owner</th><th>State</th><th>Visibility</th><th>Layers</th><th>Size</th><th>Created</th></tr></thead>';
  const body = images.length === 0 ? '<tr><td colspan="8" class="empty">No image.</td></tr>' : images.map((i) => `<tr>
      <td class="mono">${esc(i.id)}</td><td>${esc(i.name)}</td><td>${esc(i.accountName)}</td><td>${badge(i.state, i.state === 'available' ? 'running' : i.state === 'failed' ? 'error' : 'pending')}</td>
      <td>${i.isPublic ? 'public' : 'private'}</td><td class="num">${i.layers}</td><td class="num">${dash(bytes(i.sizeBytes))}</td><td title="${esc(i.createdAt)}">${ago(i.createdAt)}</td></tr>`).join('');
  $('images').innerHTML = `${head}<tbody>${body}</tbody>`;
}

function renderVpcs(vpcs) {
  const head = '<thead><tr><th>VPC</th><th>Owner</th><th>CIDR</th><th>Subnets</th><th>Security groups (members): allows</th><th>Elastic IPs</th><th>Load balancers</th></tr></thead>';
  const balancer = (b) => `<div><b>${esc(b.name)}</b> <span class="muted small">${esc(b.type)}, ${esc(b.scheme)}</span> ${badge(b.state, b.state === 'active' ? 'running' : b.state === 'failed' ? 'error' : 'pending')}
      <span class="mono">${esc(b.privateIp ?? '')}${b.publicIp ? ` / ${esc(b.publicIp)}` : ''}</span> <span class="muted small">${esc(b.listeners.join(' ') || 'no listener')}, ${b.targets} target(s)</span></div>`;
  const rules = (g) => [...g.ingress.map((r) => `in ${r}`), ...g.egress.map((r) => `out ${r}`)].map(esc).join('; ') || 'nothing';
  const body = vpcs.length === 0 ? '<tr><td colspan="7" class="empty">No VPC yet.</td></tr>' : vpcs.map((v) => `<tr>
      <td class="mono">${esc(v.id)}${v.isDefault ? ` ${badge('default', 'kind')}` : ''}</td><td>${esc(v.accountName)}</td>
      <td class="mono">${esc(v.cidr)}${v.vni === null ? ' <span class="muted small">shared</span>' : ` <span class="muted small">VNI ${v.vni}</span>`}</td>
      <td>${v.subnets.map((s) => `<div class="mono">${esc(s.cidr)}${s.internet ? ' <span class="muted small">→ internet</span>' : ''}</div>`).join('')}</td>
      <td>${v.groups.map((g) => `<div><b>${esc(g.name)}</b> <span class="muted small">(${g.members})</span>: ${rules(g)}</div>`).join('')}</td>
      <td>${v.elasticIps.map((e) => `<div class="mono">${esc(e.publicIp)}${e.instanceId ? ` → ${esc(e.instanceId)}` : ''}</div>`).join('') || dash(null)}</td>
      <td>${v.loadBalancers.map(balancer).join('') || dash(null)}</td></tr>`).join('');
  $('vpcs').innerHTML = `${head}<tbody>${body}</tbody>`;
}

// ------------------------------------------------------------------------------------------------ load charts

const CHART_MS = 10_000;
const charts = { cpu: null, net: null, key: '' };

/** The running instances to chart: all of them grouped by node, or the one chosen. */
function chartSubjects() {
  const running = (view.snapshot?.instances ?? []).filter((i) => i.state === 'running').slice(0, 200);
  const subject = $('chart-subject').value;
  return subject ? running.filter((i) => i.id === subject) : running;
}

function renderChartChoices() {
  const running = (view.snapshot?.instances ?? []).filter((i) => i.state === 'running');
  const select = $('chart-subject');
  const options = ['<option value="">per node</option>'].concat(running.map((i) => `<option value="${esc(i.id)}">${esc(i.id)}${i.name ? ` (${esc(i.name)})` : ''}</option>`)).join('');
  if (select.dataset.options !== options) {
    const chosen = select.value;
    select.innerHTML = options;
    select.dataset.options = options;
    select.value = running.some((i) => i.id === chosen) ? chosen : '';
  }
}

/** Series over shared timestamps: [times, ...one array per line] as uPlot takes them. */
function align(lines) {
  const times = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
  return [times, ...lines.map((l) => {
    const at = new Map(l.points);
    return times.map((t) => (at.has(t) ? at.get(t) : null));
  })];
}

function drawChart(which, target, lines, unit) {
  const width = Math.max(260, $(target).clientWidth || 480);
  const key = `${$('chart-subject').value}|${lines.map((l) => l.label).join(',')}`;
  if (!charts[which] || charts.key !== key) {
    charts[which]?.destroy();
    $(target).innerHTML = '';
    const palette = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04'];
    charts[which] = new uPlot({
      width,
      height: 180,
      series: [{}, ...lines.map((l, n) => ({ label: l.label, stroke: palette[n % palette.length], width: 1.5, spanGaps: true, value: (_, v) => (v === null ? '–' : `${v.toFixed(unit === '%' ? 1 : 0)}${unit}`) }))],
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } },
    }, align(lines), $(target));
  } else {
    charts[which].setData(align(lines));
  }
}

async function refreshCharts() {
  if ($('app').hidden || typeof uPlot === 'undefined') return;
  renderChartChoices();
  const subjects = chartSubjects();
  $('chart-empty').hidden = subjects.length > 0;
  document.querySelector('.charts').hidden = subjects.length === 0;
  if (subjects.length === 0) {
    // nothing runs: no chart rather than an empty one with a meaningless time axis
    for (const which of ['cpu', 'net']) {
      charts[which]?.destroy();
      charts[which] = null;
    }
    return;
  }
  const { series, step } = await api('GET', `/metrics?minutes=30&step=10&instances=${subjects.map((i) => i.id).join(',')}`);
  const one = $('chart-subject').value;
  let cpu;
  let net;
  if (one) {
    const s = series[one] ?? {};
    $('cpu-caption').textContent = 'CPU (% of its vCPUs)';
    cpu = [{ label: one, points: s.CPUUtilization ?? [] }];
    net = [{ label: 'in', points: (s.NetworkIn ?? []).map(([t, v]) => [t, v / step]) }, { label: 'out', points: (s.NetworkOut ?? []).map(([t, v]) => [t, v / step]) }];
  } else {
    // per node: cores busy (each instance's share of its vCPUs) and bytes per second, summed over its instances
    $('cpu-caption').textContent = 'CPU (cores busy)';
    const nodes = [...new Set(subjects.map((i) => i.node ?? 'localhost'))];
    const sum = (node, metric, scale) => {
      const total = new Map();
      for (const i of subjects.filter((x) => (x.node ?? 'localhost') === node)) {
        for (const [t, v] of series[i.id]?.[metric] ?? []) total.set(t, (total.get(t) ?? 0) + scale(v, i));
      }
      return [...total.entries()].sort((a, b) => a[0] - b[0]);
    };
    cpu = nodes.map((n) => ({ label: n, points: sum(n, 'CPUUtilization', (v, i) => (v * i.vcpus) / 100) }));
    net = nodes.map((n) => {
      const total = new Map(sum(n, 'NetworkIn', (v) => v / step));
      for (const [t, v] of sum(n, 'NetworkOut', (v) => v / step)) total.set(t, (total.get(t) ?? 0) + v);
      return { label: n, points: [...total.entries()].sort((a, b) => a[0] - b[0]) };
    });
  }
  drawChart('cpu', 'chart-cpu', cpu, one ? '%' : '');
  drawChart('net', 'chart-net', net, ' B/s');
  charts.key = `${$('chart-subject').value}|${cpu.map((l) => l.label).join(',')}`;
}

// ------------------------------------------------------------------------------------------------ notifications

async function refreshNotify() {
  if ($('app').hidden) return;
  const n = await api('GET', '/notify');
  $('notify-topic').textContent = n.topicArn;
  const head = '<thead><tr><th>Protocol</th><th>Endpoint</th><th></th></tr></thead>';
  const body = n.subscriptions.length === 0 ? '<tr><td colspan="3" class="empty">Nobody is notified. Add an e-mail address or a URL above.</td></tr>'
    : n.subscriptions.map((s) => `<tr data-endpoint="${esc(s.endpoint)}"><td>${esc(s.protocol)}</td><td class="mono">${esc(s.endpoint)}</td>
      <td><div class="row-actions"><button data-action="remove" class="danger">Remove</button></div></td></tr>`).join('');
  $('notify').innerHTML = `${head}<tbody>${body}</tbody>`;
  const counts = Object.entries(n.deliveries.counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'none yet';
  const relay = n.smtp ? `SMTP relay ${n.smtp.host}:${n.smtp.port}` : 'no SMTP relay: e-mail cannot be sent (oarcloud notify smtp HOST:PORT)';
  const failure = n.deliveries.failures[0];
  $('notify-status').textContent = `${relay} · deliveries: ${counts}${failure ? ` · last failure: ${failure.endpoint}: ${failure.error}` : ''}`;
}

function addNotify(event) {
  event.preventDefault();
  const form = event.target;
  const endpoint = field(form, 'endpoint').value.trim();
  const protocol = endpoint.startsWith('https://') ? 'https' : endpoint.startsWith('http://') ? 'http' : 'email';
  void act(form.querySelector('button'), `${endpoint} will be notified`, async () => {
    await api('POST', '/notify/subscriptions', { protocol, endpoint });
    form.reset();
    await refreshNotify();
  });
}

function onNotifyAction(event) {
  const button = event.target.closest('button[data-action="remove"]');
  if (!button) return;
  const endpoint = button.closest('[data-endpoint]').dataset.endpoint;
  return confirmDialog(`Stop notifying ${endpoint}?`).then((ok) => ok && act(button, `${endpoint} removed`, async () => {
    await api('DELETE', `/notify/subscriptions?endpoint=${encodeURIComponent(endpoint)}`);
    await refreshNotify();
  }));
}

// ------------------------------------------------------------------------------------------------ wiring

function addNode(event) {
  event.preventDefault();
  const form = event.target;
  const body = { host: form.host.value.trim(), cores: Number(form.cores.value), memoryMib: Number(form.memoryMib.value) };
  void act(form.querySelector('button'), `${body.host} added to OAR`, async () => {
    await api('POST', '/nodes', body);
    form.reset();
  });
}

document.addEventListener('DOMContentLoaded', async () => {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('add-node').addEventListener('submit', addNode);
  $('nodes').addEventListener('click', onNodeAction);
  $('accounts').addEventListener('click', onAccountAction);
  $('instances').addEventListener('click', onInstanceAction);
  $('keys').addEventListener('click', onKeyAction);
  $('add-account').addEventListener('submit', addAccount);
  $('state-filter').addEventListener('click', (e) => {
    const chip = e.target.closest('button[data-state]');
    if (!chip) return;
    view.stateFilter = chip.dataset.state;
    render();
  });
  $('account-filter').addEventListener('change', (e) => {
    view.accountFilter = e.target.value;
    render();
  });
  $('text-filter').addEventListener('input', (e) => {
    view.textFilter = e.target.value;
    render();
  });
  $('errors-only').addEventListener('change', (e) => {
    view.errorsOnly = e.target.checked;
    render();
  });
  $('add-notify').addEventListener('submit', addNotify);
  $('notify').addEventListener('click', onNotifyAction);
  $('notify-test').addEventListener('click', (e) => act(e.target, 'test notification queued', () => api('POST', '/notify/test')));
  $('chart-subject').addEventListener('change', () => void refreshCharts().catch(() => undefined));
  // relative times move even when nothing changes
  setInterval(render, 15_000);
  setInterval(() => void refreshCharts().catch(() => undefined), CHART_MS);
  setInterval(() => void refreshNotify().catch(() => undefined), 15_000);
  try {
    showApp(await api('GET', '/session'));
  } catch {
    showSignIn();
  }
});
