// The default bounds of the control commands that wait (timeouts.ts) cover the worst case the apps'
// settings allow: with a readiness timeout, that includes stopping the worker that was not ready.
import { describe, expect, it } from 'vitest';
import { defaultTimeout } from '../../src/control/timeouts.js';
import { canarySettings, reloadSettings, resolvedApp } from '../helpers/fake-pool.js';

const app = resolvedApp({
  instances: 2,
  readyTimeout: 10_000,
  shutdown: { signal: 'SIGTERM', timeout: 4_000, delay: 0, spread: 1_000 },
});
const FORK = 1_000;
const EXIT = 2_000;
const MARGIN = 5_000;
// A leader's stop handlers (shutdown.timeout), then the drain: spread + timeout.
const stop = 4_000 + 1_000 + 4_000 + EXIT;

describe('defaultTimeout', () => {
  it('lets a start fail its readiness, be stopped (SIGKILL at shutdown.timeout at the latest), and be retried', () => {
    // A new primary, a first worker not ready at readyTimeout and stopped, then its retry.
    const worst = FORK + (10_000 + FORK) + stop + (10_000 + FORK);
    expect(defaultTimeout('start', [app])).toBe(worst + MARGIN);
    expect(defaultTimeout('restart', [app])).toBe(stop + worst + MARGIN);
  });

  it('lets a reload queued behind one whose last successor was not ready and is being stopped finish', () => {
    // Each: one successor after the other, the last not ready, then stopped before the reload fails.
    const reload = 2 * (10_000 + FORK) + stop;
    expect(defaultTimeout('reload', [app])).toBe(2 * reload + MARGIN);
  });

  it('counts the stop of each group before its start with reload.order stop-first', () => {
    const stopFirst = resolvedApp({ ...app, reload: reloadSettings({ parallel: 1, order: 'stop-first' }) });
    const reload = 2 * (stop + 10_000 + FORK) + stop;
    expect(defaultTimeout('reload', [stopFirst])).toBe(2 * reload + MARGIN);
  });

  it('counts a canary phase, when the app has one or the command asks for one, and the one ahead', () => {
    const reload = 2 * (10_000 + FORK) + stop;
    // The canary group, the other slot, a restoring group; warmup, window, two measurements; a stop.
    const canaried = 3 * (10_000 + FORK) + 5_000 + 30_000 + 2 * 1_000 + stop;
    const withCanary = resolvedApp({
      ...app,
      reload: reloadSettings({ canary: canarySettings({ enabled: true }) }),
    });
    expect(defaultTimeout('reload', [withCanary])).toBe(2 * canaried + MARGIN);
    // --no-canary: this one has none, the one that may run ahead does.
    expect(defaultTimeout('reload', [withCanary], false)).toBe(canaried + reload + MARGIN);
    expect(defaultTimeout('reload', [app], true)).toBe(reload + canaried + MARGIN);
  });

  it('takes the slowest app', () => {
    const slow = resolvedApp({ ...app, name: 'slow', readyTimeout: 60_000 });
    expect(defaultTimeout('start', [app, slow])).toBe(defaultTimeout('start', [slow]));
  });
});
