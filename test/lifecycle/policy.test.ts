// The restart policy is pure: these tests drive it with fake time, as a supervisor would over minutes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedRestart } from '../../src/config/resolved.js';
import {
  backoffDelay,
  type Decision,
  decideRestart,
  EMPTY_HISTORY,
  type RestartHistory,
} from '../../src/lifecycle/policy.js';

const settings: ResolvedRestart = {
  policy: 'on-failure',
  backoff: { initial: 100, factor: 2, max: 1_000 },
  maxRestarts: 4,
  window: 60_000,
  stableAfter: 10_000,
  noRestartExitCodes: [3],
};
const crash = { code: 1, signal: null, uptime: 50 };

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

// Crashes a worker every time its restart comes due, like a boot-time crash loop.
function crashLoop(s: ResolvedRestart, uptime = 50): Decision[] {
  const decisions: Decision[] = [];
  let history: RestartHistory = EMPTY_HISTORY;
  for (;;) {
    vi.advanceTimersByTime(uptime);
    const d = decideRestart(s, { ...crash, uptime }, history, Date.now());
    decisions.push(d);
    if (d.action !== 'restart') return decisions;
    history = d.history;
    vi.advanceTimersByTime(d.delay);
  }
}

describe('restart policy', () => {
  it('restarts with exponential backoff capped at max', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay({ ...settings, maxRestarts: 100 }, n))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('errors after exactly maxRestarts restarts within the window', () => {
    const decisions = crashLoop(settings);
    expect(decisions.map((d) => d.action)).toEqual(['restart', 'restart', 'restart', 'restart', 'errored']);
    expect(decisions.slice(0, 4).map((d) => (d.action === 'restart' ? d.delay : 0))).toEqual([
      100, 200, 400, 800,
    ]);
    expect(decisions.at(-1)?.reason).toBe(
      'exit code 1; 4 restarts within 60000 ms reached restart.maxRestarts (4)',
    );
  });

  it('forgets restarts that fell out of the window', () => {
    // Each crash after 20 s of uptime: restarts are 20 s apart, so at most 3 are ever within a minute.
    const s = { ...settings, stableAfter: 60_000, backoff: { ...settings.backoff, max: 100 } };
    let history: RestartHistory = EMPTY_HISTORY;
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(20_000);
      const d = decideRestart(s, { ...crash, uptime: 20_000 }, history, Date.now());
      expect(d.action).toBe('restart');
      if (d.action === 'restart') history = d.history;
      expect(history.restarts.length).toBeLessThanOrEqual(3);
    }
  });

  it('starts the backoff over once a worker stayed up stableAfter', () => {
    let history: RestartHistory = EMPTY_HISTORY;
    const delays: number[] = [];
    for (const uptime of [50, 50, 50, 10_000, 50]) {
      vi.advanceTimersByTime(uptime);
      const d = decideRestart({ ...settings, maxRestarts: 100 }, { ...crash, uptime }, history, Date.now());
      if (d.action !== 'restart') throw new Error(d.reason);
      delays.push(d.delay);
      history = d.history;
      vi.advanceTimersByTime(d.delay);
    }
    expect(delays).toEqual([100, 200, 400, 100, 200]);
  });

  it('restarts clean exits only under "always"', () => {
    const clean = { code: 0, signal: null, uptime: 5 };
    expect(decideRestart(settings, clean, EMPTY_HISTORY, Date.now())).toEqual({
      action: 'stop',
      reason: 'exit code 0, a clean exit (restart policy is on-failure)',
    });
    expect(decideRestart({ ...settings, policy: 'always' }, clean, EMPTY_HISTORY, Date.now()).action).toBe(
      'restart',
    );
  });

  it('never restarts under "never", nor an exit code listed in noRestartExitCodes', () => {
    expect(decideRestart({ ...settings, policy: 'never' }, crash, EMPTY_HISTORY, Date.now())).toEqual({
      action: 'stop',
      reason: 'exit code 1, restart policy is never',
    });
    expect(
      decideRestart({ ...settings, policy: 'always' }, { ...crash, code: 3 }, EMPTY_HISTORY, Date.now()),
    ).toEqual({
      action: 'stop',
      reason: 'exit code 3, listed in restart.noRestartExitCodes',
    });
  });

  it('treats a signal, or a clusterd reason, as a failure even with exit code 0', () => {
    const killed = decideRestart(
      settings,
      { code: null, signal: 'SIGKILL', uptime: 5 },
      EMPTY_HISTORY,
      Date.now(),
    );
    expect(killed).toMatchObject({ action: 'restart', reason: 'killed by SIGKILL' });
    const late = decideRestart(
      settings,
      { code: 0, signal: null, uptime: 5, reason: 'not ready within 1s' },
      EMPTY_HISTORY,
      Date.now(),
    );
    expect(late).toMatchObject({ action: 'restart', reason: 'not ready within 1s' });
  });

  it('restarts a serving worker killed from outside (SIGKILL) without counting it as a crash loop', () => {
    const killed = { code: null, signal: 'SIGKILL' as const, uptime: 300, ready: true };
    let history: RestartHistory = { attempts: 1, restarts: [Date.now()] };
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(300);
      const d = decideRestart(settings, killed, history, Date.now());
      expect(d).toMatchObject({ action: 'restart', delay: 200, reason: 'killed by SIGKILL while serving' });
      if (d.action === 'restart') history = d.history;
    }
    expect(history.attempts).toBe(1);
    // A stable slot gets its capacity back at once.
    expect(decideRestart(settings, killed, EMPTY_HISTORY, Date.now())).toMatchObject({ delay: 0 });
    // The same kill before the worker was ready, or a crash of its own while serving, counts.
    const atBoot = crashLoop({ ...settings, maxRestarts: 2 });
    expect(atBoot.at(-1)?.action).toBe('errored');
    let own: RestartHistory = EMPTY_HISTORY;
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const d = decideRestart(
        { ...settings, maxRestarts: 2 },
        { code: null, signal: 'SIGKILL', uptime: 300, ready: false },
        own,
        Date.now(),
      );
      actions.push(d.action);
      if (d.action === 'restart') own = d.history;
    }
    expect(actions).toEqual(['restart', 'restart', 'errored']);
    const selfCrash = decideRestart(
      { ...settings, maxRestarts: 0 },
      { ...crash, ready: true },
      EMPTY_HISTORY,
      Date.now(),
    );
    expect(selfCrash.action).toBe('errored');
  });

  it('with maxRestarts 0, errors at the first crash', () => {
    expect(decideRestart({ ...settings, maxRestarts: 0 }, crash, EMPTY_HISTORY, Date.now()).action).toBe(
      'errored',
    );
  });
});
