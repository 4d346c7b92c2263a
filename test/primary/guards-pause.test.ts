// The heartbeat guard paused while a heap snapshot stops a worker's world (primary/profile/): fake
// workers and fake time. A paused worker is sent no beat and its silence is not held against it; once
// resumed, its heartbeat starts afresh, and a worker that stays stuck after the pause is replaced as ever.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PrimaryMessage } from '../../src/protocol.js';
import { advance, fakePool, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function heartbeatPool() {
  const off = resolvedApp().guards;
  const app = resolvedApp({
    instances: 2,
    guards: { ...off, heartbeat: { ...off.heartbeat, timeout: 2_000, interval: 1_000 } },
  });
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  const [paused, other] = t.forks;
  if (!paused || !other) throw new Error('two workers');
  const tracked = t.pool.view().workers.find((w) => w.pid === paused.pid);
  if (!tracked) throw new Error('tracked');
  return { t, paused, other, pause: () => t.pool.pauseHeartbeat(tracked) };
}

const guardsOf = (sent: PrimaryMessage[]) => sent.filter((m) => m.type === 'guard');

/** `seconds` of fake time, a second at a time, each of `answering` answering its beats. */
function run(seconds: number, ...answering: { answer(): void }[]): void {
  for (let i = 0; i < seconds; i++) {
    advance(1_000);
    for (const w of answering) w.answer();
  }
}

describe('guards: heartbeat paused by a heap snapshot', () => {
  it('sends no beat to a paused worker and does not replace it however long it is silent', () => {
    const { t, paused, other, pause } = heartbeatPool();
    advance(1_000);
    paused.answer();
    other.answer();
    const resume = pause();
    const beats = paused.beats;
    run(30, other);
    expect(paused.beats).toBe(beats);
    expect(guardsOf(t.sent)).toEqual([]);
    expect(t.forks).toHaveLength(2);
    resume();
    run(1, other);
    expect(paused.beats).toBe(beats + 1);
    run(5, paused, other);
    expect(guardsOf(t.sent)).toEqual([]);
  });

  it('forgets a beat already on its way when the pause began, and starts afresh after it', () => {
    const { t, paused, other, pause } = heartbeatPool();
    // A beat is sent at +1 s and left unanswered (the snapshot began right after it went out).
    advance(1_000);
    other.answer();
    const resume = pause();
    // Its 2 s deadline passes during the pause: not held against it.
    run(3, other);
    expect(guardsOf(t.sent)).toEqual([]);
    resume();
    // The old beat's answer is not waited for: a new one goes at the next interval.
    const beats = paused.beats;
    run(1, other);
    expect(paused.beats).toBe(beats + 1);
    run(5, paused, other);
    expect(guardsOf(t.sent)).toEqual([]);
    expect(t.forks).toHaveLength(2);
  });

  it('replaces a worker still stuck after the pause, as any stuck worker', () => {
    const { t, paused, other, pause } = heartbeatPool();
    advance(1_000);
    paused.answer();
    other.answer();
    pause()();
    run(4, other);
    expect(guardsOf(t.sent)).toEqual([
      expect.objectContaining({ pid: paused.pid, cause: 'unresponsive', action: 'replace' }),
    ]);
  });

  it('resumes with the last of overlapping pauses; resuming twice counts once', () => {
    const { t, paused, other, pause } = heartbeatPool();
    advance(1_000);
    paused.answer();
    other.answer();
    const first = pause();
    const second = pause();
    first();
    first();
    const beats = paused.beats;
    run(5, other);
    expect(paused.beats).toBe(beats);
    second();
    run(1, other);
    expect(paused.beats).toBe(beats + 1);
    run(3, paused, other);
    expect(guardsOf(t.sent)).toEqual([]);
  });
});
