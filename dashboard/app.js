// The dashboard page: one EventSource for the samples and events (the kept history first), another for
// the log pane while it is open; the charts, table and timeline redrawn from them. Same-origin, relative
// URLs only (kubectl port-forward, a tunnel, a proxy).
import { Charts } from './charts.js';
import { addEvents, addLines, duration, renderTable } from './view.js';

const KEEP_MS = 5 * 60_000;

const $ = (selector) => document.querySelector(selector);
const state = { samples: [], actions: false, scope: '' };
const charts = new Charts($('#charts'));

function setConnection(text) {
  const badge = $('#connection');
  badge.dataset.state = text;
  badge.textContent = text;
}

function fillSelect(select, names, keep) {
  const current = [...select.options].map((o) => o.value).filter(Boolean);
  if (current.join() === names.join()) return;
  const options = names.map((n) => new Option(n, n));
  select.replaceChildren(...(keep ? [new Option(keep, '')] : []), ...options);
}

function redraw() {
  const last = state.samples.at(-1);
  document.body.dataset.samples = String(state.samples.length);
  if (!last) return;
  const names = last.apps.map((a) => a.name);
  fillSelect($('#scope'), names);
  const logApp = $('#log-app').value;
  fillSelect($('#log-app'), names, '(closed)');
  $('#log-app').value = logApp;
  if (!names.includes(state.scope)) state.scope = names[0] ?? '';
  $('#scope').value = state.scope;
  $('#root').textContent = `root pid ${last.pid}, up ${duration(last.uptime)}`;
  renderTable($('#workers tbody'), last, state.actions ? act : null);
  charts.update(state.samples, state.scope);
}

function keep(sample) {
  state.samples.push(sample);
  const cutoff = sample.at - KEEP_MS;
  while (state.samples.length && state.samples[0].at < cutoff) state.samples.shift();
}

async function act(app, action, body) {
  const result = $('#action-result');
  result.textContent = `${action} of ${app}…`;
  try {
    const res = await fetch(`api/apps/${encodeURIComponent(app)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-clusterd-dashboard': '1' },
      body: JSON.stringify(body ?? {}),
      credentials: 'same-origin',
    });
    const answer = await res.json();
    const failed = answer.outcomes?.filter((o) => !o.ok).map((o) => o.reason);
    result.textContent = res.ok
      ? `${action} of ${app}: done`
      : `${action} of ${app}: ${answer.error ?? failed?.join('; ') ?? res.status}`;
  } catch (error) {
    result.textContent = `${action} of ${app}: ${error.message}`;
  }
}

function connect() {
  const source = new EventSource('api/stream');
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('error', () =>
    setConnection(source.readyState === EventSource.CLOSED ? 'closed: reload the page' : 'lost'),
  );
  source.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    state.actions = hello.actions;
    $('#signout').hidden = !hello.signedIn;
  });
  source.addEventListener('history', (e) => {
    const { samples, events } = JSON.parse(e.data);
    state.samples = [];
    for (const s of samples) keep(s);
    $('#timeline').replaceChildren();
    addEvents($('#timeline'), events);
    redraw();
  });
  source.addEventListener('sample', (e) => {
    keep(JSON.parse(e.data));
    redraw();
  });
  source.addEventListener('event', (e) => addEvents($('#timeline'), [JSON.parse(e.data)]));
}

let logs = null;
function openLogs(app) {
  logs?.close();
  logs = null;
  $('#logs').textContent = '';
  if (!app) return;
  logs = new EventSource(`api/logs?app=${encodeURIComponent(app)}`);
  logs.addEventListener('lines', (e) => addLines($('#logs'), JSON.parse(e.data)));
}

$('#scope').addEventListener('change', (e) => {
  state.scope = e.target.value;
  redraw();
});
$('#log-app').addEventListener('change', (e) => openLogs(e.target.value));
connect();
