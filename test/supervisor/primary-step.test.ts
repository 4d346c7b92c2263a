// The primary's machine as the root sees it (primaryStep), without processes: events in, effects out,
// its timers on a fake clock driven from the effects themselves.
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/protocol.js';
import {
  initialPrimary,
  type PrimaryContext,
  type PrimaryEffect,
  type PrimaryEvent,
  type PrimarySnapshot,
  type PrimaryTimer,
  TIMER_EVENTS,
} from '../../src/supervisor/primary-machine.js';
import { primaryStep } from '../../src/supervisor/primary-step.js';
import { resolvedApp } from '../helpers/fake-pool.js';

// A machine on a fake clock: `schedule` and `cancel` effects set and clear its timers, and `advance`
// fires them in order as the runner's real timers would.
function machine(hangTimeout: number | null = 3_000, restart = resolvedApp().restart) {
  let now = 0;
  let snapshot: PrimarySnapshot = initialPrimary(now);
  const timers = new Map<PrimaryTimer, number>();
  const effects: PrimaryEffect[] = [];
  const send = (event: PrimaryEvent): PrimaryEffect[] => {
    const ctx: PrimaryContext = { now, app: 'web', restart, hangTimeout };
    const step = primaryStep(snapshot, event, ctx);
    snapshot = step.snapshot;
    for (const effect of step.effects) {
      if (effect.type === 'schedule') timers.set(effect.timer, now + effect.delay);
      if (effect.type === 'cancel') timers.delete(effect.timer);
    }
    effects.push(...step.effects);
    return step.effects;
  };
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      const next = [...timers].sort((a, b) => a[1] - b[1])[0];
      if (!next || next[1] > end) break;
      timers.delete(next[0]);
      now = next[1];
      send(TIMER_EVENTS[next[0]]);
    }
    now = end;
  };
  return {
    send,
    advance,
    timers,
    effects,
    get s() {
      return snapshot;
    },
    get now() {
      return now;
    },
    /** A primary forked and said hello. */
    up() {
      send({ type: 'start' });
      send({ type: 'spawned', pid: 42 });
      return send({ type: 'hello', version: PROTOCOL_VERSION });
    },
  };
}

const types = (effects: PrimaryEffect[]) =>
  effects.map((e) => (e.type === 'log' ? `log ${e.level}` : e.type));

describe('primaryStep: the lifecycle', () => {
  it('spawns, sends the start and what was held at hello, and restarts by the policy when it dies', () => {
    const m = machine(null);
    expect(types(m.send({ type: 'start' }))).toEqual(['spawn']);
    expect(m.up()).toEqual([
      expect.objectContaining({ type: 'log', msg: 'primary running' }),
      { type: 'send', op: 'start' },
      { type: 'release held' },
    ]);
    m.advance(50);
    const died = m.send({ type: 'exited', code: 1, signal: null });
    expect(m.s).toMatchObject({ state: 'backoff', app: 'backoff', reason: 'exit code 1', failedStarts: 1 });
    expect(died).toContainEqual({ type: 'count', what: 'restart' });
    expect(died).toContainEqual({
      type: 'refuse pending',
      code: 'CLUSTERD_ERR_PRIMARY_EXITED',
      reason: 'exit code 1',
      exited: { how: 'exit code 1', after: 'it restarts in 100 ms with the code on disk' },
    });
    expect(died).toContainEqual({ type: 'clear leftovers' });
    // The start its first primary never answered is left to the next one.
    expect(
      types(
        m.send({
          type: 'start answered',
          outcome: { ok: false, code: 'CLUSTERD_ERR_PRIMARY_EXITED', reason: 'x' },
        }),
      ),
    ).toEqual([]);
    m.advance(99);
    expect(m.s.state).toBe('backoff');
    m.advance(1);
    expect(m.s.state).toBe('spawning');
    expect(m.effects.at(-1)).toEqual({ type: 'spawn' });
  });

  it('is errored past the crash-loop limit: everything pending and the start answered, settled', () => {
    const m = machine(null, { ...resolvedApp().restart, maxRestarts: 0 });
    m.up();
    const end = m.send({ type: 'exited', code: null, signal: 'SIGKILL' });
    expect(m.s).toMatchObject({ state: 'errored', app: 'errored' });
    expect(end.filter((e) => e.type !== 'log' && e.type !== 'cancel')).toEqual([
      { type: 'clear leftovers' },
      {
        type: 'refuse pending',
        code: 'CLUSTERD_ERR_PRIMARY_EXITED',
        reason: 'primary killed by SIGKILL; 1 failed start in a row (restart.maxRestarts 0)',
        exited: { how: 'killed by SIGKILL', after: 'the app is errored' },
      },
      {
        type: 'answer start',
        outcome: {
          ok: false,
          code: 'CLUSTERD_ERR_START_FAILED',
          reason: 'primary killed by SIGKILL; 1 failed start in a row (restart.maxRestarts 0)',
        },
      },
      { type: 'settle' },
    ]);
  });

  it('a stop during the backoff cancels the restart and answers the start (it never would be)', () => {
    const m = machine(null);
    m.up();
    m.send({ type: 'exited', code: 1, signal: null });
    const stop = m.send({ type: 'stop asked' });
    expect(m.s).toMatchObject({ state: 'stopped', app: 'stopped' });
    expect(stop).toContainEqual({ type: 'cancel', timer: 'restart' });
    expect(stop).toContainEqual({
      type: 'answer start',
      outcome: { ok: false, code: 'CLUSTERD_ERR_APP_STOPPING', reason: 'the app stopped' },
    });
    expect(stop.at(-1)).toEqual({ type: 'settle' });
    expect(m.timers.size).toBe(0);
  });

  it('a kill asks the primary to kill its workers, and SIGKILLs it after the grace if it is still there', () => {
    const m = machine(null);
    m.up();
    expect(types(m.send({ type: 'kill asked' }))).toEqual([
      'log debug',
      'cancel',
      'send',
      'send',
      'schedule',
    ]);
    // A second kill sends again but does not move the deadline.
    expect(types(m.send({ type: 'kill asked' }))).toEqual(['send']);
    m.advance(1_000);
    expect(m.effects.at(-1)).toEqual({ type: 'signal', signal: 'SIGKILL' });
    m.send({ type: 'exited', code: null, signal: 'SIGKILL' });
    expect(m.s).toMatchObject({ state: 'stopped', app: 'stopped', killing: false });
  });

  it('a primary of another protocol is killed, not run', () => {
    const m = machine(null);
    m.send({ type: 'start' });
    expect(types(m.send({ type: 'hello', version: PROTOCOL_VERSION + 1 }))).toEqual(['log error', 'signal']);
    expect(m.s.state).toBe('spawning');
  });

  it('a fault with a primary alive kills it (its exit restarts it); with none, gives the app up', () => {
    const m = machine(null);
    m.up();
    const alive = m.send({ type: 'fault', where: 'x', error: new Error('bug'), message: 'bug' });
    expect(types(alive)).toEqual(['signal', 'log error']);
    m.send({ type: 'exited', code: null, signal: 'SIGKILL' });
    expect(m.s.state).toBe('backoff');
    const none = m.send({ type: 'fault', where: 'y', error: new Error('bug'), message: 'bug' });
    expect(m.s).toMatchObject({ state: 'errored', app: 'errored', reason: 'internal error: bug' });
    expect(types(none)).toEqual([
      'cancel',
      'log debug',
      'refuse pending',
      'answer start',
      'settle',
      'log error',
    ]);
    expect(m.timers.size).toBe(0);
  });
});

describe('primaryStep: the hang watch', () => {
  it('pings a running primary; one silent for hangTimeout is logged, counted and SIGKILLed, then restarted', () => {
    const m = machine(3_000);
    m.up();
    // Answered pings: one every second, and nothing else.
    for (let i = 0; i < 5; i++) {
      m.advance(1_000);
      expect(m.effects.at(-2)).toEqual({ type: 'ping' });
      m.send({ type: 'ping answered' });
    }
    expect(m.effects.some((e) => e.type === 'signal')).toBe(false);
    // Its event loop stops: the next ping goes out at 6 s and is never answered.
    m.advance(1_000);
    const sentAt = m.now;
    m.advance(2_999);
    expect(m.effects.some((e) => e.type === 'signal')).toBe(false);
    m.advance(1);
    expect(m.now - sentAt).toBe(3_000);
    const hung = m.effects.slice(-3);
    expect(hung[0]).toMatchObject({
      type: 'log',
      level: 'error',
      fields: { app: 'web', code: 'CLUSTERD_ERR_PRIMARY_HUNG', silentMs: 3_000, hangTimeout: 3_000 },
      msg: expect.stringMatching(/^the primary of app web has not answered pings for 3000 ms/),
    });
    expect(hung.slice(1)).toEqual([
      { type: 'count', what: 'hang' },
      { type: 'signal', signal: 'SIGKILL' },
    ]);
    // Its exit says why, and the primary restart policy restarts it: it ran 9 s, less than stableAfter.
    const died = m.send({ type: 'exited', code: null, signal: 'SIGKILL' });
    expect(m.s).toMatchObject({
      state: 'backoff',
      reason: 'hung: no answer to pings for 3000 ms',
      failedStarts: 1,
    });
    expect(died).toContainEqual(
      expect.objectContaining({
        msg: 'primary exited unexpectedly (hung: no answer to pings for 3000 ms), restarting in 100 ms',
      }),
    );
    // No ping timer is left for the dead primary; the next one is watched from its hello.
    expect([...m.timers.keys()]).toEqual(['restart']);
    m.advance(100);
    m.send({ type: 'hello', version: PROTOCOL_VERSION });
    expect(m.s).toMatchObject({ state: 'running', hung: null, pingSince: null });
    expect(m.timers.get('ping')).toBe(m.now + 1_000);
  });

  it("counts the health server's and the watchdog's pings: the oldest unanswered one sets the clock", () => {
    const m = machine(3_000);
    m.up();
    m.advance(200);
    m.send({ type: 'ping sent' });
    // The watch's own tick at 1 s finds a ping on its way: it sends none and checks again at the bound.
    m.advance(800);
    expect(m.effects.filter((e) => e.type === 'ping')).toEqual([]);
    m.advance(2_199);
    expect(m.effects.some((e) => e.type === 'signal')).toBe(false);
    m.advance(1);
    expect(m.effects.at(-1)).toEqual({ type: 'signal', signal: 'SIGKILL' });
    expect(m.now).toBe(3_200);
  });

  it('watches only a running primary, and not at all without hangTimeout', () => {
    const off = machine(null);
    expect(off.up().some((e) => e.type === 'schedule')).toBe(false);
    const m = machine(3_000);
    m.send({ type: 'start' });
    // Held pings before the hello do not start the clock.
    m.send({ type: 'ping sent' });
    expect(m.s.pingSince).toBeNull();
    m.send({ type: 'hello', version: PROTOCOL_VERSION });
    m.advance(1_000);
    m.send({ type: 'stop asked' });
    expect(m.timers.has('ping')).toBe(false);
    // A stopping primary is the stop's to bound, not the hang watch's.
    m.send({ type: 'ping due' });
    m.advance(60_000);
    expect(m.effects.some((e) => e.type === 'signal')).toBe(false);
  });

  it('pings twice per hangTimeout when that is shorter than a second', () => {
    const m = machine(400);
    m.up();
    expect(m.timers.get('ping')).toBe(200);
    m.advance(200);
    m.advance(400);
    expect(m.effects.at(-1)).toEqual({ type: 'signal', signal: 'SIGKILL' });
    expect(m.now).toBe(600);
  });
});
