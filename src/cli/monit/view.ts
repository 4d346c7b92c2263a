// The screen of `clusterd monit`, drawn from its state: a header, the table of apps and workers (the
// selected row in reverse video, a req/s sparkline per row where there is room), the selected app's or
// worker's figures over the last minutes as sparklines, the recent events, its live output, and a line
// of keys or the prompt under way. Exactly `height` lines of at most `columns` columns, whatever the
// size. Pure: tested by rendering states.
import type { FleetApp, FleetSample, FleetWorker } from '../../supervisor/fleet.js';
import { formatEvent } from '../commands/control.js';
import { confirmation, latest, type MonitState, type Row, rows, selectedIndex, shownApps } from './model.js';
import { sparkline } from './sparkline.js';
import { cut, fitTo, safe } from './text.js';

export interface ViewOptions {
  /** ANSI colors (off with NO_COLOR or a dumb terminal); reverse video for the selection is kept. */
  color: boolean;
  now: number;
}

const ESC = '\x1b[';
const style = (on: boolean, code: string, text: string) => (on ? `${ESC}${code}m${text}${ESC}0m` : text);

function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

const num = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '-'
    : n < 10
      ? n.toFixed(digits)
      : String(Math.round(n));
const mib = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined ? '-' : `${Math.round(bytes / 1024 / 1024)}M`;
const share = (s: number | null | undefined): string =>
  s === null || s === undefined ? '-' : s > 0 && s < 0.001 ? '<0.1%' : `${num(s * 100)}%`;
const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${num(v)}ms`);

const sum = (values: (number | null)[]): number | null =>
  values.some((v) => v !== null) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null;
const most = (values: (number | null | undefined)[]): number | null => {
  const known = values.filter((v): v is number => v !== null && v !== undefined);
  return known.length ? Math.max(...known) : null;
};

/** The figures a row shows and charts, from one sample (null: the row is not in it). */
export interface Figures {
  state: string;
  pid: number | null;
  uptime: number | null;
  restarts: number;
  cpu: number | null;
  memory: number | null;
  loopDelay: number | null;
  rate: number | null;
  serverErrors: number | null;
  p99: number | null;
}

function appFigures(app: FleetApp): Figures {
  return {
    state: app.state,
    pid: app.primary,
    uptime: null,
    restarts: app.workers.reduce((a, w) => a + w.restarts, 0),
    cpu: sum(app.workers.map((w) => w.cpu)),
    memory: sum(app.workers.map((w) => w.memory)),
    loopDelay: most(app.workers.map((w) => w.requests?.loopDelay)),
    rate: app.requests?.rate ?? null,
    serverErrors: app.requests?.serverErrors ?? null,
    p99: app.requests?.p99 ?? null,
  };
}

function workerFigures(w: FleetWorker): Figures {
  return {
    state: w.state === 'draining' && w.connections !== null ? `draining(${w.connections})` : w.state,
    pid: w.pid,
    uptime: w.uptime,
    restarts: w.restarts,
    cpu: w.cpu,
    memory: w.memory,
    loopDelay: w.requests?.loopDelay ?? null,
    rate: w.requests?.rate ?? null,
    serverErrors: w.requests?.serverErrors ?? null,
    p99: w.requests?.p99 ?? null,
  };
}

/** A row's figures in a sample; null when the sample does not have it. */
export function figuresAt(sample: FleetSample, row: Row): Figures | null {
  const app = sample.apps.find((a) => a.name === row.app);
  if (!app) return null;
  if (row.worker === null) return appFigures(app);
  const worker = app.workers.find((w) => w.id === row.worker);
  return worker ? workerFigures(worker) : null;
}

/**
 * A row's figure over the last `count` seconds, one value a second (the newest last), placed by each
 * sample's time: a second with no sample (nobody watched, the root was busy) is a gap, not squeezed out.
 */
export function series(
  state: MonitState,
  row: Row,
  pick: (f: Figures) => number | null,
  count: number,
): (number | null)[] {
  const values: (number | null)[] = new Array(Math.max(0, count)).fill(null);
  const last = state.samples.at(-1);
  if (!last) return values;
  const filled = new Set<number>();
  for (let i = state.samples.length - 1; i >= 0; i--) {
    const sample = state.samples[i] as FleetSample;
    const ago = Math.round((last.at - sample.at) / 1000);
    if (ago >= count) break;
    if (ago < 0 || filled.has(ago)) continue;
    filled.add(ago);
    const f = figuresAt(sample, row);
    values[count - 1 - ago] = f ? pick(f) : null;
  }
  return values;
}

/** Seconds the kept samples span (at most `count`). */
const spanSeconds = (state: MonitState, count: number): number => {
  const [first, last] = [state.samples[0], state.samples.at(-1)];
  return first && last ? Math.min(count, Math.round((last.at - first.at) / 1000) + 1) : 0;
};

// The table's columns: title, width, right-aligned, the cell.
const COLUMNS: [string, number, boolean, (f: Figures) => string][] = [
  ['STATE', 12, false, (f) => f.state],
  ['PID', 8, true, (f) => (f.pid === null ? '-' : String(f.pid))],
  ['UPTIME', 7, true, (f) => (f.uptime === null ? '' : ago(f.uptime))],
  ['RST', 4, true, (f) => String(f.restarts)],
  ['CPU', 6, true, (f) => (f.cpu === null ? '-' : `${num(f.cpu)}%`)],
  ['RSS', 6, true, (f) => mib(f.memory)],
  ['LOOP', 7, true, (f) => ms(f.loopDelay)],
  ['REQ/S', 7, true, (f) => num(f.rate)],
  ['5XX', 6, true, (f) => share(f.serverErrors)],
  ['P99', 8, true, (f) => ms(f.p99)],
];

function stateColor(state: string): string | null {
  if (/crashed|failed|errored|unresponsive/.test(state)) return '31';
  if (/starting|draining|stopping|reloading|restarting/.test(state)) return '33';
  return null;
}

function table(state: MonitState, columns: number, height: number, o: ViewOptions): string[] {
  const list = rows(state);
  const apps = shownApps(state);
  const nameWidth = Math.min(24, columns, Math.max(8, ...apps.map((a) => a.name.length + 2)));
  // The columns that fit, left to right; the trend takes what is left, if enough.
  let room = columns - nameWidth;
  const shown = COLUMNS.filter(([, w]) => {
    if (room < w + 1) {
      room = 0;
      return false;
    }
    room -= w + 1;
    return true;
  });
  const trend = room - 1 >= 8 ? room - 1 : 0;
  const head = [
    fitTo('NAME', nameWidth),
    ...shown.map(([title, w, right]) => fitTo(title, w, right)),
    ...(trend ? [fitTo('REQ/S TREND', trend)] : []),
  ].join(' ');
  const out = [style(o.color, '1', fitTo(head, columns))];
  const body = height - 1;
  if (body <= 0) return out.slice(0, height);
  const at = selectedIndex(state, list);
  // The selection stays in view: the window scrolls with it.
  const first = Math.max(0, Math.min(at - Math.floor(body / 2), list.length - body));
  const sample = latest(state);
  for (const [i, row] of list.slice(first, first + body).entries()) {
    const f = sample ? figuresAt(sample, row) : null;
    if (!f) continue;
    const name = row.worker === null ? safe(row.app) : `  ${row.worker}`;
    const cells = shown.map(([, w, right, cell]) => fitTo(cell(f), w, right));
    const color = o.color ? stateColor(f.state) : null;
    // The colour ends with its own reset (39), not a full one: the selection's reverse video goes on.
    if (color && cells.length) cells[0] = `${ESC}${color}m${cells[0] as string}${ESC}39m`;
    const spark = trend
      ? [
          sparkline(
            series(state, row, (x) => x.rate, trend),
            trend,
          ),
        ]
      : [];
    const line = [fitTo(name, nameWidth), ...cells, ...spark].join(' ');
    out.push(
      first + i === at ? `${ESC}7m${line}${ESC}0m` : row.worker === null ? style(o.color, '1', line) : line,
    );
  }
  return out;
}

function rule(title: string, columns: number, o: ViewOptions): string {
  const text = cut(`── ${title} `, columns);
  return style(o.color, '2', text + '─'.repeat(Math.max(0, columns - text.length)));
}

const CHARTS: [string, (f: Figures) => number | null, (v: number | null) => string, number][] = [
  ['req/s', (f) => f.rate, (v) => num(v), 0],
  ['5xx', (f) => f.serverErrors, share, 0],
  ['p99', (f) => f.p99, ms, 0],
  ['cpu', (f) => f.cpu, (v) => (v === null ? '-' : `${num(v)}%`), 0],
  ['rss', (f) => f.memory, mib, 0],
  ['loop', (f) => f.loopDelay, ms, 0],
];

function charts(state: MonitState, row: Row, columns: number, height: number): string[] {
  const label = 6;
  const value = 9;
  const width = Math.max(0, columns - label - value - 2);
  return CHARTS.slice(0, height).map(([name, pick, show, max]) => {
    const values = series(state, row, pick, width);
    const now = values.at(-1) ?? null;
    return `${fitTo(name, label)} ${sparkline(values, width, max)} ${fitTo(show(now), value, true)}`;
  });
}

function who(row: Row): string {
  return row.worker === null ? row.app : `${row.app}[${row.worker}]`;
}

function footer(state: MonitState, columns: number, o: ViewOptions): string {
  let text: string;
  if (state.mode === 'confirm' && state.pending) text = confirmation(state.pending);
  else if (state.mode === 'filter') text = `filter: ${state.input}▏  (enter: keep, esc: clear)`;
  else if (state.mode === 'scale')
    text = `scale ${state.selected?.app ?? ''} to (N, +N, -N): ${state.input}▏  (enter, esc)`;
  else
    text = `${state.notice ? `${state.notice}  │  ` : ''}↑↓ select  r reload  R restart  s scale  +/- one worker  / filter  q quit`;
  return style(o.color, state.mode === 'confirm' ? '1;33' : '7', fitTo(safe(text), columns));
}

/** The whole screen: `height` lines. */
export function render(state: MonitState, columns: number, height: number, o: ViewOptions): string[] {
  const cols = Math.max(1, columns);
  const sample = latest(state);
  const apps = sample?.apps ?? [];
  const workers = apps.reduce((a, app) => a + app.workers.length, 0);
  const rate = sum(apps.map((a) => a.requests?.rate ?? null));
  const clock = new Date(o.now).toTimeString().slice(0, 8);
  const head = sample
    ? `clusterd monit  pid ${sample.pid}  up ${ago(sample.uptime)}  ${apps.length} app${apps.length === 1 ? '' : 's'}, ${workers} worker${workers === 1 ? '' : 's'}  ${num(rate)} req/s${state.filter ? `  filter: ${safe(state.filter)}` : ''}`
    : 'clusterd monit  waiting for the first sample…';
  const lines: string[] = [
    style(o.color, '1', fitTo(`${head}`, Math.max(0, cols - 9)) + fitTo(clock, Math.min(9, cols), true)),
  ];
  const free = height - 2;
  const row = state.selected;
  const list = rows(state);
  // Charts need room for a label, a few seconds of sparkline and the value.
  const chartLines = free >= 18 && cols >= 30 ? CHARTS.length + 1 : 0;
  const tableLines = Math.min(list.length + 1, Math.max(3, Math.floor((free - chartLines) * 0.45)));
  lines.push(...table(state, cols, Math.min(tableLines, free), o));
  if (row && chartLines) {
    const f = sample ? figuresAt(sample, row) : null;
    const title = f ? `${who(row)}  pid ${f.pid ?? '-'}  last ${spanSeconds(state, cols - 17)}s` : who(row);
    lines.push(rule(safe(title), cols, o), ...charts(state, row, cols, CHARTS.length));
  }
  const rest = height - 1 - lines.length;
  if (rest >= 2) {
    const eventLines = rest >= 8 ? Math.max(1, Math.floor(rest * 0.35)) - 1 : 0;
    if (eventLines > 0) {
      const shown = state.events
        .filter((e) => !row || e.app === undefined || e.app === row.app)
        .slice(-eventLines);
      lines.push(rule('events', cols, o));
      for (const e of shown) lines.push(cut(safe(formatEvent(e)), cols));
      for (let i = shown.length; i < eventLines; i++) lines.push('');
    }
    const logLines = height - 1 - lines.length - 1;
    if (logLines > 0) {
      const mine = state.lines.filter(
        // Lines that name no app (monit's own notices among them) are shown whatever is selected.
        (l) =>
          !row || l.app === null || (l.app === row.app && (row.worker === null || l.worker === row.worker)),
      );
      lines.push(rule(`output${row ? `: ${safe(who(row))}` : ''}`, cols, o));
      const shown = mine.slice(-logLines);
      for (const l of shown)
        lines.push(
          cut(safe(row?.worker === null && l.worker !== null ? `[${l.worker}] ${l.text}` : l.text), cols),
        );
    }
  }
  while (lines.length < height - 1) lines.push('');
  lines.length = Math.max(0, height - 1);
  if (height >= 1) lines.push(footer(state, cols, o));
  return lines;
}
