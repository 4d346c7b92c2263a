// A canary phase's verdict as `reload` and `up` print it: one line of what decided it, then every check
// with the canaries' figure, the old workers', the limit and the result, so that a rolled-back deploy
// says why without a second command. Pure.
import type { CanaryCheck, CanaryReport } from '../primary/reload/canary-judge.js';
import { escapeField } from './terminal-text.js';

const OUTCOME: Record<CanaryReport['outcome'], string> = {
  pass: 'passed',
  fail: 'failed',
  insufficient: 'had too little traffic',
};

function figure(value: number | null, unit: CanaryCheck['unit']): string {
  if (value === null) return '-';
  switch (unit) {
    case 'count':
      return String(value);
    case 'share':
      return `${(value * 100).toFixed(2)}%`;
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
    case 'bytes':
      return `${(value / 2 ** 20).toFixed(1)} MiB`;
  }
}

const RESULT = (ok: boolean | null) => (ok === null ? 'not judged' : ok ? 'ok' : 'FAIL');

export function formatCanary(app: string, report: CanaryReport): string {
  const who = report.canaries.map((c) => `worker ${c.worker} pid ${c.pid}`).join(', ') || 'no canary';
  const then = report.proceed
    ? report.outcome === 'pass'
      ? 'the reload went on'
      : 'the reload went on (insufficientTraffic: "pass")'
    : 'its canaries were drained, the old workers serve';
  const n = report.baselineWorkers;
  const against =
    n === null
      ? 'before its window began'
      : `against ${n} old worker${n === 1 ? '' : 's'} over ${(report.observed / 1000).toFixed(1)} s`;
  const head = `${app}: canary ${OUTCOME[report.outcome]}: ${report.reason}; ${then} (${who}; ${against})`;
  const rows = [
    ['CHECK', 'CANARY', 'OLD WORKERS', 'LIMIT', 'RESULT'],
    ...report.checks.map((c) => [
      c.check,
      figure(c.canary, c.unit),
      figure(c.baseline, c.unit),
      c.limit,
      RESULT(c.ok),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const lines = rows.map(
    (r) =>
      `  ${r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}`,
  );
  return `${[head, ...lines].map((l) => escapeField(l)).join('\n')}\n`;
}
