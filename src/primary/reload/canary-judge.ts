// The verdict on a canary: its figures over the observation window against the old workers' over the
// same window (pure; the figures are measured by canary.ts). Every check says what it compared and the
// limit it held it to, so that the operator reads why a deploy was rolled back, not only that it was:
// - crash: a canary that exited (or restarted) fails, whatever its figures;
// - traffic: each side must have served `minRequests` for its rates and latencies to mean anything;
//   with fewer, the outcome is `insufficient` (the app's `insufficientTraffic` says what that does);
// - errors: the share of requests that failed (answered 5xx, or never finished: reset, or given up by
//   the client while the worker held it), failed only when higher by more than `maxErrorRateIncrease`
//   AND significantly so (a one-sided two-proportion z-test at `confidence`): 2 errors in 100 requests
//   is no evidence. Judged whatever the traffic: the test is its own guard against few requests, and
//   99 failures in 99 requests fail a canary that got too little traffic for anything else;
// - latency, loop delay: failed when over `ratio` times the old workers' AND over theirs plus the slack
//   (equal workers differ by several times at sub-millisecond figures). A percentile needs 10 / (1 - q)
//   finished requests on each side to be more than its few worst (1,000 for p99): with fewer, the highest
//   percentile that has them is compared, and the check says so. A canary that served requests but
//   finished none (each hung until reset or given up) fails;
// - rss: a canary over `maxRssRatio` times the old workers' median RSS.
import type { ResolvedCanary } from '../../config/resolved.js';

/** One side's figures over the window: the canaries together, or the old workers together. */
export interface Figures {
  /** Requests finished or aborted in the window. */
  requests: number;
  /** Of which failed: answered 5xx, or never finished (aborted). */
  errors: number;
  /** Requests finished in the window (the latencies' sample). */
  finished: number;
  /** Each latency statistic over the window's finished requests (ms); null: none finished. */
  latency: Record<LatencyStat, number | null>;
  /** p99 event-loop delay over the window (ms); null: not measured. */
  loopDelay: number | null;
  /** RSS at the end of the window (bytes): the canaries' largest, the old workers' median; null: unknown. */
  rss: number | null;
  /** Workers of this side that exited or restarted since the canaries were ready (the canaries' are judged). */
  exits: number;
}

export type LatencyStat = ResolvedCanary['latency'];

/** The finished requests a percentile needs on each side to be more than its few worst requests. */
export const SAMPLES_FOR: Record<LatencyStat, number> = { p50: 20, p90: 100, p95: 200, p99: 1_000, mean: 20 };
const FALLBACK: readonly LatencyStat[] = ['p99', 'p95', 'p90', 'p50'];

export type CheckName = 'crash' | 'traffic' | 'errors' | 'latency' | 'loop-delay' | 'rss';
export type CheckUnit = 'count' | 'share' | 'ms' | 'bytes';

export interface CanaryCheck {
  check: CheckName;
  unit: CheckUnit;
  canary: number | null;
  baseline: number | null;
  /** The limit in words: "at most 1.5x + 5 ms". */
  limit: string;
  /** null: not judged (off, or too little traffic to). */
  ok: boolean | null;
}

export type CanaryOutcome = 'pass' | 'fail' | 'insufficient';

export interface CanaryVerdict {
  outcome: CanaryOutcome;
  /** Whether the reload goes on: a pass, or too little traffic with `insufficientTraffic: "pass"`. */
  proceed: boolean;
  /** One line: what decided it. */
  reason: string;
  checks: CanaryCheck[];
}

/** The verdict, with who was compared and for how long: the reload's answer carries it. */
export interface CanaryReport extends CanaryVerdict {
  /** The canaries: slot and pid. */
  canaries: { worker: number; pid: number }[];
  /** Old workers measured over the window; null: none was (a canary crashed before it began). */
  baselineWorkers: number | null;
  /** The observation window, ms (shorter when a canary exited during it). */
  observed: number;
}

type Settings = Omit<ResolvedCanary, 'enabled' | 'workers' | 'warmup' | 'observe' | 'weight'>;

export function judgeCanary(canary: Figures, baseline: Figures, s: Settings): CanaryVerdict {
  const checks: CanaryCheck[] = [];
  const failures: string[] = [];

  checks.push({
    check: 'crash',
    unit: 'count',
    canary: canary.exits,
    // The old workers' exits are no evidence against the canary: not compared.
    baseline: null,
    limit: 'no canary exits',
    ok: canary.exits === 0,
  });
  if (canary.exits > 0) failures.push(`a canary exited (${canary.exits})`);

  const enough = canary.requests >= s.minRequests && baseline.requests >= s.minRequests;
  checks.push({
    check: 'traffic',
    unit: 'count',
    canary: canary.requests,
    baseline: baseline.requests,
    limit: `at least ${s.minRequests} requests each`,
    ok: enough,
  });

  const judged = <T>(ok: T) => (enough ? ok : null);
  const pct = (x: number) => `${(x * 100).toFixed(1).replace(/\.0$/, '')}`;

  // Errors: judged whatever the traffic (see above).
  const cRate = canary.requests ? canary.errors / canary.requests : null;
  const bRate = baseline.requests ? baseline.errors / baseline.requests : null;
  if (s.maxErrorRateIncrease === null) {
    checks.push({
      check: 'errors',
      unit: 'share',
      canary: cRate,
      baseline: bRate,
      limit: 'not judged',
      ok: null,
    });
  } else {
    const worse =
      cRate !== null &&
      bRate !== null &&
      significantlyHigher(
        canary.errors,
        canary.requests,
        baseline.errors,
        baseline.requests,
        s.maxErrorRateIncrease,
        s.confidence,
      );
    const ok = worse ? false : judged(true);
    checks.push({
      check: 'errors',
      unit: 'share',
      canary: cRate,
      baseline: bRate,
      limit: `5xx or unfinished at most +${pct(s.maxErrorRateIncrease)} points (z-test, ${pct(s.confidence)}%)`,
      ok,
    });
    if (ok === false)
      failures.push(`failed requests (5xx or unfinished) ${pct(cRate ?? 0)}% vs ${pct(bRate ?? 0)}%`);
  }

  // Latency and loop delay: ratio AND slack.
  const slower = (c: number | null, b: number | null, ratio: number, slack: number) =>
    c !== null && b !== null && c > b * ratio && c > b + slack;
  const ms = (x: number) => `${Math.round(x * 10) / 10} ms`;
  const samples = Math.min(canary.finished, baseline.finished);
  const stat =
    s.latency === 'mean' || samples >= SAMPLES_FOR[s.latency]
      ? s.latency
      : FALLBACK.slice(FALLBACK.indexOf(s.latency)).find((q) => samples >= SAMPLES_FOR[q]);
  if (s.maxLatencyRatio !== null && enough && canary.finished === 0) {
    checks.push({
      check: 'latency',
      unit: 'ms',
      canary: null,
      baseline: baseline.latency[s.latency],
      limit: 'some requests must finish',
      ok: false,
    });
    failures.push(`no canary request finished (${canary.requests} never did)`);
  } else if (s.maxLatencyRatio === null || stat === undefined) {
    const cl = canary.latency[s.latency];
    const bl = baseline.latency[s.latency];
    const limit =
      s.maxLatencyRatio === null ? 'not judged' : `${s.latency}: too few finished requests to judge`;
    checks.push({ check: 'latency', unit: 'ms', canary: cl, baseline: bl, limit, ok: null });
  } else {
    const c = canary.latency[stat];
    const b = baseline.latency[stat];
    const ok = judged(!slower(c, b, s.maxLatencyRatio, s.latencySlack));
    const fallback = stat === s.latency ? '' : ` (too few requests for ${s.latency})`;
    checks.push({
      check: 'latency',
      unit: 'ms',
      canary: c,
      baseline: b,
      limit: `${stat} at most ${s.maxLatencyRatio}x or +${s.latencySlack} ms${fallback}`,
      ok,
    });
    if (ok === false) failures.push(`${stat} latency ${ms(c ?? 0)} vs ${ms(b ?? 0)}`);
  }
  if (s.maxLoopDelayRatio === null) {
    checks.push({
      check: 'loop-delay',
      unit: 'ms',
      canary: canary.loopDelay,
      baseline: baseline.loopDelay,
      limit: 'not judged',
      ok: null,
    });
  } else {
    // Measured whatever the traffic: a loop blocked with no requests is still blocked.
    const ok = !slower(canary.loopDelay, baseline.loopDelay, s.maxLoopDelayRatio, s.loopDelaySlack);
    checks.push({
      check: 'loop-delay',
      unit: 'ms',
      canary: canary.loopDelay,
      baseline: baseline.loopDelay,
      limit: `p99 at most ${s.maxLoopDelayRatio}x or +${s.loopDelaySlack} ms`,
      ok,
    });
    if (!ok)
      failures.push(`event-loop delay p99 ${ms(canary.loopDelay ?? 0)} vs ${ms(baseline.loopDelay ?? 0)}`);
  }

  if (s.maxRssRatio === null) {
    checks.push({
      check: 'rss',
      unit: 'bytes',
      canary: canary.rss,
      baseline: baseline.rss,
      limit: 'not judged',
      ok: null,
    });
  } else {
    const ok = !(canary.rss !== null && baseline.rss !== null && canary.rss > baseline.rss * s.maxRssRatio);
    checks.push({
      check: 'rss',
      unit: 'bytes',
      canary: canary.rss,
      baseline: baseline.rss,
      limit: `at most ${s.maxRssRatio}x the median`,
      ok,
    });
    if (!ok)
      failures.push(
        `RSS ${Math.round((canary.rss ?? 0) / 2 ** 20)} MiB vs ${Math.round((baseline.rss ?? 0) / 2 ** 20)} MiB`,
      );
  }

  if (failures.length) return { outcome: 'fail', proceed: false, reason: failures.join('; '), checks };
  if (!enough) {
    const reason = `too little traffic to judge: ${canary.requests} canary and ${baseline.requests} baseline requests, ${s.minRequests} needed each`;
    return { outcome: 'insufficient', proceed: s.insufficientTraffic === 'pass', reason, checks };
  }
  return { outcome: 'pass', proceed: true, reason: 'no regression', checks };
}

/**
 * Is the first share (x1 of n1) higher than the second (x2 of n2) by more than `margin`, at `confidence`?
 * A one-sided Wald test of p1 - p2 > margin; with no variance at all (both shares 0 or 1), the plain
 * comparison.
 */
export function significantlyHigher(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  margin: number,
  confidence: number,
): boolean {
  if (n1 === 0 || n2 === 0) return false;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const diff = p1 - p2 - margin;
  if (diff <= 0) return false;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  if (se === 0) return true;
  return diff / se > normalQuantile(confidence);
}

/**
 * The standard normal distribution's quantile (the z for a one-sided `p`), by Acklam's rational
 * approximation (relative error under 1.2e-9), for 0 < p < 1.
 */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (k: readonly number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}
