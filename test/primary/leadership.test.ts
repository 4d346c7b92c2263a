// The leader driver (leadership.ts) over the real pool, fake workers, a fake channel and fake time: the
// pool's own transitions drive it, a leader's drain is held until its stop handlers answer, a leader
// that does not answer is killed at shutdown.timeout, and an app that never asks gets no message.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LeaderChannel, withLeadership } from '../../src/primary/leader/leadership.js';
import type { PrimaryMessage, PrimaryToWorker } from '../../src/protocol.js';
import messages from '../../src/worker/messages.cjs';
import { advance, type FakeWorker, fakePool, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(instances = 3) {
  const toWorkers: { pid: number; message: PrimaryToWorker }[] = [];
  let fromWorker: (pid: number, message: unknown) => void = () => {};
  const channel: LeaderChannel = {
    listen: (fn) => {
      fromWorker = fn;
    },
    send: (pid, message) => toWorkers.push({ pid, message }),
  };
  const app = resolvedApp({
    instances,
    shutdown: { signal: 'SIGTERM', timeout: 2_000, delay: 0, spread: 0 },
  });
  const t = fakePool(app, { wrap: (fx) => withLeadership(fx, channel) });
  const leaderEvents = () =>
    t.sent.filter((m): m is Extract<PrimaryMessage, { type: 'leader' }> => m.type === 'leader');
  return {
    ...t,
    toWorkers,
    want: (w: FakeWorker) => fromWorker(w.pid, messages.leaderWant),
    /** Each asks for leadership, then gets ready: a candidate. */
    candidates: (...workers: FakeWorker[]) => {
      for (const w of workers) {
        fromWorker(w.pid, messages.leaderWant);
        w.ready();
      }
    },
    answer: (w: FakeWorker, term: number) => fromWorker(w.pid, messages.leaderStopped(term)),
    say: (w: FakeWorker, message: unknown) => fromWorker(w.pid, message),
    leaderEvents,
    changes: () => leaderEvents().map((m) => `${m.change} ${m.pid}`),
  };
}

describe('leadership over the pool', () => {
  it('grants the first ready worker that asked, once, and tells the root', () => {
    const t = setup();
    t.pool.start(t.reply());
    const [a, b, c] = t.forks as [FakeWorker, FakeWorker, FakeWorker];
    for (const w of [a, b, c]) t.want(w);
    b.ready();
    a.ready();
    c.ready();
    expect(t.toWorkers).toEqual([{ pid: b.pid, message: messages.leaderGrant(1) }]);
    expect(t.leaderEvents()).toEqual([{ type: 'leader', change: 'granted', worker: 1, pid: b.pid, term: 1 }]);
  });

  it('sends nothing to an app whose workers never ask', () => {
    const t = setup();
    t.pool.start(t.reply());
    for (const w of t.forks) w.ready();
    t.pool.reload(null, t.reply());
    for (const w of t.forks.slice(3)) w.ready();
    for (const w of t.forks.slice(0, 3)) w.exit(0, null);
    expect(t.toWorkers).toEqual([]);
    expect(t.leaderEvents()).toEqual([]);
  });

  it("holds a leader's drain in a reload until its stop answered, then grants a new worker", () => {
    const t = setup(2);
    t.pool.start(t.reply());
    const [a, b] = t.forks as [FakeWorker, FakeWorker];
    t.candidates(a, b);
    t.pool.reload(null, t.reply());
    const a2 = t.forks[2] as FakeWorker;
    t.candidates(a2);
    // The reload drains slot 0's old worker, the leader: revoked, its drain held.
    expect(t.toWorkers.at(-1)).toEqual({ pid: a.pid, message: messages.leaderRevoke(1) });
    expect(t.workerStates(a.pid).at(-1)).toBe('draining');
    expect(a.drained).toBe(false);
    advance(1_500);
    expect(t.changes()).toEqual([`granted ${a.pid}`, `revoked ${a.pid}`]);
    // A stray answer (another term, another worker) does not fence it.
    t.answer(a, 2);
    t.answer(b, 1);
    t.say(a, { clusterd: 'leader-stopped', term: -1 });
    expect(a.drained).toBe(false);
    t.answer(a, 1);
    expect(a.drained).toBe(true);
    // The newest candidate: the reload's new worker, which it will not drain again.
    expect(t.toWorkers.at(-1)).toEqual({ pid: a2.pid, message: messages.leaderGrant(2) });
    expect(t.leaderEvents().find((m) => m.change === 'stopped')?.ms).toBe(1_500);
    a.exit(0, null);
    const b2 = t.forks[3] as FakeWorker;
    t.candidates(b2);
    b.exit(0, null);
    expect(t.changes()).toEqual([
      `granted ${a.pid}`,
      `revoked ${a.pid}`,
      `stopped ${a.pid}`,
      `granted ${a2.pid}`,
    ]);
  });

  it('kills a leader whose stop does not answer within shutdown.timeout, and grants once its exit is seen', () => {
    const t = setup(2);
    t.pool.start(t.reply());
    const [a, b] = t.forks as [FakeWorker, FakeWorker];
    t.candidates(a, b);
    t.pool.scale(1, t.reply());
    // Scaling down removes slot 1 (b); a leads, nothing to hand over.
    expect(b.drained).toBe(true);
    t.pool.reload(null, t.reply());
    const a2 = t.forks[2] as FakeWorker;
    t.candidates(a2);
    advance(1_999);
    expect(a.killed).toBe(false);
    advance(1);
    expect(a.killed).toBe(true);
    expect(a.drained).toBe(false);
    expect(t.toWorkers.map((m) => m.message.clusterd)).toEqual(['leader-grant', 'leader-revoke']);
    advance(300);
    a.exit(null, 'SIGKILL');
    expect(t.toWorkers.at(-1)).toEqual({ pid: a2.pid, message: messages.leaderGrant(2) });
    expect(t.changes()).toEqual([
      `granted ${a.pid}`,
      `revoked ${a.pid}`,
      `killed ${a.pid}`,
      `lost ${a.pid}`,
      `granted ${a2.pid}`,
    ]);
  });

  it('hands over at once when the leader crashes', () => {
    const t = setup(2);
    t.pool.start(t.reply());
    const [a, b] = t.forks as [FakeWorker, FakeWorker];
    t.candidates(a, b);
    a.exit(null, 'SIGKILL');
    expect(t.changes()).toEqual([`granted ${a.pid}`, `lost ${a.pid}`, `granted ${b.pid}`]);
  });

  it('stops the app with the leader revoked first; nobody is granted while every worker drains', () => {
    const t = setup(2);
    t.pool.start(t.reply());
    const [a, b] = t.forks as [FakeWorker, FakeWorker];
    t.candidates(a, b);
    t.pool.stop(t.reply());
    expect(b.drained).toBe(true);
    expect(a.drained).toBe(false);
    t.answer(a, 1);
    expect(a.drained).toBe(true);
    a.exit(0, null);
    b.exit(0, null);
    expect(t.changes()).toEqual([`granted ${a.pid}`, `revoked ${a.pid}`, `stopped ${a.pid}`]);
  });
});
