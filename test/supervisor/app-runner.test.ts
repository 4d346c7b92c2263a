// The root's side of an app, against fake primaries and fake time: requests by id, every pending request
// answered when a primary dies, restarts with backoff, and faults contained to the app they happen in.
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedConfig } from '../../src/config/resolved.js';
import type { WorkerState } from '../../src/lifecycle/states.js';
import type { Logger } from '../../src/log/logger.js';
import { type Outcome, PROTOCOL_VERSION, type PrimaryMessage, type RootMessage } from '../../src/protocol.js';
import { AppRunner } from '../../src/supervisor/app-runner.js';
import type { PrimaryChild, PrimaryHandlers, RunnerEffects } from '../../src/supervisor/primary-process.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

let nextPid = 5000;

class FakePrimary implements PrimaryChild {
  readonly pid = nextPid++;
  /** The requests sent so far (a profile's acks and cancels are not requests). */
  readonly sent: Extract<RootMessage, { type: 'request' }>[] = [];
  readonly signals: NodeJS.Signals[] = [];

  constructor(private readonly handlers: PrimaryHandlers) {}

  send(message: RootMessage): void {
    if (message.type === 'request') this.sent.push(message);
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }

  hello(version = PROTOCOL_VERSION): void {
    this.handlers.message({ type: 'hello', version, pid: this.pid });
  }

  report(message: PrimaryMessage): void {
    this.handlers.message(message);
  }

  reply(id: number, outcome: Outcome): void {
    this.report({ type: 'reply', id, outcome });
  }

  /** The requests sent so far, as [id, op]. */
  requests(): [number, string][] {
    return this.sent.map((m) => [m.id, m.request.op]);
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.handlers.exit(code, signal);
  }
}

// A logger whose events the test reads; `failOn` makes logging a matching message throw, as a bug in a
// handler would.
function memoryLog(failOn?: RegExp) {
  const events: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      events.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const real = pino({ base: null, level: 'debug' }, stream);
  const log = failOn
    ? (new Proxy(real, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (typeof value !== 'function' || !['info', 'warn', 'error'].includes(String(key))) return value;
          return (fields: unknown, msg?: string) => {
            if (msg && failOn.test(msg)) throw new TypeError(`cannot log ${msg}`);
            return value.call(target, fields, msg);
          };
        },
      }) as Logger)
    : real;
  return { log, events };
}

function fakeEffects(options: { spawnErrors?: Error[] } = {}) {
  const primaries: FakePrimary[] = [];
  const killed: number[] = [];
  const fx: RunnerEffects = {
    spawn: (handlers) => {
      const error = options.spawnErrors?.shift();
      if (error) throw error;
      const primary = new FakePrimary(handlers);
      primaries.push(primary);
      return primary;
    },
    timer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    now: () => Date.now(),
    killLeftover: (pid) => {
      killed.push(pid);
      return true;
    },
    killGroup: () => [],
  };
  return { fx, primaries, killed };
}

function runner(
  options: { failOn?: RegExp; spawnErrors?: Error[]; app?: ReturnType<typeof resolvedApp> } = {},
) {
  const { fx, primaries, killed } = fakeEffects(options);
  const { log, events } = memoryLog(options.failOn);
  const app = options.app ?? resolvedApp();
  const r = new AppRunner(app, log, 'json', fx);
  r.start();
  return { r, primaries, killed, events, last: () => primaries.at(-1) as FakePrimary };
}

// A runner whose primary said hello and got its start request.
function up(options: Parameters<typeof runner>[0] = {}) {
  const t = runner(options);
  t.last().hello();
  expect(t.last().requests()).toEqual([[1, 'start']]);
  return t;
}

describe('AppRunner: requests with ids', () => {
  it('ping: answered by the primary; refused at once while it restarts; failed if it dies first', async () => {
    const t = up();
    const answered = t.r.ping();
    expect(t.last().requests()).toEqual([
      [1, 'start'],
      [2, 'ping'],
    ]);
    t.last().reply(2, { ok: true, result: {} });
    await expect(answered).resolves.toEqual({ ok: true, result: {} });
    const unanswered = t.r.ping();
    t.last().exit(1);
    await expect(unanswered).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/before the ping/),
    });
    // In backoff: the root answers for the primary, at once (a restart is not a hang).
    await expect(t.r.ping()).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/restarting/),
    });
  });

  it('holds a request made before the hello, and sends it right after the start', async () => {
    const t = runner();
    const reload = t.r.reload();
    expect(t.last().sent).toEqual([]);
    t.last().hello();
    expect(t.last().requests()).toEqual([
      [2, 'start'],
      [1, 'reload'],
    ]);
    t.last().reply(1, { ok: true, result: { replaced: 2, ms: 5 } });
    expect(await reload).toEqual({ ok: true, result: { replaced: 2, ms: 5 } });
  });

  it('answers two reloads made within one round trip each with its own reply', async () => {
    const t = up();
    const first = t.r.reload();
    const second = t.r.reload();
    t.last().reply(3, { ok: true, result: { replaced: 2, ms: 900 } });
    t.last().reply(2, { ok: true, result: { replaced: 2, ms: 400 } });
    expect(await first).toEqual({ ok: true, result: { replaced: 2, ms: 400 } });
    expect(await second).toEqual({ ok: true, result: { replaced: 2, ms: 900 } });
  });

  it('answers every pending request when the primary dies mid-reload and mid-scale, then restarts it', async () => {
    const t = up();
    const reload = t.r.reload();
    const scale = t.r.scale(4);
    const first = t.last();
    first.exit(null, 'SIGKILL');
    expect(await reload).toEqual({
      ok: false,
      code: 'CLUSTERD_ERR_PRIMARY_EXITED',
      reason:
        'the primary exited (killed by SIGKILL) before the reload was done; it restarts in 100 ms with the code on disk',
    });
    expect((await scale).ok).toBe(false);
    expect(t.r.state).toBe('backoff');
    expect(t.r.primary.state).toBe('backoff');
    // Meanwhile a request is refused at once, with the reason.
    expect(await t.r.reload()).toEqual({
      ok: false,
      code: 'CLUSTERD_ERR_PRIMARY_EXITED',
      reason: "the app's primary is restarting (it exited: killed by SIGKILL); try again once the app runs",
    });
    vi.advanceTimersByTime(100);
    expect(t.primaries).toHaveLength(2);
    t.last().hello();
    const [start] = t.last().sent;
    // The new primary runs the app with the count asked for.
    expect(start?.request).toMatchObject({ op: 'start', app: { instances: 4 } });
    expect(
      t.events.some((e) => String(e.msg).startsWith('primary exited unexpectedly (killed by SIGKILL)')),
    ).toBe(true);
  });

  it('kills the workers a dead primary left behind', () => {
    const t = up();
    t.last().report({ type: 'worker', transition: { worker: 0, pid: 777, from: null, to: 'starting' } });
    t.last().report({ type: 'worker', transition: { worker: 1, pid: 778, from: null, to: 'starting' } });
    t.last().report({ type: 'worker', transition: { worker: 1, pid: 778, from: 'starting', to: 'crashed' } });
    t.last().exit(1);
    expect(t.killed).toEqual([777]);
  });

  it('ends in errored after the crash-loop limit: pending requests and the start are answered', async () => {
    const t = up({ app: resolvedApp({ restart: { ...resolvedApp().restart, maxRestarts: 1 } }) });
    t.last().exit(1);
    vi.advanceTimersByTime(100);
    t.last().hello();
    const reload = t.r.reload();
    t.last().exit(1);
    expect((await reload).ok).toBe(false);
    expect(t.r.state).toBe('errored');
    expect(t.r.settled).toBe(true);
    await t.r.done;
    // The start answered is the first one: its primary died before it ran the app.
    expect(await t.r.started).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the primary exited \(exit code 1\) before the start was done/),
    });
  });

  it("counts a primary's failed starts in a row, and starts over once one ran stableAfter", async () => {
    const t = up({ app: resolvedApp({ restart: { ...resolvedApp().restart, maxRestarts: 2 } }) });
    const crash = (runFor: number) => {
      vi.advanceTimersByTime(runFor);
      t.last().exit(1);
      vi.runOnlyPendingTimers();
      t.last().hello();
    };
    // Two failed starts, then a primary that runs 10 s (stableAfter): its exit starts the count over, so
    // two more failures are allowed; the third in a row errors. A SIGKILL of a primary counts too.
    crash(50);
    crash(50);
    crash(10_000);
    crash(9_999);
    vi.advanceTimersByTime(50);
    t.last().exit(null, 'SIGKILL');
    expect(t.r.state).toBe('backoff');
    vi.runOnlyPendingTimers();
    t.last().hello();
    vi.advanceTimersByTime(50);
    t.last().exit(1);
    expect(t.r.state).toBe('errored');
    expect(t.primaries).toHaveLength(6);
    await t.r.done;
    expect(await t.r.started).toMatchObject({ ok: false });
    expect(t.events.find((e) => e.to === 'errored')).toMatchObject({
      reason: 'exit code 1; 3 failed starts in a row (restart.maxRestarts 2)',
    });
  });

  it('stops at once while the primary waits for its restart', async () => {
    const t = up();
    t.last().exit(1);
    await t.r.stop();
    expect(t.r.state).toBe('stopped');
    vi.advanceTimersByTime(60_000);
    expect(t.primaries).toHaveLength(1);
  });

  it('answers the start when the app is stopped while its first primary waits for a restart', async () => {
    const t = runner();
    t.last().exit(1);
    await t.r.stop();
    // Before, it was never answered: a `clusterd restart` waiting on it hung until its timeout.
    expect(await t.r.started).toEqual({
      ok: false,
      code: 'CLUSTERD_ERR_APP_STOPPING',
      reason: 'the app stopped',
    });
  });

  it('tells a primary to stop once it says hello, and refuses what was held for it', async () => {
    const t = runner();
    const reload = t.r.reload();
    const stopped = t.r.stop();
    expect(await reload).toEqual({
      ok: false,
      code: 'CLUSTERD_ERR_APP_STOPPING',
      reason: 'the app is stopping',
    });
    t.last().hello();
    expect(t.last().requests()).toEqual([[2, 'stop']]);
    t.last().report({ type: 'bye' });
    t.last().exit(0);
    await stopped;
    expect(t.r.state).toBe('stopped');
  });

  it('keeps settings a config reload brings while the primary restarts, for its next start', async () => {
    const t = up();
    t.last().exit(1);
    expect(t.r.primary.state).toBe('backoff');
    expect(await t.r.update(resolvedApp({ instances: 5, env: { A: '1' } }), true)).toEqual([]);
    vi.advanceTimersByTime(100);
    t.last().hello();
    expect(t.last().sent[0]?.request).toMatchObject({ op: 'start', app: { instances: 5, env: { A: '1' } } });
  });

  it('answers the start once the app runs, even when its first primary died on the way', async () => {
    const t = up();
    t.last().exit(null, 'SIGKILL');
    vi.advanceTimersByTime(100);
    t.last().hello();
    const [start] = t.last().sent;
    t.last().reply(start?.id ?? 0, { ok: true, result: { instances: 2 } });
    expect(await t.r.started).toEqual({ ok: true, result: { instances: 2 } });
  });

  it('keeps the old worker of a slot in view when its successor failed (a rolled-back reload)', () => {
    const t = up();
    const report = (pid: number, from: WorkerState | null, to: WorkerState) =>
      t.last().report({ type: 'worker', transition: { worker: 0, pid, from, to } });
    report(21, null, 'starting');
    report(21, 'starting', 'ready');
    report(22, null, 'starting');
    expect(t.r.workers.list().map((w) => [w.pid, w.state])).toEqual([
      [21, 'ready'],
      [22, 'starting'],
    ]);
    report(22, 'starting', 'crashed');
    expect(t.r.workers.list().map((w) => [w.slot, w.pid, w.state])).toEqual([[0, 21, 'ready']]);
    // And a primary that dies takes it down with it: it is still known to be alive.
    t.last().exit(1);
    expect(t.killed).toEqual([21]);
  });

  it('takes a primary that cannot be forked for a failed start, restarted by the policy', () => {
    const t = runner({ spawnErrors: [new Error('spawn EAGAIN')] });
    expect(t.primaries).toHaveLength(0);
    expect(t.r.state).toBe('backoff');
    vi.advanceTimersByTime(100);
    expect(t.primaries).toHaveLength(1);
  });
});

describe('a hung primary', () => {
  const watched = () => resolvedApp({ primary: { hangTimeout: 3_000 } });

  it('is SIGKILLed once it leaves pings unanswered for primary.hangTimeout, and restarted', async () => {
    const hangs: string[] = [];
    const { fx, primaries, killed } = fakeEffects();
    const { log, events } = memoryLog();
    const r = new AppRunner(watched(), log, 'json', fx, {
      report: () => {},
      primaryRestarted: () => {},
      primaryHung: (app) => void hangs.push(app),
    });
    r.start();
    const first = primaries[0] as FakePrimary;
    first.hello();
    first.report({ type: 'worker', transition: { worker: 0, pid: 777, from: null, to: 'starting' } });
    const pings = () => first.requests().filter(([, op]) => op === 'ping');
    // Answered: a ping a second.
    vi.advanceTimersByTime(1_000);
    expect(pings()).toHaveLength(1);
    first.reply(pings()[0]?.[0] ?? 0, { ok: true, result: {} });
    await vi.advanceTimersByTimeAsync(0);
    // Its loop stops: the ping sent at 2 s is never answered. The health server's ping meanwhile
    // shares it rather than sending another.
    vi.advanceTimersByTime(1_000);
    expect(pings()).toHaveLength(2);
    const livez = r.ping();
    expect(pings()).toHaveLength(2);
    vi.advanceTimersByTime(2_999);
    expect(first.signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(first.signals).toEqual(['SIGKILL']);
    expect(hangs).toEqual(['web']);
    expect(events.find((e) => e.code === 'CLUSTERD_ERR_PRIMARY_HUNG')).toMatchObject({
      level: 50,
      app: 'web',
    });
    first.exit(null, 'SIGKILL');
    expect(await livez).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the primary exited \(hung/),
    });
    // Its workers do not outlive it.
    expect(killed).toEqual([777]);
    expect(r.state).toBe('backoff');
    vi.advanceTimersByTime(100);
    expect(primaries).toHaveLength(2);
  });

  it('is not watched without primary.hangTimeout', () => {
    const t = up();
    vi.advanceTimersByTime(60_000);
    expect(t.last().requests()).toEqual([[1, 'start']]);
  });
});

describe('fault isolation', () => {
  it('contains a throw in a handler: an internal error with its code, and that primary restarted', () => {
    const t = up({ failOn: /^worker ready/ });
    t.last().report({ type: 'worker', transition: { worker: 0, pid: 9, from: 'starting', to: 'ready' } });
    const fault = t.events.find((e) => e.code === 'CLUSTERD_ERR_INTERNAL');
    expect(fault).toMatchObject({
      app: 'web',
      level: 50,
      msg: expect.stringMatching(
        /^internal error in a message from its primary for app web: cannot log worker ready/,
      ),
    });
    expect(t.last().signals).toEqual(['SIGKILL']);
    t.last().exit(null, 'SIGKILL');
    vi.advanceTimersByTime(100);
    expect(t.primaries).toHaveLength(2);
  });

  it("gives up on the app (errored) when the fault is in handling its primary's exit", async () => {
    const t = up({ failOn: /^primary exited unexpectedly/ });
    const reload = t.r.reload();
    t.last().exit(1);
    expect(t.r.state).toBe('errored');
    expect(t.r.settled).toBe(true);
    expect((await reload).ok).toBe(false);
    await t.r.done;
    vi.advanceTimersByTime(60_000);
    expect(t.primaries).toHaveLength(1);
    expect(t.events.find((e) => e.code === 'CLUSTERD_ERR_INTERNAL')?.msg).toMatch(
      /^internal error in the exit of its primary for app web: cannot log primary exited unexpectedly .*; giving up on it$/,
    );
  });

  it('restarts only the faulty app: the other app keeps its primary and its answers', async () => {
    const { fx, primaries } = fakeEffects();
    const { log, events } = memoryLog(/^worker ready$/);
    const config: ResolvedConfig = {
      file: '/srv/cluster.config.json',
      environment: null,
      apps: [resolvedApp({ name: 'bad' }), resolvedApp({ name: 'good' })],
      health: null,
    };
    const supervisor = new Supervisor(config, log, 'json', { effects: fx });
    const finished = supervisor.run();
    const [bad, good] = primaries as [FakePrimary, FakePrimary];
    bad.hello();
    good.hello();
    // A report only `bad` makes trips the faulty handler (the good one reports its address).
    bad.report({ type: 'worker', transition: { worker: 0, pid: 11, from: 'starting', to: 'ready' } });
    good.report({
      type: 'worker',
      transition: { worker: 0, pid: 12, from: 'starting', to: 'ready', address: '127.0.0.1:80' },
    });
    expect(bad.signals).toEqual(['SIGKILL']);
    expect(good.signals).toEqual([]);
    expect(events.filter((e) => e.code === 'CLUSTERD_ERR_INTERNAL').map((e) => e.app)).toEqual(['bad']);
    const reload = supervisor.reloadApps('good');
    good.reply(2, { ok: true, result: { replaced: 2, ms: 1 } });
    expect(await reload).toEqual([{ app: 'good', ok: true, result: { replaced: 2, ms: 1 } }]);
    // Shut down: both primaries stop.
    supervisor.stop();
    bad.exit(null, 'SIGKILL');
    good.report({ type: 'bye' });
    good.exit(0);
    // The supervisor ends on the next turn of the loop, after the answers under way.
    await vi.advanceTimersByTimeAsync(1);
    expect(await finished).toBe(0);
  });
});

describe('supervisor commands over fake primaries', () => {
  const config = (names: string[]): ResolvedConfig => ({
    file: '/srv/cluster.config.json',
    environment: null,
    apps: names.map((name) => resolvedApp({ name })),
    health: null,
  });

  it('emits ready once every first start is answered, reloading/reloaded around a reload of all, stopping', async () => {
    const { fx, primaries } = fakeEffects();
    const supervisor = new Supervisor(config(['web', 'jobs']), memoryLog().log, 'json', { effects: fx });
    const seen: unknown[][] = [];
    for (const event of ['ready', 'reloading', 'reloaded', 'stopping'] as const)
      supervisor.lifecycle.on(event, (...args: unknown[]) => void seen.push([event, ...args]));
    const finished = supervisor.run();
    const [web, jobs] = primaries as [FakePrimary, FakePrimary];
    web.hello();
    jobs.hello();
    web.reply(1, { ok: true, result: { instances: 2 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([]);
    jobs.reply(1, { ok: false, code: 'CLUSTERD_ERR_START_FAILED', reason: 'the app is errored' });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([
      [
        'ready',
        {
          failed: [
            { app: 'jobs', ok: false, code: 'CLUSTERD_ERR_START_FAILED', reason: 'the app is errored' },
          ],
        },
      ],
    ]);
    supervisor.reload();
    expect(seen.at(-1)).toEqual(['reloading', 'apps']);
    web.reply(2, { ok: true, result: { replaced: 2, ms: 1 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toHaveLength(2);
    jobs.reply(2, { ok: true, result: { replaced: 1, ms: 1 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.at(-1)).toEqual(['reloaded', 'apps']);
    supervisor.stop();
    supervisor.kill();
    expect(seen.slice(3)).toEqual([['stopping', 'graceful']]);
    for (const p of [web, jobs]) {
      p.report({ type: 'bye' });
      p.exit(0);
    }
    await vi.advanceTimersByTimeAsync(1);
    await finished;
  });

  it('a listener that throws is logged, and the supervisor goes on', async () => {
    const { fx, primaries } = fakeEffects();
    const { log, events } = memoryLog();
    const supervisor = new Supervisor(config(['web']), log, 'json', { effects: fx });
    supervisor.lifecycle.on('stopping', () => {
      throw new Error('listener bug');
    });
    const finished = supervisor.run();
    const [web] = primaries as [FakePrimary];
    web.hello();
    supervisor.stop();
    expect(events.some((e) => e.code === 'CLUSTERD_ERR_INTERNAL' && /listener bug/.test(String(e.msg)))).toBe(
      true,
    );
    web.report({ type: 'bye' });
    web.exit(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await finished).toBe(0);
  });

  it('does not start an app again when the supervisor stops during its restart', async () => {
    const { fx, primaries } = fakeEffects();
    const supervisor = new Supervisor(config(['web']), memoryLog().log, 'json', { effects: fx });
    const finished = supervisor.run();
    const [old] = primaries as [FakePrimary];
    old.hello();
    const restart = supervisor.restartApps('web');
    supervisor.stop();
    old.report({ type: 'bye' });
    old.exit(0);
    expect(await restart).toEqual([
      { app: 'web', ok: false, code: 'CLUSTERD_ERR_APP_STOPPING', reason: 'the supervisor is stopping' },
    ]);
    expect(primaries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await finished).toBe(0);
  });

  // Found by the soak benchmark (bench/soak.ts --snapshots): every restart left a RecentOutput in the
  // root's heap, because run() kept the first runners for the root's life and each runner's output
  // points to its successor's (recent-output.ts), so the first one held every one since.
  it('forgets the runners a restart replaced, and their recent output', async () => {
    const { fx, primaries } = fakeEffects();
    const supervisor = new Supervisor(config(['web']), memoryLog().log, 'json', { effects: fx });
    void supervisor.run();
    // In a function of its own, so that nothing of the restarts stays on this test's stack.
    const restarts = async () => {
      const replaced: WeakRef<object>[] = [];
      for (let i = 0; i < 3; i++) {
        const old = primaries.at(-1) as FakePrimary;
        old.hello();
        if (i === 0) old.reply(1, { ok: true, result: { instances: 1 } });
        const runner = supervisor.runner('web') as AppRunner;
        replaced.push(new WeakRef(runner), new WeakRef(runner.output));
        const restart = supervisor.restartApps('web');
        old.report({ type: 'bye' });
        old.exit(0);
        // The fake keeps its handlers (the runner's): gone with the process, as a real one's are.
        primaries.splice(primaries.indexOf(old), 1);
        await vi.advanceTimersByTimeAsync(0);
        const next = primaries.at(-1) as FakePrimary;
        next.hello();
        next.reply(1, { ok: true, result: { instances: 1 } });
        expect(await restart).toEqual([{ app: 'web', ok: true, result: { instances: 1 } }]);
      }
      return replaced;
    };
    const replaced = await restarts();
    expect(primaries).toHaveLength(1);
    vi.useRealTimers();
    await new Promise((resolve) => setImmediate(resolve));
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    expect(replaced.map((ref) => ref.deref()?.constructor.name ?? null)).toEqual(replaced.map(() => null));
    // The app's output still reaches `clusterd logs` through the runner of now.
    (supervisor.runner('web') as AppRunner).output.add(Buffer.from('still here\n'));
    expect((supervisor.runner('web') as AppRunner).output.lines(1)).toEqual(['still here']);
  });

  it('leaves an app stopped by command out of a reload of every app', async () => {
    const { fx, primaries } = fakeEffects();
    const supervisor = new Supervisor(config(['web', 'jobs']), memoryLog().log, 'json', { effects: fx });
    void supervisor.run();
    const [web, jobs] = primaries as [FakePrimary, FakePrimary];
    web.hello();
    jobs.hello();
    const stopped = supervisor.stopApps('jobs');
    jobs.report({ type: 'bye' });
    jobs.exit(0);
    await stopped;
    const reload = supervisor.reloadApps();
    web.reply(2, { ok: true, result: { replaced: 2, ms: 3 } });
    expect(await reload).toEqual([{ app: 'web', ok: true, result: { replaced: 2, ms: 3 } }]);
    // Named, it says why it cannot.
    expect(await supervisor.reloadApps('jobs')).toEqual([
      { app: 'jobs', ok: false, code: 'CLUSTERD_ERR_APP_ENDED', reason: 'the app is stopped' },
    ]);
  });
});

describe('shutdown.delay', () => {
  const delayed = (name: string, delay: number) =>
    resolvedApp({ name, shutdown: { signal: 'SIGTERM', timeout: 1_000, delay, spread: 0 } });
  const config = (...apps: ReturnType<typeof resolvedApp>[]): ResolvedConfig => ({
    file: '/srv/cluster.config.json',
    environment: null,
    apps,
    health: null,
  });
  const stops = (p: FakePrimary) => p.requests().filter(([, op]) => op === 'stop').length;

  it('keeps each app serving, unready, for its delay before it is told to stop', async () => {
    const { fx, primaries } = fakeEffects();
    const { log, events } = memoryLog();
    const supervisor = new Supervisor(config(delayed('web', 3_000), delayed('jobs', 0)), log, 'json', {
      effects: fx,
    });
    const finished = supervisor.run();
    const [web, jobs] = primaries as [FakePrimary, FakePrimary];
    web.hello();
    jobs.hello();
    expect(supervisor.stopping).toBe(false);
    supervisor.stop('SIGTERM');
    expect(supervisor.stopping).toBe(true);
    // The app without a delay drains at once; the other one not before its delay.
    expect(stops(jobs)).toBe(1);
    expect(stops(web)).toBe(0);
    expect(events.find((e) => e.delayed)?.msg).toBe(
      'unready; serving on before the drain (shutdown.delay): web 3000 ms',
    );
    // A reload of every app is refused meanwhile; a config reload too.
    supervisor.reload();
    expect(web.requests().map(([, op]) => op)).toEqual(['start']);
    vi.advanceTimersByTime(2_999);
    expect(stops(web)).toBe(0);
    vi.advanceTimersByTime(1);
    expect(stops(web)).toBe(1);
    for (const p of [web, jobs]) {
      p.report({ type: 'bye' });
      p.exit(0);
    }
    await vi.advanceTimersByTimeAsync(1);
    expect(await finished).toBe(0);
  });

  it('ends at once on a second signal during the delay: no drain waits for it', async () => {
    const { fx, primaries } = fakeEffects();
    const supervisor = new Supervisor(config(delayed('web', 60_000)), memoryLog().log, 'json', {
      effects: fx,
    });
    const finished = supervisor.run();
    const [web] = primaries as [FakePrimary];
    web.hello();
    supervisor.stop('SIGTERM');
    supervisor.kill('SIGTERM');
    expect(web.requests().map(([, op]) => op)).toEqual(['start', 'stop', 'kill']);
    web.exit(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await finished).toBe(128 + 15);
    // The delay's timer is gone with it: no stop is sent later.
    vi.advanceTimersByTime(120_000);
    expect(stops(web)).toBe(1);
  });
});
