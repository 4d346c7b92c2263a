// One leader per app as data: leader-step.ts with plain events, no processes, no time.
import { describe, expect, it } from 'vitest';
import {
  holdsDrain,
  initialLeader,
  type LeaderEffect,
  type LeaderEvent,
  type LeaderSnapshot,
  leaderStep,
} from '../../src/primary/leader/leader-step.js';

const T = 1_000;

/** Runs events in order; returns the last snapshot and every effect, by type and pid (and term). */
function run(events: LeaderEvent[], from: LeaderSnapshot = initialLeader) {
  let snapshot = from;
  const effects: LeaderEffect[] = [];
  for (const event of events) {
    const step = leaderStep(snapshot, event);
    snapshot = step.snapshot;
    effects.push(...step.effects);
  }
  return { snapshot, effects, acts: effects.filter((e) => e.type !== 'report').map(short) };
}
const short = (e: LeaderEffect) => `${e.type} ${e.pid}${'term' in e ? ` t${e.term}` : ''}`;

const up = (pid: number): LeaderEvent[] => [
  { type: 'wants', pid, stopTimeout: T },
  { type: 'ready', pid, stopTimeout: T },
];

describe('leader step', () => {
  it('grants the first ready worker that asked, whichever came first, ready or the ask', () => {
    expect(run(up(1)).acts).toEqual(['grant 1 t1']);
    const askLate = run([
      { type: 'ready', pid: 1, stopTimeout: T },
      { type: 'wants', pid: 1, stopTimeout: T },
    ]);
    expect(askLate.acts).toEqual(['grant 1 t1']);
    expect(askLate.snapshot.holder).toEqual({ pid: 1, term: 1, phase: 'held' });
  });

  it('never grants a worker that did not ask, nor one not ready, nor one draining', () => {
    const r = run([
      { type: 'ready', pid: 1, stopTimeout: T },
      { type: 'wants', pid: 2, stopTimeout: T },
      { type: 'wants', pid: 3, stopTimeout: T },
      { type: 'draining', pid: 3 },
      { type: 'ready', pid: 3, stopTimeout: T },
    ]);
    expect(r.acts).toEqual([]);
    expect(r.snapshot.holder).toBeNull();
  });

  it('does not take leadership from a healthy leader when a newer worker is ready', () => {
    expect(run([...up(1), ...up(2), ...up(3)]).acts).toEqual(['grant 1 t1']);
  });

  it('revokes a leader that drains, holds its drain, and grants the next only after its stop answered', () => {
    const r = run([...up(1), ...up(2), ...up(3), { type: 'draining', pid: 1 }]);
    expect(r.acts).toEqual(['grant 1 t1', 'revoke 1 t1', 'schedule 1 t1']);
    expect(r.effects).toContainEqual({ type: 'schedule', pid: 1, term: 1, ms: T });
    expect(holdsDrain(r.snapshot, 1)).toBe(true);
    expect(holdsDrain(r.snapshot, 2)).toBe(false);
    // A newer candidate meanwhile is not granted either: the fence is pending.
    const waiting = run([...up(4)], r.snapshot);
    expect(waiting.acts).toEqual([]);
    // The newest candidate gets it: 4.
    const answered = run([{ type: 'stopped', pid: 1, term: 1 }], waiting.snapshot);
    expect(answered.acts).toEqual(['cancel 1', 'release 1', 'grant 4 t2']);
    expect(
      answered.effects.filter((e) => e.type === 'report').map((e) => e.type === 'report' && e.change),
    ).toEqual(['stopped', 'granted']);
    expect(holdsDrain(answered.snapshot, 1)).toBe(false);
  });

  it('kills a leader whose stop does not answer in time, and grants only once its exit is seen', () => {
    const revoked = run([...up(1), ...up(2), { type: 'draining', pid: 1 }]);
    const late = run([{ type: 'timeout', pid: 1, term: 1 }], revoked.snapshot);
    expect(late.acts).toEqual(['kill 1']);
    expect(late.snapshot.holder?.phase).toBe('killing');
    expect(holdsDrain(late.snapshot, 1)).toBe(true);
    // Its answer after the timeout does not fence it: it may still run.
    expect(run([{ type: 'stopped', pid: 1, term: 1 }], late.snapshot).acts).toEqual([]);
    const gone = run([{ type: 'exited', pid: 1 }], late.snapshot);
    expect(gone.acts).toEqual(['grant 2 t2']);
  });

  it('hands over at once when the leader dies (its exit is the fence), and cancels a pending timeout', () => {
    expect(run([...up(1), ...up(2), { type: 'exited', pid: 1 }]).acts).toEqual(['grant 1 t1', 'grant 2 t2']);
    expect(run([...up(1), ...up(2), { type: 'draining', pid: 1 }, { type: 'exited', pid: 1 }]).acts).toEqual([
      'grant 1 t1',
      'revoke 1 t1',
      'schedule 1 t1',
      'cancel 1',
      'grant 2 t2',
    ]);
  });

  it('ignores answers and timeouts of another term or worker', () => {
    const revoked = run([...up(1), ...up(2), { type: 'draining', pid: 1 }]).snapshot;
    for (const event of [
      { type: 'stopped', pid: 1, term: 2 },
      { type: 'stopped', pid: 2, term: 1 },
      { type: 'timeout', pid: 1, term: 7 },
      { type: 'timeout', pid: 2, term: 1 },
      { type: 'draining', pid: 9 },
      { type: 'exited', pid: 9 },
    ] as LeaderEvent[])
      expect(run([event], revoked).acts, JSON.stringify(event)).toEqual([]);
    // A stopped from a leader never revoked (the app's own code sent it) changes nothing.
    expect(run([...up(1), { type: 'stopped', pid: 1, term: 1 }]).snapshot.holder?.phase).toBe('held');
  });

  it('leaves nobody leading when no candidate is left, and grants the next one to come', () => {
    const alone = run([...up(1), { type: 'draining', pid: 1 }, { type: 'stopped', pid: 1, term: 1 }]);
    expect(alone.snapshot.holder).toBeNull();
    expect(run(up(2), alone.snapshot).acts).toEqual(['grant 2 t2']);
  });

  it('hands over once in a rolling reload, whichever slot leads (the newest candidate is a new worker)', () => {
    for (const leaderSlot of [0, 1, 2]) {
      // Old workers 1, 2, 3 ready in an order that makes `leaderSlot` the first (the leader).
      const order = [leaderSlot, ...[0, 1, 2].filter((s) => s !== leaderSlot)];
      let events: LeaderEvent[] = order.flatMap((s) => up(s + 1));
      // The reload: per slot, its successor (11, 12, 13) ready, then the old worker drains and exits.
      for (const s of [0, 1, 2]) {
        const old = s + 1;
        events = [...events, ...up(old + 10), { type: 'draining', pid: old }];
        if (old === leaderSlot + 1) events.push({ type: 'stopped', pid: old, term: 1 });
        events.push({ type: 'exited', pid: old });
      }
      const r = run(events);
      expect(
        r.acts.filter((a) => a.startsWith('grant')),
        `leader in slot ${leaderSlot}`,
      ).toHaveLength(2);
      expect(r.snapshot.holder?.pid).toBeGreaterThan(10);
    }
  });
});
