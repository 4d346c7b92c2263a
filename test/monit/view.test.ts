// `clusterd monit`'s state, keys and screen, without a terminal: made-up samples rendered at several
// sizes, every key's effect, and hostile text from the apps made harmless.
import { describe, expect, it } from 'vitest';
import {
  initialState,
  KEEP_LINES,
  type Key,
  type MonitState,
  onKey,
  parseLine,
  rows,
  withEvent,
  withLine,
  withLines,
  withSample,
} from '../../src/cli/monit/model.js';
import { sparkline } from '../../src/cli/monit/sparkline.js';
import { cut, width } from '../../src/cli/monit/text.js';
import { render, series } from '../../src/cli/monit/view.js';
import type { FleetSample } from '../../src/supervisor/fleet.js';

const ESC = '\x1b';
const worker = (id: number, pid: number, rate: number | null) => ({
  id,
  pid,
  state: 'ready' as const,
  restarts: id,
  connections: null,
  uptime: 65_000,
  cpu: 12.5,
  memory: 80 * 1024 * 1024,
  requests: rate === null ? null : { rate, serverErrors: 0.02, p99: 12.3, p50: 1.1, loopDelay: 21 },
});

function sample(at: number, rate: number, apps = ['web', 'api']): FleetSample {
  return {
    at,
    pid: 100,
    uptime: 3_600_000,
    apps: apps.map((name, i) => ({
      name,
      state: 'running' as const,
      instances: 2,
      primary: 200 + i,
      replaced: {},
      requests: { rate: rate * 2, serverErrors: 0.02, p99: 12.3 },
      workers: [worker(0, 300 + i * 10, rate), worker(1, 301 + i * 10, null)],
    })),
  };
}

const key = (k: string | Key): Key => (typeof k === 'string' ? { sequence: k, name: k.toLowerCase() } : k);
function press(state: MonitState, ...keys: (string | Key)[]) {
  let s = state;
  let last: ReturnType<typeof onKey> = { state: s };
  for (const k of keys) {
    last = onKey(s, key(k));
    s = last.state;
  }
  return last;
}

function filled(): MonitState {
  let s = initialState();
  for (let i = 0; i < 90; i++) s = withSample(s, sample(i * 1000, i));
  s = withEvent(s, { level: 30, time: 0, msg: 'web reloaded: 2 workers replaced', app: 'web' });
  s = withEvent(s, { level: 30, time: 0, msg: 'api only', app: 'api' });
  for (let i = 0; i < 50; i++) s = withLine(s, `web[${i % 2}] line ${i}`);
  return s;
}

describe('monit: keys', () => {
  it('moves over apps and workers, and keeps the selection on its worker as samples come', () => {
    const s = filled();
    expect(rows(s).map((r) => `${r.app}:${r.worker}`)).toEqual([
      'web:null',
      'web:0',
      'web:1',
      'api:null',
      'api:0',
      'api:1',
    ]);
    expect(s.selected).toEqual({ app: 'web', worker: null });
    const down = press(s, { name: 'down' }, { name: 'down' }, { sequence: 'j' }).state;
    expect(down.selected).toEqual({ app: 'api', worker: null });
    expect(press(down, { sequence: 'k' }).state.selected).toEqual({ app: 'web', worker: 1 });
    expect(press(down, { name: 'end' }).state.selected).toEqual({ app: 'api', worker: 1 });
    expect(press(down, { name: 'home' }).state.selected).toEqual({ app: 'web', worker: null });
    // A new sample without the app: the selection's row is gone, the first row is shown as selected.
    const gone = withSample(down, sample(100_000, 1, ['web']));
    expect(render(gone, 100, 30, { color: false, now: 0 }).join('\n')).toContain('web');
  });

  it('asks before acting, and only y confirms', () => {
    const s = press(filled(), { name: 'down' }).state;
    const asked = press(s, { sequence: 'r', name: 'r' });
    expect(asked.action).toBeUndefined();
    expect(asked.state.mode).toBe('confirm');
    expect(render(asked.state, 100, 30, { color: false, now: 0 }).at(-1)).toContain(
      'reload web? y to confirm',
    );
    expect(press(asked.state, { sequence: 'y' }).action).toEqual({ type: 'reload', app: 'web' });
    const cancelled = press(asked.state, { sequence: 'n' });
    expect(cancelled.action).toBeUndefined();
    expect(cancelled.state.notice).toBe('cancelled');
    expect(press(s, { sequence: 'R', name: 'r', shift: true }, 'y').action).toEqual({
      type: 'restart',
      app: 'web',
    });
    expect(press(s, '+', 'y').action).toEqual({ type: 'scale', app: 'web', instances: '+1' });
    expect(press(s, '-', 'y').action).toEqual({ type: 'scale', app: 'web', instances: '-1' });
    const scale = press(s, 's', '4', { name: 'return' });
    expect(scale.state.pending).toEqual({ type: 'scale', app: 'web', instances: '4' });
    expect(press(scale.state, 'y').action).toEqual({ type: 'scale', app: 'web', instances: '4' });
    const bad = press(s, 's', 'x', 'y', { name: 'return' });
    expect(bad.action).toBeUndefined();
    expect(bad.state.notice).toMatch(/N, \+N or -N/);
  });

  it('filters by name, clears with escape, and quits with q or ctrl-c', () => {
    const s = filled();
    const typed = press(s, '/', 'a', 'p').state;
    expect(rows(typed).map((r) => r.app)).toEqual(['api', 'api', 'api']);
    const kept = press(typed, { name: 'return' }).state;
    expect(kept.mode).toBe('normal');
    expect(kept.filter).toBe('ap');
    expect(press(kept, { name: 'escape' }).state.filter).toBe('');
    expect(press(typed, { name: 'backspace' }).state.filter).toBe('a');
    expect(press(s, 'q').quit).toBe(true);
    expect(press(s, { name: 'c', ctrl: true }).quit).toBe(true);
    // In the filter, q is a letter.
    expect(press(s, '/', 'q').quit).toBeUndefined();
  });
});

describe('monit: what the keys act on', () => {
  it('acts on the highlighted app when the filter hides the selected one', () => {
    const s = press(filled(), { name: 'end' }).state;
    expect(s.selected).toEqual({ app: 'api', worker: 1 });
    const filtered = press(s, '/', 'w', 'e', 'b', { name: 'return' }).state;
    const highlighted = render(filtered, 120, 40, { color: false, now: 0 }).find((l) =>
      l.includes('\x1b[7m'),
    );
    expect(highlighted?.startsWith(`${ESC}[7mweb `)).toBe(true);
    expect(press(filtered, 'r', 'y').action).toEqual({ type: 'reload', app: 'web' });
  });

  it('moves the selection when its app leaves the samples', () => {
    const s = press(filled(), { name: 'end' }).state;
    const gone = withSample(s, sample(100_000, 1, ['web']));
    expect(gone.selected).toEqual({ app: 'web', worker: null });
    expect(press(gone, 'R', 'y').action).toEqual({ type: 'restart', app: 'web' });
  });

  it('suspends on ctrl-z', () => {
    expect(press(filled(), { name: 'z', ctrl: true }).suspend).toBe(true);
  });
});

describe('monit: screen', () => {
  it('is exactly the terminal size at any size, and shows the table, charts, events and output', () => {
    const s = filled();
    for (const [w, h] of [
      [160, 50],
      [100, 30],
      [80, 24],
      [40, 12],
      [20, 5],
      [10, 40],
      [16, 40],
      [1, 1],
    ] as const) {
      const lines = render(s, w, h, { color: false, now: 0 });
      expect(lines).toHaveLength(h);
      for (const line of lines) expect(width(line)).toBeLessThanOrEqual(w);
    }
    const screen = render(s, 160, 50, { color: false, now: 0 }).join('\n');
    expect(screen).toContain('2 apps, 4 workers');
    expect(screen).toMatch(/web\s+running\s+200 /);
    expect(screen).toMatch(/ {2}0\s+ready\s+300\s+1m05s/);
    expect(screen).toContain('12ms');
    expect(screen).toContain('2.0%');
    expect(screen).toMatch(/req\/s .*[▁▂▃▄▅▆▇█]{20,}/);
    expect(screen).toContain('web reloaded: 2 workers replaced');
    // The selected app's events and output only.
    expect(screen).not.toContain('api only');
    expect(screen).toContain('[1] line 49');
  });

  it('charts by time: a second without a sample is a gap', () => {
    let s = initialState();
    for (const at of [0, 1_000, 2_020, 2_990, 7_000, 8_010]) s = withSample(s, sample(at, at / 1000 + 1));
    const values = series(s, { app: 'web', worker: 0 }, (f) => f.rate, 10);
    expect(values).toEqual([null, 1, 2, 3.02, 3.99, null, null, null, 8, 9.01]);
  });

  it('shows lines that name no app (its own notices) whatever is selected', () => {
    const s = withLine(press(filled(), { name: 'down' }).state, '(clusterd monit: lines were skipped)');
    expect(render(s, 120, 40, { color: false, now: 0 }).join('\n')).toContain('lines were skipped');
  });

  it('keeps the selection in reverse video past a coloured state', () => {
    const s = withSample(filled(), {
      ...sample(200_000, 1),
      apps: [{ ...(sample(1, 1).apps[0] as FleetSample['apps'][0]), state: 'reloading' as never }],
    });
    const line = render(s, 120, 40, { color: true, now: 0 }).find((l) => l.includes(`${ESC}[7m`)) ?? '';
    expect(line).toContain(`${ESC}[33mreloading`);
    expect(line.slice(line.indexOf('reloading'))).not.toContain(`${ESC}[0m `);
  });

  it('colors only when asked, but always shows the selection', () => {
    const s = filled();
    const plain = render(s, 120, 40, { color: false, now: 0 }).join('\n');
    expect(plain).not.toContain(`${ESC}[3`);
    expect(plain).toContain('\x1b[7m');
    const colored = render(
      withSample(s, {
        ...sample(1, 1),
        apps: [{ ...(sample(1, 1).apps[0] as FleetSample['apps'][0]), state: 'crashed' as never }],
      }),
      120,
      40,
      { color: true, now: 0 },
    ).join('\n');
    expect(colored).toContain(`${ESC}[31m`);
  });

  it("shows an app's escape sequences as text, and wide characters within the width", () => {
    let s = filled();
    s = withLine(
      s,
      'web[0] \x1b]0;pwned\x07 \x1b[2J cleared? 日本語の行です日本語の行です日本語の行です日本語の行です',
    );
    const lines = render(s, 60, 40, { color: false, now: 0 });
    const out = lines.join('\n');
    expect(out).not.toContain('\x1b]0;');
    expect(out).not.toContain('\x1b[2J');
    expect(out).toContain('\\x1b]0;pwned');
    for (const line of lines) expect(width(line)).toBeLessThanOrEqual(60);
  });
});

describe('monit: pieces', () => {
  it('reads whom an output line came from', () => {
    expect(parseLine('web[3] hello [x]')).toEqual({ app: 'web', worker: 3, text: 'hello [x]' });
    // The app's own text that looks like a tag stays its text.
    expect(parseLine('web[0] db[5] connected')).toEqual({ app: 'web', worker: 0, text: 'db[5] connected' });
    expect(
      parseLine('{"level":30,"time":1,"app":"web","worker":2,"pid":9,"stream":"stdout","msg":"m"}'),
    ).toEqual({
      app: 'web',
      worker: 2,
      text: 'm',
    });
    expect(parseLine('{not json')).toEqual({ app: null, worker: null, text: '{not json' });
  });

  it('cuts a long output line as it arrives', () => {
    const s = withLine(initialState(), `web[0] ${'x'.repeat(100_000)}`);
    expect(s.lines[0]?.text.length).toBeLessThanOrEqual(4_096);
  });

  it('takes a flood of output in batches, keeping the last lines', () => {
    const flood = Array.from({ length: KEEP_LINES * 3 }, (_, i) => `web[0] line ${i}`);
    const s = withLines(withLine(initialState(), 'web[1] first'), flood);
    expect(s.lines).toHaveLength(KEEP_LINES);
    expect(s.lines.at(-1)).toEqual({ app: 'web', worker: 0, text: `line ${KEEP_LINES * 3 - 1}` });
    const more = withLines(s, ['web[1] next']);
    expect(more.lines).toHaveLength(KEEP_LINES);
    expect(more.lines.at(-1)?.text).toBe('next');
    expect(withLines(s, [])).toBe(s);
  });

  it('draws sparklines from 0 to the top, with gaps', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([5, 5, 5], 3)).toBe('███');
    expect(sparkline([0, 0], 2)).toBe('▁▁');
    expect(sparkline([null, 1], 4)).toBe('   █');
    expect(sparkline([0.5], 1, 1)).toBe('▅');
    expect(sparkline([1, 2, 3], 0)).toBe('');
  });

  it('cuts by terminal columns', () => {
    expect(cut('hello', 3)).toBe('he…');
    expect(cut('日本語', 4)).toBe('日…');
    expect(width(cut('日本語日本語', 7, false))).toBeLessThanOrEqual(7);
  });
});
