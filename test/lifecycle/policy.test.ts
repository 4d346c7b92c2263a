// The restart policy is pure: these tests drive it with fake time, as a supervisor would over minutes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedRestart } from '../../src/config/resolved.js';
import {
  backoffDelay,
  crashLoopLimit,
  type Decision,
  decideRestart,
  type Exit,
} from '../../src/lifecycle/policy.js';

const settings: ResolvedRestart = {
  policy: 'on-failure',
  backoff: { initial: 100, factor: 2, max: 1_000 },
  maxRestarts: 4,
  stableAfter: 10_000,
  noRestartExitCodes: [3],
};
const crash = { code: 1, signal: null, uptime: 50 };
// The built-in defaults (src/config/defaults.ts), resolved.
const defaults: ResolvedRestart = {
  policy: 'on-failure',
  backoff: { initial: 100, factor: 2, max: 15_000 },
  maxRestarts: 10,
  stableAfter: 10_000,
  noRestartExitCodes: [],
};

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

// Runs a process that ends `exit` after `exit.uptime` every time, restarted when its backoff is over,
// until the policy gives up (or `limit` exits): the decisions, and the time it took.
function loop(s: ResolvedRestart, exit: Exit = crash, limit = 10_000) {
  const decisions: Decision[] = [];
  const start = Date.now();
  let failedStarts = 0;
  while (decisions.length < limit) {
    vi.advanceTimersByTime(exit.uptime);
    const d = decideRestart(s, exit, failedStarts);
    decisions.push(d);
    if (d.action !== 'restart') break;
    failedStarts = d.failedStarts;
    vi.advanceTimersByTime(d.delay);
  }
  return { decisions, ms: Date.now() - start, failedStarts };
}

const actions = (decisions: Decision[]) => decisions.map((d) => d.action);
const delays = (decisions: Decision[]) => decisions.flatMap((d) => (d.action === 'restart' ? [d.delay] : []));

describe('restart policy', () => {
  it('restarts with exponential backoff capped at max', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(settings, n))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('never turns a zero initial delay into NaN, however many failures (0 * 2^2000)', () => {
    const zero = { ...settings, backoff: { initial: 0, factor: 2, max: 1_000 } };
    expect([0, 1_100, 100_000].map((n) => backoffDelay(zero, n))).toEqual([0, 0, 0]);
    expect(backoffDelay({ ...settings, maxRestarts: 100_000 }, 100_000)).toBe(1_000);
  });

  it('errors after maxRestarts + 1 failed starts in a row: the first start and maxRestarts restarts', () => {
    const { decisions } = loop(settings);
    expect(actions(decisions)).toEqual(['restart', 'restart', 'restart', 'restart', 'errored']);
    expect(delays(decisions)).toEqual([100, 200, 400, 800]);
    expect(decisions.at(-1)?.reason).toBe('exit code 1; 5 failed starts in a row (restart.maxRestarts 4)');
  });

  it('reaches the limit whatever the boot time: a crash 1.2 s after boot, with the defaults', () => {
    // Before: maxRestarts within a 1 m window, which a backoff of 15 s never filled: restarted forever.
    const late = { ...crash, uptime: 1_200 };
    const { decisions, ms } = loop(defaults, late);
    expect(decisions).toHaveLength(11);
    expect(decisions.at(-1)).toEqual({
      action: 'errored',
      reason: 'exit code 1; 11 failed starts in a row (restart.maxRestarts 10)',
    });
    // The time it takes is what validate promises: the backoff between the starts, plus their run time.
    expect(ms).toBe(crashLoopLimit(defaults).backoffMs + 11 * 1_200);
    // The same for a process that stays up 9.9 s each time: just under stableAfter is still a failure.
    expect(loop(defaults, { ...crash, uptime: 9_999 }).decisions).toHaveLength(11);
  });

  it('starts the count and the backoff over once a process stayed up stableAfter', () => {
    let failedStarts = 0;
    const seen: Decision[] = [];
    for (const uptime of [50, 50, 50, 50, 10_000, 50, 50, 50, 50, 50]) {
      const d = decideRestart(settings, { ...crash, uptime }, failedStarts);
      seen.push(d);
      if (d.action !== 'restart') break;
      failedStarts = d.failedStarts;
    }
    // 4 failures, then a stable run (not a failed start: its crash restarts after `initial`), then the
    // limit again counts from zero: 4 more restarts allowed, the 5th failure errors.
    expect(actions(seen)).toEqual([...Array(9).fill('restart'), 'errored']);
    expect(delays(seen)).toEqual([100, 200, 400, 800, 100, 100, 200, 400, 800]);
    expect(seen.slice(0, 5).map((d) => (d.action === 'restart' ? d.failedStarts : -1))).toEqual([
      1, 2, 3, 4, 0,
    ]);
  });

  it('counts a readiness timeout as a failed start, even when readyTimeout is longer than stableAfter', () => {
    const timeout = {
      code: null,
      signal: 'SIGKILL' as const,
      uptime: 30_000,
      ready: false,
      reason: 'not ready within 30s',
    };
    const { decisions } = loop(settings, timeout);
    expect(actions(decisions)).toEqual(['restart', 'restart', 'restart', 'restart', 'errored']);
    expect(decisions.at(-1)?.reason).toBe(
      'not ready within 30s; 5 failed starts in a row (restart.maxRestarts 4)',
    );
    // Ready and up that long, it was a good start.
    expect(decideRestart(settings, { ...crash, uptime: 30_000, ready: true }, 4)).toMatchObject({
      action: 'restart',
      failedStarts: 0,
    });
  });

  it('restarts clean exits only under "always"', () => {
    const clean = { code: 0, signal: null, uptime: 5 };
    expect(decideRestart(settings, clean, 0)).toEqual({
      action: 'stop',
      reason: 'exit code 0, a clean exit (restart policy is on-failure)',
    });
    expect(decideRestart({ ...settings, policy: 'always' }, clean, 0).action).toBe('restart');
  });

  it('never restarts under "never", nor an exit code listed in noRestartExitCodes', () => {
    expect(decideRestart({ ...settings, policy: 'never' }, crash, 0)).toEqual({
      action: 'stop',
      reason: 'exit code 1, restart policy is never',
    });
    expect(decideRestart({ ...settings, policy: 'always' }, { ...crash, code: 3 }, 0)).toEqual({
      action: 'stop',
      reason: 'exit code 3, listed in restart.noRestartExitCodes',
    });
  });

  it('treats a signal, or a clusterd reason, as a failure even with exit code 0', () => {
    const killed = decideRestart(settings, { code: null, signal: 'SIGKILL', uptime: 5 }, 0);
    expect(killed).toMatchObject({ action: 'restart', reason: 'killed by SIGKILL', failedStarts: 1 });
    const late = decideRestart(
      settings,
      { code: 0, signal: null, uptime: 5, reason: 'not ready within 1s' },
      0,
    );
    expect(late).toMatchObject({ action: 'restart', reason: 'not ready within 1s', failedStarts: 1 });
  });

  it('restarts a serving process killed from outside (SIGKILL) without counting it, nor forgetting the count', () => {
    const killed = { code: null, signal: 'SIGKILL' as const, uptime: 300, ready: true };
    // 50 kills of a slot that has one failed start: each restarts after the slot's current delay.
    const { decisions, failedStarts } = (() => {
      const all: Decision[] = [];
      let count = 1;
      for (let i = 0; i < 50; i++) {
        const d = decideRestart(settings, killed, count);
        all.push(d);
        if (d.action === 'restart') count = d.failedStarts;
      }
      return { decisions: all, failedStarts: count };
    })();
    for (const d of decisions) {
      expect(d).toEqual({
        action: 'restart',
        delay: 100,
        failedStarts: 1,
        reason: 'killed by SIGKILL while serving',
      });
    }
    expect(failedStarts).toBe(1);
    // A slot with no failed start gets its capacity back at once, and a long-serving one is stable.
    expect(decideRestart(settings, killed, 0)).toMatchObject({ delay: 0, failedStarts: 0 });
    expect(decideRestart(settings, { ...killed, uptime: 10_000 }, 3)).toMatchObject({
      delay: 0,
      failedStarts: 0,
    });
    // The same kill before the process was ready counts, and so does a crash of its own while serving.
    expect(
      loop({ ...settings, maxRestarts: 2 }, { ...killed, ready: false }).decisions.map((d) => d.action),
    ).toEqual(['restart', 'restart', 'errored']);
    expect(decideRestart({ ...settings, maxRestarts: 0 }, { ...crash, ready: true }, 0).action).toBe(
      'errored',
    );
    // A primary (no readiness of its own) SIGKILLed early counts: a fault that repeats must end.
    expect(decideRestart(settings, { code: null, signal: 'SIGKILL', uptime: 300 }, 4).action).toBe('errored');
  });

  it('with maxRestarts 0, errors at the first failed start, and still restarts after a stable run', () => {
    const none = { ...settings, maxRestarts: 0 };
    expect(decideRestart(none, crash, 0)).toEqual({
      action: 'errored',
      reason: 'exit code 1; 1 failed start in a row (restart.maxRestarts 0)',
    });
    expect(decideRestart(none, { ...crash, uptime: 10_000 }, 0).action).toBe('restart');
  });
});

describe('crash-loop limit, as validate shows it', () => {
  it('is maxRestarts + 1 failed starts after the sum of the backoff delays between them', () => {
    // 100 + 200 + ... + 12,800 + 15,000 + 15,000.
    expect(crashLoopLimit(defaults)).toEqual({ failedStarts: 11, backoffMs: 55_500 });
    expect(crashLoopLimit(settings)).toEqual({ failedStarts: 5, backoffMs: 1_500 });
    expect(crashLoopLimit({ ...settings, maxRestarts: 0 })).toEqual({ failedStarts: 1, backoffMs: 0 });
    // Large limits are summed without a walk through every delay, and agree with one.
    for (const maxRestarts of [1, 6, 7, 100, 100_000]) {
      const s = { ...defaults, maxRestarts };
      const walked = [...Array(maxRestarts).keys()].reduce((sum, n) => sum + backoffDelay(s, n), 0);
      expect(crashLoopLimit(s)).toEqual({ failedStarts: maxRestarts + 1, backoffMs: walked });
    }
    const flat = { ...settings, backoff: { initial: 50, factor: 1, max: 200 }, maxRestarts: 3 };
    expect(crashLoopLimit(flat).backoffMs).toBe(150);
  });

  it('agrees with the policy run against fake time, for instant crashes', () => {
    for (const s of [settings, defaults, { ...defaults, maxRestarts: 0 }, { ...defaults, maxRestarts: 30 }]) {
      const { decisions, ms } = loop(s, { ...crash, uptime: 0 });
      const limit = crashLoopLimit(s);
      expect(decisions).toHaveLength(limit.failedStarts);
      expect(ms).toBe(limit.backoffMs);
    }
  });
});
