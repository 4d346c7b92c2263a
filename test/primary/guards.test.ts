// The resource guards with fake workers and fake time: memory limits (replace, predict, hard kill,
// backoff of replacements that loop), heartbeats (a stuck worker replaced then killed, one that recovers
// drained, a stuck drain killed), recycling by age and by cron with jitter, one slot at a time, and their
// place beside rolling reloads. The real processes are proven by test/supervisor/guards.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedApp, ResolvedGuards } from '../../src/config/resolved.js';
import { memoryAction } from '../../src/primary/guards/guards.js';
import type { PrimaryMessage } from '../../src/protocol.js';
import { advance, fakePool, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const MB = 1024 ** 2;
const OFF: ResolvedGuards = resolvedApp().guards;

function guarded(
  guards: Partial<{ [K in keyof ResolvedGuards]: Partial<ResolvedGuards[K]> }>,
  instances = 2,
  backoff = resolvedApp().restart.backoff,
  extra: Partial<ResolvedApp> = {},
) {
  const app = resolvedApp({
    ...extra,
    instances,
    restart: { ...resolvedApp().restart, backoff },
    guards: {
      memory: { ...OFF.memory, ...guards.memory },
      heartbeat: { ...OFF.heartbeat, ...guards.heartbeat },
      recycle: { ...OFF.recycle, ...guards.recycle },
    },
  });
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  expect(t.pool.appState).toBe('running');
  return t;
}

type GuardMessage = Extract<PrimaryMessage, { type: 'guard' }>;
type Recycled = Extract<PrimaryMessage, { type: 'recycled' }>;
const guardsOf = (sent: PrimaryMessage[]) => sent.filter((m): m is GuardMessage => m.type === 'guard');
const recycledOf = (sent: PrimaryMessage[]) => sent.filter((m): m is Recycled => m.type === 'recycled');

describe('memoryAction', () => {
  const limits = { limit: 100 * MB, hardLimit: 150 * MB };
  it('kills over the hard limit, replaces over the limit, and nothing below', () => {
    expect(memoryAction(limits, 151 * MB, null, 1_000, 0)).toBe('kill');
    expect(memoryAction(limits, 101 * MB, null, 1_000, 0)).toBe('replace');
    expect(memoryAction(limits, 99 * MB, null, 1_000, 0)).toBeNull();
    expect(memoryAction({ limit: null, hardLimit: null }, 10_000 * MB, null, 1_000, 0)).toBeNull();
  });

  it('predicts a worker that passes the limit before its successor is ready, growing as it grew', () => {
    // 10 MB/s; a successor takes 500 ms: 96 MB + 5 MB passes 100 MB, 94 MB + 5 MB does not.
    expect(memoryAction(limits, 96 * MB, { rss: 86 * MB, at: 0 }, 1_000, 500)).toBe('predicted');
    expect(memoryAction(limits, 94 * MB, { rss: 84 * MB, at: 0 }, 1_000, 500)).toBeNull();
    // Shrinking, or not growing: no prediction.
    expect(memoryAction(limits, 99 * MB, { rss: 120 * MB, at: 0 }, 1_000, 60_000)).toBeNull();
  });
});

describe('guards: memory', () => {
  it('replaces a worker over the limit successor first, drains it once the successor is ready', () => {
    const t = guarded({ memory: { limit: 100 * MB, interval: 1_000 } });
    const [leaky, other] = t.forks;
    if (!leaky || !other) throw new Error('two workers');
    advance(20_000);
    leaky.memory = 120 * MB;
    advance(1_000);
    expect(guardsOf(t.sent)).toEqual([
      expect.objectContaining({ worker: 0, pid: leaky.pid, cause: 'memory', action: 'replace' }),
    ]);
    expect(guardsOf(t.sent)[0]?.message).toBe('RSS 120MB is over guards.memory.limit (100MB): replacing it');
    const successor = t.forks[2];
    expect(successor?.slot).toBe(0);
    expect(leaky.drained).toBe(false);
    successor?.ready();
    expect(leaky.drained).toBe(true);
    expect(t.workerStates(leaky.pid)).toEqual(['starting', 'ready', 'draining']);
    expect(t.slotStates(0).slice(-2)).toEqual(['replacing', 'serving']);
    expect(recycledOf(t.sent)).toEqual([expect.objectContaining({ worker: 0, cause: 'memory', ok: true })]);
    // The other slot was not touched, no reload was reported, and the old worker is not asked again.
    expect(other.drained).toBe(false);
    expect(t.reloads()).toEqual([]);
    advance(5_000);
    expect(t.forks).toHaveLength(3);
  });

  it('replaces one slot at a time', () => {
    const t = guarded({ memory: { limit: 100 * MB } }, 3);
    advance(20_000);
    for (const w of t.forks) w.memory = 200 * MB;
    advance(1_000);
    expect(t.forks).toHaveLength(4);
    advance(3_000);
    // The first replacement waits for its successor: nothing else starts meanwhile.
    expect(t.forks).toHaveLength(4);
    t.forks[3]?.ready();
    expect(t.forks).toHaveLength(5);
    t.forks[4]?.ready();
    expect(t.forks).toHaveLength(6);
    t.forks[5]?.ready();
    expect(t.forks.slice(3).map((w) => w.slot)).toEqual([0, 1, 2]);
    expect(t.forks.slice(0, 3).every((w) => w.drained)).toBe(true);
    expect(recycledOf(t.sent).map((m) => m.worker)).toEqual([0, 1, 2]);
  });

  it('replaces a worker early when it would pass the limit before a successor is ready', () => {
    const t = guarded({ memory: { limit: 100 * MB } }, 1);
    // The first worker took 0 ms to get ready in fake time: say the successor takes 2 s.
    t.forks[0]?.exit(1);
    advance(100);
    const slow = t.forks[1];
    if (!slow) throw new Error('restarted');
    slow.memory = 70 * MB;
    advance(2_000);
    slow.ready();
    advance(20_000);
    slow.memory = 80 * MB; // 10 MB/s, 2 s to a successor: 100 MB, not over it
    advance(1_000);
    slow.memory = 90 * MB; // 10 MB/s, 2 s to a successor: 110 MB
    advance(1_000);
    expect(guardsOf(t.sent)[0]).toMatchObject({ cause: 'memory', action: 'replace' });
    expect(guardsOf(t.sent)[0]?.message).toMatch(
      /RSS 90MB, growing 10MB\/s, passes guards.memory.limit \(100MB\) before a successor can be ready \(2s\)/,
    );
  });

  it('kills a worker over the hard limit at once; its slot restarts by the restart policy', () => {
    const t = guarded({ memory: { limit: 100 * MB, hardLimit: 150 * MB } });
    const [victim] = t.forks;
    advance(20_000);
    if (!victim) throw new Error('worker');
    victim.memory = 160 * MB;
    advance(1_000);
    expect(victim.killed).toBe(true);
    expect(guardsOf(t.sent)).toEqual([expect.objectContaining({ cause: 'memory-hard', action: 'kill' })]);
    victim.exit(null, 'SIGKILL');
    const crash = t.sent.find((m) => m.type === 'worker' && m.transition.to === 'crashed');
    expect(crash).toMatchObject({
      transition: { reason: 'RSS 160MB is over guards.memory.hardLimit (150MB): killed' },
    });
    expect(t.sent.at(-1)?.type === 'backoff' || t.sent.some((m) => m.type === 'backoff')).toBe(true);
    advance(100);
    expect(t.forks.at(-1)?.slot).toBe(0);
  });

  it('slows down replacements of a slot whose new workers pass the limit at once (backoff)', () => {
    const t = guarded({ memory: { limit: 100 * MB } }, 1, { initial: 2_000, factor: 2, max: 8_000 });
    advance(20_000);
    const first = t.forks[0];
    if (!first) throw new Error('worker');
    first.memory = 200 * MB;
    advance(1_000);
    const second = t.forks[1];
    if (!second) throw new Error('successor');
    second.memory = 200 * MB;
    second.ready();
    // Over at its first check, 1 s old (younger than restart.stableAfter): replaced, and the slot's
    // next replacement waits restart.backoff.initial (2 s) from now.
    advance(1_000);
    const third = t.forks[2];
    if (!third) throw new Error('second successor');
    third.memory = 200 * MB;
    third.ready();
    advance(1_000);
    const held = guardsOf(t.sent).filter((m) => m.action === 'hold');
    expect(held).toEqual([expect.objectContaining({ worker: 0, pid: third.pid })]);
    expect(held[0]?.message).toMatch(/replaced in 1s at the earliest/);
    expect(t.forks).toHaveLength(3);
    advance(1_000);
    expect(t.forks).toHaveLength(4);
    // Twice in a row: 4 s.
    t.forks[3]?.ready();
    (t.forks[3] as { memory: number }).memory = 200 * MB;
    advance(3_000);
    expect(t.forks).toHaveLength(4);
    advance(1_000);
    expect(t.forks).toHaveLength(5);
  });
});

describe('guards: heartbeat', () => {
  it('leaves answering workers alone, and sends one heartbeat at a time', () => {
    const t = guarded({ heartbeat: { timeout: 3_000, interval: 1_000 } });
    for (let i = 0; i < 10; i++) {
      advance(1_000);
      for (const w of t.forks) w.answer();
    }
    expect(t.forks.map((w) => w.beats)).toEqual([10, 10]);
    expect(guardsOf(t.sent)).toEqual([]);
    // A worker that does not answer is not sent another heartbeat meanwhile.
    advance(2_500);
    expect(t.forks.map((w) => w.beats)).toEqual([11, 11]);
  });

  it('replaces a stuck worker within timeout + interval, then kills it: it cannot drain', () => {
    const t = guarded({ heartbeat: { timeout: 3_000, interval: 1_000 } });
    const [stuck, other] = t.forks;
    if (!stuck || !other) throw new Error('two workers');
    advance(1_000);
    other.answer();
    stuck.answer();
    // Blocked from now on (just after answering): the next beat goes out at +1 s, its deadline is +4 s.
    stuck.thread = { state: 'R', cpuMs: 0 };
    for (let i = 0; i < 3; i++) {
      advance(1_000);
      other.answer();
    }
    expect(t.forks).toHaveLength(2);
    stuck.thread = { state: 'R', cpuMs: 2_970 };
    advance(1_000);
    other.answer();
    expect(t.forks).toHaveLength(3);
    const [found] = guardsOf(t.sent);
    expect(found).toMatchObject({ worker: 0, pid: stuck.pid, cause: 'unresponsive', action: 'replace' });
    expect(found?.message).toBe(
      'no answer to its heartbeat for 3s (guards.heartbeat.timeout 3s); its main thread is running (99% CPU): a loop that does not end: replacing it',
    );
    const successor = t.forks[2];
    successor?.ready();
    expect(stuck.killed).toBe(true);
    expect(stuck.drained).toBe(false);
    const draining = t.sent.find(
      (m) => m.type === 'worker' && m.transition.pid === stuck.pid && m.transition.to === 'draining',
    );
    expect(draining).toMatchObject({
      transition: {
        reason: expect.stringMatching(/killed: its event loop has not answered for 3s, so it cannot drain/),
      },
    });
    stuck.exit(null, 'SIGKILL');
    expect(t.workerStates(stuck.pid).at(-1)).toBe('stopped');
    expect(other.killed || other.drained).toBe(false);
    expect(t.pool.appState).toBe('running');
  });

  it('drains a stuck worker that answers again before its successor is ready', () => {
    const t = guarded({ heartbeat: { timeout: 2_000, interval: 1_000 } }, 1);
    const [slow] = t.forks;
    advance(3_000);
    expect(t.forks).toHaveLength(2);
    slow?.answer();
    t.forks[1]?.ready();
    expect(slow?.drained).toBe(true);
    expect(slow?.killed).toBe(false);
  });

  it('kills a worker that gets stuck while it drains', () => {
    const t = guarded({ heartbeat: { timeout: 2_000, interval: 1_000 } }, 1);
    const [old] = t.forks;
    t.pool.reload(null, t.reply());
    t.forks[1]?.ready();
    expect(old?.drained).toBe(true);
    advance(1_000);
    t.forks[1]?.answer();
    advance(2_000);
    expect(old?.killed).toBe(true);
    expect(guardsOf(t.sent)).toEqual([
      expect.objectContaining({ pid: old?.pid, cause: 'unresponsive', action: 'kill' }),
    ]);
    expect(guardsOf(t.sent)[0]?.message).toMatch(/: killed, it cannot drain$/);
  });
});

describe('guards: recycling', () => {
  it('replaces workers at maxAge plus their share of the jitter, one at a time', () => {
    const t = guarded({ recycle: { maxAge: 60_000, jitter: 10_000 } });
    t.random.value = 0.5;
    advance(64_000);
    expect(t.forks).toHaveLength(2);
    advance(1_000);
    expect(t.forks).toHaveLength(3);
    // Slot 1 is due too, but waits for slot 0's successor.
    advance(1_000);
    expect(t.forks).toHaveLength(3);
    t.forks[2]?.ready();
    expect(t.forks).toHaveLength(4);
    t.forks[3]?.ready();
    expect(guardsOf(t.sent).map((m) => [m.worker, m.cause])).toEqual([
      [0, 'max-age'],
      [1, 'max-age'],
    ]);
    expect(guardsOf(t.sent)[0]?.message).toBe('it is 1.08m old (guards.recycle.maxAge 1m): replacing it');
    expect(t.forks.slice(0, 2).every((w) => w.drained)).toBe(true);
  });

  it('replaces every worker at a time of the cron pattern, each after its jitter', () => {
    const t = guarded({ recycle: { cron: '0 4 * * *', timezone: 'UTC', jitter: 60_000 } }, 3);
    expect(t.crons).toEqual([expect.objectContaining({ pattern: '0 4 * * *', timezone: 'UTC' })]);
    t.random.value = 0.25;
    t.crons[0]?.fire();
    expect(t.forks).toHaveLength(3);
    advance(15_000);
    expect(t.forks).toHaveLength(4);
    t.forks[3]?.ready();
    expect(t.forks).toHaveLength(5);
    t.forks[4]?.ready();
    t.forks[5]?.ready();
    expect(recycledOf(t.sent).map((m) => [m.worker, m.cause, m.ok])).toEqual([
      [0, 'schedule', true],
      [1, 'schedule', true],
      [2, 'schedule', true],
    ]);
    t.pool.stop();
    expect(t.crons[0]?.stopped).toBe(true);
  });

  it('does not replace again a worker a rolling reload replaced meanwhile', () => {
    // The successors are ready 21 s after they started: within readyTimeout (a worker past it is stopped).
    const t = guarded({ memory: { limit: 100 * MB } }, 2, undefined, { readyTimeout: 60_000 });
    t.pool.reload(null, t.reply());
    advance(20_000);
    const [a] = t.forks;
    if (!a) throw new Error('worker');
    a.memory = 200 * MB;
    advance(1_000);
    // The guard's request waits behind the reload, which replaces slot 0 and then slot 1.
    t.forks[2]?.ready();
    t.forks[3]?.ready();
    expect(t.forks).toHaveLength(4);
    expect(recycledOf(t.sent)).toEqual([]);
    expect(t.reloads().map((m) => m.phase)).toEqual(['started', 'done']);
  });

  it('a successor that fails ends the replacement; the old worker keeps serving and is asked for again later', () => {
    const t = guarded({ memory: { limit: 100 * MB } }, 1, { initial: 2_000, factor: 2, max: 8_000 });
    advance(20_000);
    const [old] = t.forks;
    if (!old) throw new Error('worker');
    old.memory = 200 * MB;
    advance(1_000);
    t.forks[1]?.exit(1, null, 'Error: broken release');
    expect(recycledOf(t.sent)).toEqual([
      expect.objectContaining({ ok: false, reason: expect.stringMatching(/did not get ready/) }),
    ]);
    expect(old.drained).toBe(false);
    expect(t.pool.appState).toBe('running');
    advance(1_000);
    expect(guardsOf(t.sent).map((m) => m.action)).toEqual(['replace', 'hold']);
    advance(1_000);
    expect(t.forks).toHaveLength(3);
  });
});
