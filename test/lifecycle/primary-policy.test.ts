// What a primary's exit means to the root: a failed start unless it ran stableAfter, whatever the
// workers' restart policy and noRestartExitCodes say.
import { describe, expect, it } from 'vitest';
import { decidePrimaryRestart } from '../../src/lifecycle/primary-policy.js';
import { resolvedApp } from '../helpers/fake-pool.js';

const settings = {
  ...resolvedApp().restart,
  policy: 'never' as const,
  noRestartExitCodes: [0, 3],
  maxRestarts: 2,
};

describe('decidePrimaryRestart', () => {
  it('restarts a primary whatever restart.policy and noRestartExitCodes say: they are about the script', () => {
    expect(decidePrimaryRestart(settings, { code: 0, signal: null, uptime: 5 }, 0)).toEqual({
      action: 'restart',
      delay: 100,
      failedStarts: 1,
      reason: 'exit code 0',
    });
    expect(decidePrimaryRestart(settings, { code: 3, signal: null, uptime: 5 }, 1)).toMatchObject({
      action: 'restart',
      delay: 200,
      failedStarts: 2,
    });
  });

  it('counts a SIGKILL, a hang and a failed fork as failed starts, up to the crash-loop limit', () => {
    const hung = {
      code: null,
      signal: 'SIGKILL' as const,
      uptime: 9_000,
      reason: 'hung: no answer to pings for 3000 ms',
    };
    expect(decidePrimaryRestart(settings, hung, 1)).toMatchObject({ action: 'restart', failedStarts: 2 });
    expect(decidePrimaryRestart(settings, hung, 2)).toEqual({
      action: 'errored',
      reason: 'hung: no answer to pings for 3000 ms; 3 failed starts in a row (restart.maxRestarts 2)',
    });
    expect(
      decidePrimaryRestart(
        settings,
        { code: null, signal: null, uptime: 0, reason: 'could not start: EAGAIN' },
        0,
      ),
    ).toMatchObject({ action: 'restart', reason: 'could not start: EAGAIN', failedStarts: 1 });
  });

  it('starts the count over once a primary ran stableAfter, SIGKILLed or not', () => {
    for (const signal of [null, 'SIGKILL'] as const)
      expect(decidePrimaryRestart(settings, { code: 1, signal, uptime: 10_000 }, 2)).toMatchObject({
        action: 'restart',
        delay: 100,
        failedStarts: 0,
      });
  });
});
