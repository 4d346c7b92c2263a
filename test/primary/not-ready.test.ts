// A worker not ready within readyTimeout, with fake workers and fake time: it is stopped as any worker
// is (drained: the stop signal, then SIGKILL at shutdown.timeout, carried out by stop.ts), never killed
// first; its exit is still a failed start, and its slot restarts only once it has exited. The escalation
// itself is test/primary/stop.test.ts; the real processes are test/supervisor/ready-timeout.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { howStopped } from '../../src/primary/pool/tracked-worker.js';
import type { Outcome } from '../../src/protocol.js';
import { advance, fakePool, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const app = (extra: Parameters<typeof resolvedApp>[0] = {}) =>
  resolvedApp({
    instances: 1,
    readyTimeout: 5_000,
    shutdown: { signal: 'SIGTERM', timeout: 2_000, delay: 0, spread: 0 },
    ...extra,
  });

const crashes = (t: ReturnType<typeof fakePool>) =>
  t.sent.flatMap((m) => (m.type === 'worker' && m.transition.to === 'crashed' ? [m.transition] : []));
const backoffs = (t: ReturnType<typeof fakePool>) => t.sent.filter((m) => m.type === 'backoff');

describe('a readiness timeout', () => {
  it('drains the worker (its stop signal follows), does not kill it, and says so at once', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(5_000);
    expect(worker).toMatchObject({ drained: true, drains: 1, killed: false });
    const draining = t.sent.find((m) => m.type === 'worker' && m.transition.to === 'draining');
    expect(draining).toMatchObject({
      transition: {
        from: 'starting',
        reason: expect.stringMatching(
          /^not ready within 5s \(readiness: listening\): it never listened on a port; .*; stopping it: SIGTERM, SIGKILL after 2s$/,
        ),
      },
    });
  });

  it("names the worker's own PORT, counted up by incrementVar, as the listen it never made", () => {
    const t = fakePool(app({ instances: 2, env: { PORT: '3000' }, incrementVar: 'PORT' }));
    t.pool.start(t.reply());
    advance(5_000);
    const reasons = t.sent.flatMap((m) =>
      m.type === 'worker' && m.transition.to === 'draining'
        ? [`${m.transition.worker}: ${m.transition.reason}`]
        : [],
    );
    expect(reasons).toEqual([
      expect.stringMatching(/^0: .*it never listened on PORT \(3000\)/),
      expect.stringMatching(/^1: .*it never listened on PORT \(3001\)/),
    ]);
  });

  it('exits within shutdown.timeout: a failed start, restarted after the backoff, never beside it', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(5_000);
    // While it stops, its slot starts nothing else, however long it takes.
    advance(1_999);
    expect(t.forks).toHaveLength(1);
    expect(backoffs(t)).toEqual([]);
    worker?.exit(0);
    expect(worker?.killed).toBe(false);
    expect(crashes(t)).toEqual([
      expect.objectContaining({
        from: 'draining',
        code: 0,
        signal: null,
        reason: expect.stringMatching(/; stopped with SIGTERM, exited 0 after 1\.999s$/),
      }),
    ]);
    // Exit code 0 on its stop signal is no clean exit of its own: it counts.
    expect(backoffs(t)).toEqual([{ type: 'backoff', worker: 0, delay: 100, failedStarts: 1 }]);
    advance(100);
    expect(t.forks).toHaveLength(2);
    expect(t.slotStates(0)).toEqual(['backoff', 'restarting']);
  });

  it('does not exit: SIGKILLed at shutdown.timeout, a failed start all the same', () => {
    const t = fakePool(app({ restart: { ...resolvedApp().restart, maxRestarts: 0 } }));
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(5_000);
    advance(2_000);
    // stop.ts SIGKILLs it at shutdown.timeout; the pool sees the exit.
    worker?.exit(null, 'SIGKILL');
    expect(crashes(t)[0]).toMatchObject({
      from: 'draining',
      signal: 'SIGKILL',
      reason: expect.stringMatching(
        /; stopped with SIGTERM, killed with SIGKILL at shutdown\.timeout \(2s\)$/,
      ),
    });
    expect(t.pool.appState).toBe('errored');
    expect((t.replies[0] as { reason: string }).reason).toMatch(
      /; 1 failed start in a row \(restart\.maxRestarts 0\)$/,
    );
  });

  it('ignores a readiness that comes once its stop has begun', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(5_000);
    worker?.ready();
    expect(t.workerStates(worker?.pid ?? 0)).toEqual(['starting', 'draining']);
    expect(t.slotStates(0)).toEqual([]);
    worker?.exit(null, 'SIGTERM');
    expect(t.workerStates(worker?.pid ?? 0)).toEqual(['starting', 'draining', 'crashed']);
  });

  it('of a successor rolls the reload back once it has exited: the old worker serves on', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [old] = t.forks;
    old?.ready();
    const reloads: Outcome[] = [];
    t.pool.reload(null, t.reply(reloads));
    const successor = t.forks[1];
    advance(5_000);
    expect(successor?.drained).toBe(true);
    // Not answered while the successor stops: a reload queued behind it must not start a third worker.
    t.pool.reload(null, t.reply(reloads));
    expect(reloads).toEqual([]);
    expect(t.forks).toHaveLength(2);
    advance(300);
    successor?.exit(null, 'SIGTERM');
    expect(reloads[0]).toEqual({
      ok: false,
      code: 'CLUSTERD_ERR_RELOAD_FAILED',
      reason: expect.stringMatching(
        /^worker 0 did not get ready: not ready within 5s .*; stopped with SIGTERM after 300ms$/,
      ),
    });
    expect(old).toMatchObject({ drained: false, killed: false });
    expect(t.slotStates(0)).toEqual(['serving', 'replacing', 'serving', 'replacing']);
    expect(t.appStates()).toEqual(['running']);
    // The queued reload started only then, and a successor is not a restart of the app.
    expect(t.forks).toHaveLength(3);
    expect(backoffs(t)).toEqual([]);
  });

  it('while the app stops: drained once, no restart, and the stop is answered when it has exited', async () => {
    const t = fakePool(app({ instances: 2 }));
    t.pool.start(t.reply());
    const [notReady, serving] = t.forks;
    serving?.ready();
    advance(5_000);
    const stops: Outcome[] = [];
    t.pool.stop(t.reply(stops));
    expect(notReady?.drains).toBe(1);
    serving?.exit(0);
    expect(stops).toEqual([]);
    advance(500);
    notReady?.exit(0);
    expect(stops).toEqual([{ ok: true, result: {} }]);
    await t.pool.done;
    advance(60_000);
    expect(t.forks).toHaveLength(2);
  });

  it('of a successor while the app stops: no slot goes back to serving', async () => {
    const t = running1();
    t.pool.reload(null, t.reply());
    const successor = t.forks[1];
    advance(5_000);
    t.pool.stop(t.reply());
    t.forks[0]?.exit(0);
    successor?.exit(0);
    expect(t.slotStates(0)).toEqual(['serving', 'replacing', 'removed']);
    await t.pool.done;
  });

  it('scaled away while it stops: the scale is answered once it has exited, and nothing restarts', () => {
    const t = fakePool(app({ instances: 2 }));
    t.pool.start(t.reply());
    t.forks[0]?.ready();
    advance(5_000);
    const scaled: Outcome[] = [];
    t.pool.scale(1, t.reply(scaled));
    expect(t.forks[1]?.drains).toBe(1);
    expect(scaled).toEqual([]);
    t.forks[1]?.exit(0);
    expect(scaled).toEqual([{ ok: true, result: { from: 2, to: 1 } }]);
    advance(60_000);
    expect(t.forks).toHaveLength(2);
    expect(backoffs(t)).toEqual([]);
  });

  it('a reload meanwhile restarts the slot at once on the new settings: two workers at most, as in any reload', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [stopping] = t.forks;
    advance(5_000);
    const reloads: Outcome[] = [];
    t.pool.reload(app({ env: { V: '2' } }), t.reply(reloads));
    expect(t.forks).toHaveLength(2);
    expect(stopping?.drains).toBe(1);
    // The one stopping no longer holds the slot: its exit restarts nothing.
    stopping?.exit(0);
    expect(backoffs(t)).toEqual([]);
    t.forks[1]?.ready();
    expect(reloads).toEqual([{ ok: true, result: { replaced: 1, ms: 0 } }]);
    expect(t.pool.appState).toBe('running');
  });

  it('SIGKILLed at once by `kill` while it stops', () => {
    const t = fakePool(app());
    t.pool.start(t.reply());
    const [worker] = t.forks;
    advance(5_000);
    t.pool.kill(t.reply());
    expect(worker?.killed).toBe(true);
    advance(10);
    worker?.exit(null, 'SIGKILL');
    expect(crashes(t)[0]?.reason).toMatch(/; stopped with SIGTERM, killed by SIGKILL after 10ms$/);
    expect(t.replies.at(-1)).toEqual({ ok: true, result: {} });
  });
});

function running1() {
  const t = fakePool(app());
  t.pool.start(t.reply());
  t.forks[0]?.ready();
  return t;
}

describe('howStopped', () => {
  const shutdown = { signal: 'SIGINT' as const, timeout: 3_000, delay: 0, spread: 1_000 };
  it('tells an exit on the signal, an exit of its own, and the SIGKILL at the deadline apart', () => {
    expect(howStopped({ code: 0, signal: null }, 120, shutdown)).toBe(
      'stopped with SIGINT, exited 0 after 120ms',
    );
    expect(howStopped({ code: null, signal: 'SIGINT' }, 15, shutdown)).toBe('stopped with SIGINT after 15ms');
    expect(howStopped({ code: 1, signal: null, detail: 'Error: pool closed' }, 1_500, shutdown)).toBe(
      'stopped with SIGINT, exited 1 after 1.5s: Error: pool closed',
    );
    // The deadline is shutdown.spread + shutdown.timeout, as for any stop (stop.ts).
    expect(howStopped({ code: null, signal: 'SIGKILL' }, 4_000, shutdown)).toBe(
      'stopped with SIGINT, killed with SIGKILL at shutdown.timeout (4s)',
    );
    expect(howStopped({ code: null, signal: 'SIGKILL' }, 3_999, shutdown)).toBe(
      'stopped with SIGINT, killed by SIGKILL after 3.999s',
    );
  });
});
