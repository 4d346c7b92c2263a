// The canary's verdict as reload and up print it (pure).
import { describe, expect, it } from 'vitest';
import { formatCanary } from '../../src/cli/canary-table.js';
import type { CanaryReport } from '../../src/primary/reload/canary-judge.js';

const report: CanaryReport = {
  outcome: 'fail',
  proceed: false,
  reason: '5xx 20% vs 0%',
  checks: [
    { check: 'crash', unit: 'count', canary: 0, baseline: null, limit: 'no canary exits', ok: true },
    { check: 'errors', unit: 'share', canary: 0.2, baseline: 0, limit: 'at most +1 points', ok: false },
    {
      check: 'latency',
      unit: 'ms',
      canary: 12.34,
      baseline: 4.5,
      limit: 'p99 at most 1.5x or +5 ms',
      ok: null,
    },
    { check: 'rss', unit: 'bytes', canary: 80 * 2 ** 20, baseline: null, limit: 'not judged', ok: null },
  ],
  canaries: [{ worker: 0, pid: 41 }],
  baselineWorkers: 3,
  observed: 4_000,
};

describe('canary table', () => {
  it('prints what decided it, then every check with both sides, its limit and its result', () => {
    expect(formatCanary('web', report)).toBe(
      [
        'web: canary failed: 5xx 20% vs 0%; its canaries were drained, the old workers serve (worker 0 pid 41; against 3 old workers over 4.0 s)',
        '  CHECK    CANARY    OLD WORKERS  LIMIT                      RESULT',
        '  crash    0         -            no canary exits            ok',
        '  errors   20.00%    0.00%        at most +1 points          FAIL',
        '  latency  12.3 ms   4.50 ms      p99 at most 1.5x or +5 ms  not judged',
        '  rss      80.0 MiB  -            not judged                 not judged',
        '',
      ].join('\n'),
    );
  });

  it('says when a canary crashed before its window, and when the reload went on', () => {
    expect(formatCanary('web', { ...report, baselineWorkers: null, observed: 0 })).toMatch(
      /\(worker 0 pid 41; before its window began\)\n/,
    );
    expect(formatCanary('web', { ...report, outcome: 'insufficient', proceed: true })).toMatch(
      /^web: canary had too little traffic: .*; the reload went on \(insufficientTraffic: "pass"\)/,
    );
  });

  it('escapes what came from elsewhere', () => {
    expect(formatCanary('web\u001b[2J', report)).not.toContain('\u001b');
  });
});
