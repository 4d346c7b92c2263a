// What `clusterd up` does to each app once its config change is done: pure.
import { describe, expect, it } from 'vitest';
import { nextStep } from '../../src/supervisor/up.js';

const ok = { ok: true as const, result: {} };
const failed = {
  ok: false as const,
  code: 'CLUSTERD_ERR_RELOAD_FAILED' as const,
  reason: 'worker 0 did not get ready',
};

describe('up: the step after the config change', () => {
  it.each([
    // change, outcomes, settled (stopped or errored), step
    [null, [], false, 'reload'],
    [null, [], true, 'start'],
    ['scaled', [ok], false, 'reload'],
    ['scaled', [failed], false, null],
    ['rolled', [ok], false, null],
    ['rolled', [ok, ok], false, null],
    ['rolled', [failed], false, null],
    // Not rolled now (stopped, or its primary restarting): its next start has the settings.
    ['rolled', [], true, 'start'],
    ['rolled', [], false, 'reload'],
    ['added', [ok], false, null],
    ['added', [failed], true, null],
    ['restarted', [ok], false, null],
    ['removed', [ok], true, null],
  ] as const)('%s with %j, settled %s: %s', (change, outcomes, settled, step) => {
    expect(nextStep(change, outcomes, settled)).toBe(step);
  });
});
