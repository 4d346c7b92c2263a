// What `clusterd monit` knows and what its keys do: the samples, events and output lines it was sent, the
// selected row (by app and slot, so it stays on its worker as samples come and go), the filter, and the
// prompt under way. Pure: a key gives the next state and, for an action the operator confirmed, the
// command to send (monit.ts sends it); unit-tested without a terminal.
import type { LogEvent } from '../../control/protocol.js';
import type { FleetApp, FleetSample } from '../../supervisor/fleet.js';

/** Samples kept: five minutes at one a second, as the root keeps them. */
export const KEEP_SAMPLES = 300;
/** An output line is cut to this many characters as it arrives (a pane shows one terminal line of it). */
export const MAX_LINE = 4_096;
export const KEEP_EVENTS = 200;
export const KEEP_LINES = 1_000;

/** An output line with whom it came from, when the line says it (`app[3] ...`, or JSON with app and worker). */
export interface OutputLine {
  app: string | null;
  worker: number | null;
  text: string;
}

/** What the operator asked to be done, once confirmed. */
export type Action =
  | { type: 'reload'; app: string }
  | { type: 'restart'; app: string }
  | { type: 'scale'; app: string; instances: string };

/** A row of the table: an app, or one of its workers (by slot). */
export interface Row {
  app: string;
  worker: number | null;
}

export interface MonitState {
  samples: FleetSample[];
  events: LogEvent[];
  lines: OutputLine[];
  selected: Row | null;
  /** Only apps whose name contains it (case-insensitive) are shown. */
  filter: string;
  mode: 'normal' | 'filter' | 'scale' | 'confirm';
  /** What is being typed (the filter, a worker count). */
  input: string;
  /** The action the confirmation prompt asks about. */
  pending: Action | null;
  /** The last thing said to the operator (an action's outcome). */
  notice: string | null;
}

export function initialState(): MonitState {
  return {
    samples: [],
    events: [],
    lines: [],
    selected: null,
    filter: '',
    mode: 'normal',
    input: '',
    pending: null,
    notice: null,
  };
}

const keepLast = <T>(list: T[], item: T, most: number): T[] => {
  const next = list.length >= most ? list.slice(list.length - most + 1) : list.slice();
  next.push(item);
  return next;
};

/**
 * The selection as the screen shows it: the row highlighted. One whose worker or app is gone, or that the
 * filter hides, moves to the row shown in its place, so that a key never acts on an app not highlighted.
 */
function settled(state: MonitState): MonitState {
  const list = rows(state);
  const row = list[selectedIndex(state, list)] ?? null;
  return same(row, state.selected) || (row === null && state.selected === null)
    ? state
    : { ...state, selected: row };
}

export function withSample(state: MonitState, sample: FleetSample): MonitState {
  return settled({ ...state, samples: keepLast(state.samples, sample, KEEP_SAMPLES) });
}

export function withEvent(state: MonitState, event: LogEvent): MonitState {
  return { ...state, events: keepLast(state.events, event, KEEP_EVENTS) };
}

// `app[3] text`: the pretty form output.ts writes to the root's output (its timestamps go to files only).
const PRETTY = /^([^\s[\]]+)\[(\d+)\] (.*)$/s;

/** Whom an output line came from, and its text (a JSON line's `msg`). */
export function parseLine(line: string): OutputLine {
  if (line.startsWith('{')) {
    try {
      const o = JSON.parse(line) as { app?: unknown; worker?: unknown; msg?: unknown };
      if (typeof o.app === 'string' && typeof o.worker === 'number')
        return { app: o.app, worker: o.worker, text: typeof o.msg === 'string' ? o.msg : line };
    } catch {
      // Not JSON after all: shown as it is.
    }
  }
  const m = PRETTY.exec(line);
  if (m) return { app: m[1] as string, worker: Number(m[2]), text: m[3] as string };
  return { app: null, worker: null, text: line };
}

/** Output lines added, oldest first: a flood is taken in batches, once per frame, the last KEEP_LINES kept. */
export function withLines(state: MonitState, lines: readonly string[]): MonitState {
  if (!lines.length) return state;
  const added = lines
    .slice(-KEEP_LINES)
    .map((line) => parseLine(line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line));
  const kept = state.lines.slice(Math.max(0, state.lines.length + added.length - KEEP_LINES));
  return { ...state, lines: [...kept, ...added] };
}

export function withLine(state: MonitState, line: string): MonitState {
  return withLines(state, [line]);
}

export const latest = (state: MonitState): FleetSample | null => state.samples.at(-1) ?? null;

/** The apps shown: the latest sample's, filtered. */
export function shownApps(state: MonitState): FleetApp[] {
  const apps = latest(state)?.apps ?? [];
  const filter = state.filter.toLowerCase();
  return filter ? apps.filter((a) => a.name.toLowerCase().includes(filter)) : apps;
}

/** The table's rows, in order: each app, then its workers by slot. */
export function rows(state: MonitState): Row[] {
  return shownApps(state).flatMap((app) => [
    { app: app.name, worker: null },
    ...[...app.workers].sort((a, b) => a.id - b.id).map((w) => ({ app: app.name, worker: w.id })),
  ]);
}

const same = (a: Row | null, b: Row | null) =>
  a !== null && b !== null && a.app === b.app && a.worker === b.worker;

/** The selected row's index among `rows` (its app's row when its worker is gone; 0 when its app is). */
export function selectedIndex(state: MonitState, list: Row[] = rows(state)): number {
  const exact = list.findIndex((r) => same(r, state.selected));
  if (exact >= 0) return exact;
  const app = list.findIndex((r) => r.app === state.selected?.app && r.worker === null);
  return Math.max(0, app);
}

/** A key as node:readline's keypress gives it. */
export interface Key {
  name?: string | undefined;
  sequence?: string | undefined;
  ctrl?: boolean | undefined;
  shift?: boolean | undefined;
}

export type KeyOutcome = { state: MonitState; action?: Action; quit?: true; suspend?: true };

const describe = (a: Action): string =>
  a.type === 'scale' ? `scale ${a.app} to ${a.instances}` : `${a.type} ${a.app}`;

/** What a key does. */
export function onKey(state: MonitState, key: Key): KeyOutcome {
  const outcome = keyOutcome(state, key);
  return { ...outcome, state: settled(outcome.state) };
}

function keyOutcome(state: MonitState, key: Key): KeyOutcome {
  if (key.ctrl && key.name === 'c') return { state, quit: true };
  // Ctrl-Z suspends, as in any program (raw mode takes it as a key: the view stops itself).
  if (key.ctrl && key.name === 'z') return { state, suspend: true };
  const char = key.sequence && key.sequence.length === 1 && !key.ctrl ? key.sequence : '';
  switch (state.mode) {
    case 'confirm': {
      const pending = state.pending;
      const back = { ...state, mode: 'normal' as const, pending: null };
      if (pending && (char === 'y' || char === 'Y'))
        return { state: { ...back, notice: `${describe(pending)}: under way…` }, action: pending };
      return { state: { ...back, notice: 'cancelled' } };
    }
    case 'filter':
    case 'scale': {
      if (key.name === 'escape')
        return {
          state: { ...state, mode: 'normal', input: '', ...(state.mode === 'filter' ? { filter: '' } : {}) },
        };
      if (key.name === 'return' || key.name === 'enter') {
        if (state.mode === 'filter') return { state: { ...state, mode: 'normal', input: '' } };
        const app = state.selected?.app;
        if (!app || !/^[+-]?\d+$/.test(state.input))
          return { state: { ...state, mode: 'normal', input: '', notice: 'a worker count is N, +N or -N' } };
        return {
          state: {
            ...state,
            mode: 'confirm',
            input: '',
            pending: { type: 'scale', app, instances: state.input },
          },
        };
      }
      const input =
        key.name === 'backspace' ? state.input.slice(0, -1) : char >= ' ' ? state.input + char : state.input;
      if (input === state.input) return { state };
      return { state: { ...state, input, ...(state.mode === 'filter' ? { filter: input } : {}) } };
    }
    case 'normal':
      break;
  }
  const list = rows(state);
  const move = (to: number): KeyOutcome => {
    const row = list[Math.max(0, Math.min(list.length - 1, to))];
    return { state: row ? { ...state, selected: row } : state };
  };
  const at = selectedIndex(state, list);
  const app = state.selected?.app;
  const ask = (action: Action): KeyOutcome => ({
    state: { ...state, mode: 'confirm', pending: action, notice: null },
  });
  switch (key.name) {
    case 'up':
      return move(at - 1);
    case 'down':
      return move(at + 1);
    case 'pageup':
      return move(at - 10);
    case 'pagedown':
      return move(at + 10);
    case 'home':
      return move(0);
    case 'end':
      return move(list.length - 1);
    case 'escape':
      return { state: { ...state, filter: '', notice: null } };
  }
  switch (char) {
    case 'q':
      return { state, quit: true };
    case 'k':
      return move(at - 1);
    case 'j':
      return move(at + 1);
    case '/':
      return { state: { ...state, mode: 'filter', input: state.filter, notice: null } };
    case 'r':
      return app ? ask({ type: 'reload', app }) : { state };
    case 'R':
      return app ? ask({ type: 'restart', app }) : { state };
    case 's':
      return app ? { state: { ...state, mode: 'scale', input: '', notice: null } } : { state };
    case '+':
    case '-':
      return app ? ask({ type: 'scale', app, instances: `${char}1` }) : { state };
  }
  return { state };
}

/** The prompt for the action under confirmation. */
export function confirmation(action: Action): string {
  return `${describe(action)}? y to confirm, any other key to cancel`;
}

/** An action's outcome, said. */
export function withNotice(state: MonitState, notice: string): MonitState {
  return { ...state, notice };
}
