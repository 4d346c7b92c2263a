// The worker table, the event timeline and the log pane, drawn from the samples and events.

const MIB = 1024 * 1024;
const KEEP_EVENTS = 300;
const KEEP_LOG_LINES = 1000;

const fixed = (v, digits = 1) => (v === null || v === undefined ? '–' : v.toFixed(digits));
const pct = (v) => (v === null || v === undefined ? '–' : (v * 100).toFixed(2));

export function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

/** The table of every app and its workers in `sample`; with `act`, each app's row has its actions. */
export function renderTable(tbody, sample, act) {
  const rows = [];
  for (const app of sample.apps) {
    const r = app.requests;
    const actions = document.createElement('span');
    if (act) {
      actions.append(
        button('Reload', () => act(app.name, 'reload')),
        button('Restart', () => act(app.name, 'restart')),
        button('−1', () => act(app.name, 'scale', { to: '-1' })),
        button('+1', () => act(app.name, 'scale', { to: '+1' })),
      );
    }
    const cpu = app.workers.reduce((t, w) => t + (w.cpu ?? 0), 0);
    const memory = app.workers.reduce((t, w) => t + (w.memory ?? 0), 0);
    const tr = row(
      [
        `${app.name} ×${app.instances}`,
        app.primary === null ? '–' : String(app.primary),
        app.state,
        '',
        '',
        fixed(cpu),
        fixed(memory / MIB),
        fixed(r?.rate),
        pct(r?.serverErrors),
        fixed(r?.p50, 2),
        fixed(r?.p99, 2),
        fixed(r?.loopDelay, 2),
        actions,
      ],
      'app',
    );
    tr.dataset.app = app.name;
    tr.lastChild.className = 'actions';
    rows.push(tr);
    for (const w of app.workers) {
      const wr = w.requests;
      const tr = row([
        `#${w.id}`,
        w.pid === null ? '–' : String(w.pid),
        w.state,
        String(w.restarts),
        duration(w.uptime),
        fixed(w.cpu),
        fixed(w.memory === null ? null : w.memory / MIB),
        fixed(wr?.rate),
        pct(wr?.serverErrors),
        fixed(wr?.p50, 2),
        fixed(wr?.p99, 2),
        fixed(wr?.loopDelay, 2),
        '',
      ]);
      tr.children[2].className = 'state';
      tr.dataset.worker = `${app.name}#${w.id}`;
      rows.push(tr);
    }
  }
  tbody.replaceChildren(...rows);
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

/** Adds events to the timeline, newest first, keeping the last KEEP_EVENTS. */
export function addEvents(list, events) {
  const items = events.map((e) => {
    const li = document.createElement('li');
    li.dataset.level = String(e.level);
    li.dataset.msg = e.msg;
    const time = document.createElement('time');
    time.dateTime = new Date(e.time).toISOString();
    time.textContent = clock(e.time);
    li.append(time);
    if (e.app) {
      const app = document.createElement('span');
      app.className = 'app';
      app.textContent = e.app;
      li.append(app);
    }
    li.append(e.msg);
    return li;
  });
  list.prepend(...items.reverse());
  while (list.children.length > KEEP_EVENTS) list.lastElementChild.remove();
}

/** Appends lines to the log pane, keeping the last KEEP_LOG_LINES; follows the end if it was there. */
export function addLines(pre, lines) {
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const text = `${pre.textContent}${lines.join('\n')}\n`;
  const all = text.split('\n');
  pre.textContent = all.length > KEEP_LOG_LINES ? all.slice(-KEEP_LOG_LINES - 1).join('\n') : text;
  pre.dataset.lines = String(Math.min(all.length - 1, KEEP_LOG_LINES));
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}
