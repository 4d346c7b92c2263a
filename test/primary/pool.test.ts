// The pool's lifecycles with fake workers and fake time: starts, restarts, the crash-loop limit, rolling
// reloads (coalesced, rolled back, parallel with faults), scaling and stopping. The real processes are
// proven by the integration tests; these prove every decision, including the interleavings a process
// test can only hit by luck.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../../src/protocol.js';
import { advance, fakePool, reloadSettings, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

// A pool whose `instances` workers are all ready.
function running(app = resolvedApp()) {
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  expect(t.pool.appState).toBe('running');
  return t;
}

const ok = (outcome: Outcome | undefined) => {
  expect(outcome?.ok, JSON.stringify(outcome)).toBe(true);
  return (outcome as { result: unknown }).result;
};
const failed = (outcome: Outcome | undefined) => {
  expect(outcome?.ok, JSON.stringify(outcome)).toBe(false);
  return (outcome as { reason: string }).reason;
};

describe('pool: start and restarts', () => {
  it('answers the start once every slot serves', () => {
    const t = fakePool();
    t.pool.start(t.reply());
    expect(t.forks.map((w) => w.slot)).toEqual([0, 1]);
    t.forks[0]?.ready();
    expect(t.replies).toEqual([]);
    t.forks[1]?.ready();
    expect(t.replies).toEqual([{ ok: true, result: { instances: 2 } }]);
    expect(t.appStates()).toEqual(['running']);
    expect(t.slotStates(0)).toEqual(['serving']);
  });

  it('restarts a crashed worker after its backoff, and the app is backoff until the slot serves again', () => {
    const t = running();
    const [first] = t.forks;
    first?.exit(1, null, 'Error: boom');
    expect(t.workerStates(first?.pid ?? 0)).toEqual(['starting', 'ready', 'crashed']);
    const crash = t.sent.find((m) => m.type === 'worker' && m.transition.to === 'crashed');
    expect(crash).toMatchObject({ transition: { reason: 'exit code 1: Error: boom', code: 1 } });
    expect(t.pool.appState).toBe('backoff');
    expect(t.slotStates(0)).toEqual(['serving', 'backoff']);
    advance(99);
    expect(t.forks).toHaveLength(2);
    advance(1);
    expect(t.forks).toHaveLength(3);
    expect(t.slotStates(0)).toEqual(['serving', 'backoff', 'restarting']);
    // On its way up the slot still does not serve: the app is not running yet.
    expect(t.pool.appState).toBe('backoff');
    t.forks[2]?.ready();
    expect(t.pool.appState).toBe('running');
    expect(t.appStates()).toEqual(['running', 'backoff', 'running']);
  });

  it('errors the app at the crash-loop limit, and keeps the workers that still serve', () => {
    const t = running(resolvedApp({ restart: { ...resolvedApp().restart, maxRestarts: 2 } }));
    for (let i = 0; i < 3; i++) {
      const victim = t.workersOf(0).at(-1);
      victim?.exit(1);
      advance(1_000);
    }
    expect(t.pool.appState).toBe('errored');
    const errored = t.sent.find((m) => m.type === 'app' && m.to === 'errored');
    expect(errored).toMatchObject({
      reason: 'exit code 1; 3 failed starts in a row (restart.maxRestarts 2)',
    });
    expect(errored && 'lastExits' in errored ? errored.lastExits : []).toHaveLength(3);
    expect(t.slotStates(0).at(-1)).toBe('finished');
    // Slot 1 still serves; nothing is restarted any more.
    const forks = t.forks.length;
    advance(60_000);
    expect(t.forks).toHaveLength(forks);
    expect(t.workersOf(1)).toHaveLength(1);
  });

  it('fails the start when the app errors before it ever ran', () => {
    const t = fakePool(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 1 } }));
    t.pool.start(t.reply());
    t.forks[0]?.exit(1, null, 'Error: boom at boot');
    advance(100);
    t.forks[1]?.exit(1, null, 'Error: boom at boot');
    expect(failed(t.replies[0])).toBe(
      'the app is errored: exit code 1: Error: boom at boot; 2 failed starts in a row (restart.maxRestarts 1)',
    );
  });

  it('counts failed starts per slot, in a row: failures of different slots do not add up', () => {
    const t = running(resolvedApp({ restart: { ...resolvedApp().restart, maxRestarts: 2 } }));
    // Two failures in each slot, interleaved: six crashes within a second, none past its slot's limit.
    for (let i = 0; i < 2; i++) {
      for (const slot of [0, 1]) {
        t.workersOf(slot).at(-1)?.exit(1);
        advance(1_000);
      }
    }
    expect(t.pool.appState).toBe('backoff');
    const backoffs = t.sent.flatMap((m) => (m.type === 'backoff' ? [[m.worker, m.failedStarts]] : []));
    expect(backoffs).toEqual([
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 2],
    ]);
    // The third in a row of slot 0 is one too many.
    t.workersOf(0).at(-1)?.exit(1);
    expect(t.pool.appState).toBe('errored');
  });

  it("starts a slot's count over once its worker stayed up stableAfter", () => {
    const t = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 2 } }));
    const fail = (times: number) => {
      for (let i = 0; i < times; i++) {
        t.workersOf(0).at(-1)?.exit(1);
        advance(1_000);
      }
    };
    fail(2);
    // The third start serves 10 s (stableAfter), then crashes: a good start, not a third failure.
    t.workersOf(0).at(-1)?.ready();
    advance(10_000);
    fail(1);
    expect(t.pool.appState).toBe('backoff');
    fail(2);
    expect(t.pool.appState).toBe('backoff');
    fail(1);
    expect(t.pool.appState).toBe('errored');
    // 9.999 s would not have been enough: the same story, one ms short, errors one crash earlier.
    const u = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 2 } }));
    u.workersOf(0).at(-1)?.exit(1);
    advance(100);
    u.workersOf(0).at(-1)?.exit(1);
    advance(200);
    u.workersOf(0).at(-1)?.ready();
    advance(9_999);
    u.workersOf(0).at(-1)?.exit(1);
    expect(u.pool.appState).toBe('errored');
  });

  it('counts a readiness timeout as a failed start', () => {
    const t = fakePool(
      resolvedApp({
        instances: 1,
        readyTimeout: 5_000,
        restart: { ...resolvedApp().restart, maxRestarts: 1 },
      }),
    );
    t.pool.start(t.reply());
    for (let i = 0; i < 2; i++) {
      const worker = t.workersOf(0).at(-1);
      advance(5_000);
      expect(worker?.drained).toBe(true);
      advance(120);
      worker?.exit(null, 'SIGTERM');
      advance(100);
    }
    expect(t.pool.appState).toBe('errored');
    expect(failed(t.replies[0])).toMatch(
      /^the app is errored: not ready within 5s \(readiness: listening\): it never listened on a port; .*; stopped with SIGTERM after 120ms; 2 failed starts in a row \(restart\.maxRestarts 1\)$/,
    );
  });

  it('restarts a serving worker SIGKILLed from outside at once, however often, without counting it', () => {
    const t = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 1 } }));
    for (let i = 0; i < 15; i++) {
      t.workersOf(0).at(-1)?.exit(null, 'SIGKILL');
      expect(t.slotStates(0).at(-1)).toBe('backoff');
      advance(0);
      t.workersOf(0).at(-1)?.ready();
      expect(t.pool.appState).toBe('running');
    }
    const backoffs = t.sent.filter((m) => m.type === 'backoff');
    expect(backoffs).toHaveLength(15);
    for (const b of backoffs) expect(b).toMatchObject({ delay: 0, failedStarts: 0 });
    // Its own crashes still count: two in a row are past maxRestarts 1.
    t.workersOf(0).at(-1)?.exit(1);
    advance(100);
    t.workersOf(0).at(-1)?.exit(1);
    expect(t.pool.appState).toBe('errored');
  });

  it('stops a worker not ready within readyTimeout (drain, not SIGKILL), and says why', () => {
    const t = fakePool(resolvedApp({ instances: 1 }));
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(4_999);
    expect(worker?.drained).toBe(false);
    advance(1);
    expect(worker).toMatchObject({ drained: true, killed: false });
    advance(40);
    worker?.exit(null, 'SIGTERM');
    const crash = t.sent.find((m) => m.type === 'worker' && m.transition.to === 'crashed');
    expect(crash).toMatchObject({
      transition: {
        from: 'draining',
        reason: expect.stringMatching(
          /^not ready within 5s \(readiness: listening\): it never listened on a port; .*needs readiness "loaded"; stopped with SIGTERM after 40ms$/,
        ),
      },
    });
  });

  it('takes a fork that throws for a failed start of that slot, restarted by the policy', () => {
    const t = fakePool(resolvedApp({ instances: 2 }));
    t.failNextFork(Object.assign(new Error('spawn E2BIG'), { code: 'E2BIG' }));
    t.pool.start(t.reply());
    expect(t.forks).toHaveLength(1);
    advance(0);
    const crash = t.sent.find((m) => m.type === 'worker' && m.transition.to === 'crashed');
    expect(crash).toMatchObject({
      transition: { worker: 0, pid: null, reason: 'could not start: spawn E2BIG' },
    });
    expect(t.slotStates(0)).toEqual(['backoff']);
    advance(100);
    expect(t.forks.map((w) => w.slot)).toEqual([1, 0]);
    for (const w of t.forks) w.ready();
    expect(ok(t.replies[0])).toEqual({ instances: 2 });
  });

  it('does not restart a clean exit under on-failure; with every slot finished the app is stopped', async () => {
    const t = running();
    for (const w of [...t.forks]) w.exit(0);
    expect(t.slotStates(0).at(-1)).toBe('finished');
    expect(t.pool.appState).toBe('stopped');
    await t.pool.done;
  });
});

describe('pool: rolling reloads', () => {
  it('replaces each worker only once its successor is ready', () => {
    const t = running();
    const [old0, old1] = t.forks;
    t.pool.reload(resolvedApp({ env: { V: '2' } }), t.reply());
    expect(t.forks).toHaveLength(3);
    expect(t.forks[2]?.app.env).toEqual({ V: '2' });
    expect(old0?.drained).toBe(false);
    t.forks[2]?.ready();
    expect(old0?.drained).toBe(true);
    expect(old1?.drained).toBe(false);
    expect(t.forks).toHaveLength(4);
    t.forks[3]?.ready();
    expect(old1?.drained).toBe(true);
    expect(ok(t.replies.at(-1))).toEqual({ replaced: 2, ms: 0 });
    expect(t.slotStates(0)).toEqual(['serving', 'replacing', 'serving']);
    // It never stopped running.
    expect(t.appStates()).toEqual(['running']);
  });

  it('queues requests made during a reload into one next reload, where the latest settings win', () => {
    const t = running(resolvedApp({ instances: 1 }));
    const first: Outcome[] = [];
    const later: Outcome[] = [];
    t.pool.reload(resolvedApp({ instances: 1, env: { V: '1' } }), t.reply(first));
    t.pool.reload(resolvedApp({ instances: 1, env: { V: '2' } }), t.reply(later));
    // A watched file (no settings of its own) keeps what the queued requests brought.
    t.pool.reload(null, t.reply(later));
    t.pool.reload(resolvedApp({ instances: 1, env: { V: '3' } }), t.reply(later));
    t.pool.reload(null, t.reply(later));
    expect(t.forks).toHaveLength(2);
    t.forks[1]?.ready();
    // The first is answered by its own run, never with a result of a run it did not see start.
    expect(first).toHaveLength(1);
    expect(later).toEqual([]);
    expect(t.forks).toHaveLength(3);
    expect(t.forks[2]?.app.env).toEqual({ V: '3' });
    advance(40);
    t.forks[2]?.ready();
    expect(later).toHaveLength(4);
    for (const outcome of later) expect(ok(outcome)).toEqual({ replaced: 1, ms: 40 });
    expect(t.reloads().map((m) => m.phase)).toEqual(['started', 'done', 'started', 'done']);
  });

  it('rolls back when a successor dies before it is ready: the old workers keep serving', () => {
    const t = running();
    const [old0, old1] = t.forks;
    t.pool.reload(resolvedApp({ env: { V: '2' } }), t.reply());
    t.forks[2]?.exit(1, null, 'Error: boom at boot');
    expect(failed(t.replies.at(-1))).toBe('worker 0 did not get ready: exit code 1: Error: boom at boot');
    expect(old0?.drained || old1?.drained).toBe(false);
    expect(t.forks).toHaveLength(3);
    expect(t.slotStates(0)).toEqual(['serving', 'replacing', 'serving']);
    expect(t.appStates()).toEqual(['running']);
    // The failed successor is not a restart of the app.
    advance(60_000);
    expect(t.forks).toHaveLength(3);
  });

  it('fails the reload when a successor fork throws, and keeps the old workers', () => {
    const t = running();
    t.failNextFork(new Error('spawn E2BIG'));
    t.pool.reload(resolvedApp({ env: { BIG: 'x' } }), t.reply());
    advance(0);
    expect(failed(t.replies.at(-1))).toBe('worker 0 did not get ready: could not start: spawn E2BIG');
    expect(t.forks.every((w) => !w.drained)).toBe(true);
    expect(t.pool.appState).toBe('running');
  });

  it('with parallel > 1, rolls back when a ready successor crashes while its group-mates still start', () => {
    const t = running(
      resolvedApp({ instances: 2, reload: reloadSettings({ parallel: 2, order: 'start-first' }) }),
    );
    const [old0, old1] = t.forks;
    t.pool.reload(
      resolvedApp({ instances: 2, reload: reloadSettings({ parallel: 2, order: 'start-first' }) }),
      t.reply(),
    );
    const [next0, next1] = t.forks.slice(2);
    next0?.ready();
    next0?.exit(1, null, 'Error: late crash');
    expect(failed(t.replies.at(-1))).toBe(
      'worker 0 crashed after it was ready: exit code 1: Error: late crash',
    );
    // The healthy old workers were never drained; the other successor is.
    expect(old0?.drained).toBe(false);
    expect(old1?.drained).toBe(false);
    expect(next1?.drained).toBe(true);
    expect(t.pool.appState).toBe('running');
    expect(t.appStates()).toEqual(['running']);
  });

  it('with parallel > 1, a successor that took over a dead slot and then crashes: the slot restarts, the app is not running until served again', () => {
    const t = running(
      resolvedApp({ instances: 2, reload: reloadSettings({ parallel: 2, order: 'start-first' }) }),
    );
    const [old0] = t.forks;
    t.pool.reload(
      resolvedApp({ instances: 2, reload: reloadSettings({ parallel: 2, order: 'start-first' }) }),
      t.reply(),
    );
    const [next0, next1] = t.forks.slice(2);
    // The old worker of slot 0 dies: its successor takes the slot over.
    old0?.exit(1, null, 'Error: old one died');
    expect(t.slotStates(0)).toEqual(['serving', 'replacing', 'restarting']);
    expect(t.pool.appState).toBe('backoff');
    next0?.ready();
    expect(t.pool.appState).toBe('running');
    // Ready, then it crashes while slot 1's successor still starts.
    next0?.exit(1, null, 'Error: late crash');
    expect(failed(t.replies.at(-1))).toBe(
      'worker 0 crashed after it was ready: exit code 1: Error: late crash',
    );
    expect(t.slotStates(0).slice(-2)).toEqual(['serving', 'backoff']);
    expect(t.pool.appState).toBe('backoff');
    expect(next1?.drained).toBe(true);
    advance(100);
    t.forks.at(-1)?.ready();
    expect(t.pool.appState).toBe('running');
    expect(t.appStates()).toEqual(['running', 'backoff', 'running', 'backoff', 'running']);
  });

  it('restarts a slot waiting for its backoff at once, on the new settings', () => {
    const t = running(
      resolvedApp({
        restart: { ...resolvedApp().restart, backoff: { initial: 60_000, factor: 1, max: 60_000 } },
      }),
    );
    t.forks[0]?.exit(1);
    expect(t.slotStates(0).at(-1)).toBe('backoff');
    t.pool.reload(resolvedApp({ env: { V: '2' } }), t.reply());
    expect(t.slotStates(0).at(-1)).toBe('restarting');
    expect(t.forks[2]?.app.env).toEqual({ V: '2' });
    t.forks[2]?.ready();
    t.forks[3]?.ready();
    expect(ok(t.replies.at(-1))).toEqual({ replaced: 2, ms: 0 });
    // The cancelled backoff does not fire later.
    advance(60_000);
    expect(t.forks).toHaveLength(4);
  });

  it('gives an errored app a fresh start and a new restart budget: its finished slots start first', () => {
    // Two slots: one crash-loops to errored, the other still serves (so the primary is still there).
    const t = running(resolvedApp({ instances: 2, restart: { ...resolvedApp().restart, maxRestarts: 0 } }));
    t.forks[0]?.exit(1);
    expect(t.pool.appState).toBe('errored');
    t.pool.reload(resolvedApp({ instances: 2 }), t.reply());
    // The finished slot serves nothing: it starts at once; the app starts until it serves.
    expect(t.slotStates(0)).toEqual(['serving', 'finished', 'starting']);
    expect(t.pool.appState).toBe('starting');
    expect(t.forks.map((w) => w.slot)).toEqual([0, 1, 0]);
    t.forks[2]?.ready();
    expect(t.pool.appState).toBe('running');
    // Then slot 1 is rolled as usual.
    t.forks[3]?.ready();
    expect(ok(t.replies.at(-1))).toEqual({ replaced: 2, ms: 0 });
    expect(t.appStates()).toEqual(['running', 'errored', 'starting', 'running']);
    // The new budget: one crash restarts again instead of erroring at once.
    t.forks[2]?.exit(1);
    expect(t.pool.appState).toBe('backoff');
  });

  it('restarts a slot finished by a clean exit without calling the app anything but running', () => {
    const t = running();
    t.forks[1]?.exit(0);
    expect(t.slotStates(1).at(-1)).toBe('finished');
    t.pool.reload(null, t.reply());
    expect(t.slotStates(1).at(-1)).toBe('starting');
    for (let i = 0; i < 3; i++) t.forks.at(-1)?.ready();
    expect(ok(t.replies.at(-1))).toEqual({ replaced: 2, ms: 0 });
    expect(t.appStates()).toEqual(['running']);
  });

  it('gives a fresh budget at the end of a reload during which the app errored', () => {
    const app = resolvedApp({ instances: 2, restart: { ...resolvedApp().restart, maxRestarts: 1 } });
    const t = running(app);
    t.pool.reload(app, t.reply());
    // While slot 0's successor starts, slot 1's old worker crash-loops the app to errored.
    t.forks[1]?.exit(1);
    advance(100);
    t.forks[3]?.exit(1);
    expect(t.pool.appState).toBe('errored');
    expect(t.slotStates(1).at(-1)).toBe('finished');
    t.forks[2]?.ready();
    // Slot 1 (finished) starts again in the reload's next group.
    expect(t.slotStates(1).at(-1)).toBe('starting');
    t.forks[4]?.ready();
    expect(ok(t.replies.at(-1))).toEqual({ replaced: 2, ms: 100 });
    expect(t.pool.appState).toBe('running');
    // Every slot runs the new version: a crash is restarted again, not left finished as in an errored app.
    t.forks[4]?.exit(1);
    expect(t.pool.appState).toBe('backoff');
  });

  it('refuses a reload once an errored app has no worker left: the primary is on its way out', async () => {
    const t = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 0 } }));
    t.forks[0]?.exit(1);
    await t.pool.done;
    t.pool.reload(null, t.reply());
    t.pool.scale(2, t.reply());
    expect(t.replies.slice(-2).map(failed)).toEqual([
      'the app has ended (errored: exit code 1; 1 failed start in a row (restart.maxRestarts 0))',
      expect.stringMatching(/^the app has ended \(errored/),
    ]);
    expect(t.forks).toHaveLength(1);
  });

  it('does not end an errored pool while a queued reload will start it again', async () => {
    const t = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 0 } }));
    let done = false;
    void t.pool.done.then(() => {
      done = true;
    });
    const first: Outcome[] = [];
    const queued: Outcome[] = [];
    t.pool.reload(null, t.reply(first));
    t.pool.reload(null, t.reply(queued));
    // The successor takes over when the old worker dies, then dies itself: the app errors with no worker.
    t.forks[0]?.exit(1);
    t.forks[1]?.exit(1);
    expect(failed(first[0])).toMatch(/^worker 0 did not get ready/);
    // The queued reload starts the app again, and the pool is not done.
    expect(t.forks).toHaveLength(3);
    t.forks[2]?.ready();
    expect(ok(queued[0])).toEqual({ replaced: 1, ms: 0 });
    await Promise.resolve();
    expect(done).toBe(false);
    expect(t.pool.appState).toBe('running');
  });
});

describe('pool: scaling and stopping', () => {
  it('scales up after the reloads in progress and queued, and answers once the new workers serve', () => {
    const t = running();
    const scaled: Outcome[] = [];
    t.pool.reload(null, t.reply());
    t.pool.reload(null, t.reply());
    t.pool.scale(3, t.reply(scaled));
    for (let i = 0; i < 4; i++) t.forks.at(-1)?.ready();
    expect(t.reloads().filter((m) => m.phase === 'done')).toHaveLength(2);
    // Now the new slot starts, on the reloaded settings.
    expect(t.forks.at(-1)?.slot).toBe(2);
    expect(scaled).toEqual([]);
    t.forks.at(-1)?.ready();
    expect(ok(scaled[0])).toEqual({ from: 2, to: 3 });
    expect(t.pool.appState).toBe('running');
  });

  it('refuses a scale that waited behind a reload at whose end the pool finished', async () => {
    const t = running(resolvedApp({ instances: 1, restart: { ...resolvedApp().restart, maxRestarts: 0 } }));
    const scaled: Outcome[] = [];
    t.pool.reload(null, t.reply());
    t.pool.scale(2, t.reply(scaled));
    // The old worker dies, its successor takes over and dies too: errored, no worker left, reload over.
    t.forks[0]?.exit(1);
    t.forks[1]?.exit(1);
    await t.pool.done;
    expect(failed(scaled[0])).toMatch(/^the app has ended \(errored/);
    expect(t.forks).toHaveLength(2);
  });

  it('fails a scale-up whose new slot a later scale removed before it served, and says so', () => {
    const t = running();
    const first: Outcome[] = [];
    t.pool.scale(4, t.reply(first));
    t.pool.scale(3, t.reply());
    expect(failed(first[0])).toBe('worker 3 was scaled away before it served');
  });

  it('fails a scale-up whose new worker does not start, and says why', () => {
    const t = running();
    t.pool.scale(3, t.reply());
    t.forks.at(-1)?.exit(1, null, 'Error: EADDRINUSE');
    expect(failed(t.replies.at(-1))).toBe('worker 2 did not start: exit code 1: Error: EADDRINUSE');
  });

  it('scales down by draining the highest slots, and answers once they have exited', () => {
    const t = running(resolvedApp({ instances: 3 }));
    t.pool.scale(1, t.reply());
    expect(t.forks.map((w) => w.drained)).toEqual([false, true, true]);
    t.forks[1]?.exit(0);
    expect(t.replies).toHaveLength(1);
    t.forks[2]?.exit(null, 'SIGTERM');
    expect(ok(t.replies.at(-1))).toEqual({ from: 3, to: 1 });
    expect(t.slotStates(2)).toEqual(['serving', 'removed']);
  });

  it('stops during a reload: the reload and the one queued fail, every worker drains, then the stop is answered', async () => {
    const t = running();
    const reloads: Outcome[] = [];
    const stops: Outcome[] = [];
    t.pool.reload(null, t.reply(reloads));
    t.pool.reload(null, t.reply(reloads));
    t.pool.stop(t.reply(stops));
    expect(reloads.map(failed)).toEqual(['the app is stopping', 'the app is stopping']);
    expect(t.forks.every((w) => w.drained)).toBe(true);
    expect(t.pool.appState).toBe('stopping');
    for (const w of t.forks) w.exit(0);
    expect(stops).toEqual([{ ok: true, result: {} }]);
    expect(t.pool.appState).toBe('stopped');
    await t.pool.done;
    // Nothing is asked of a stopped pool.
    t.pool.reload(null, t.reply(reloads));
    expect(failed(reloads.at(-1))).toBe('the app is stopping');
  });

  it('stops at once while a restart waits: the backoff is cancelled', () => {
    const t = running();
    t.forks[0]?.exit(1);
    t.pool.stop(t.reply());
    t.forks[1]?.exit(0);
    expect(ok(t.replies.at(-1))).toEqual({});
    advance(60_000);
    expect(t.forks).toHaveLength(2);
  });
});
