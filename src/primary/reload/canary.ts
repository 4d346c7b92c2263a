// A deploy's canary phase, between the canaries' `ready` and the verdict: the canaries serve beside the
// old workers (each beside the one it will replace) for `warmup`, unjudged, then both sides are measured
// at the start and at the end of `observe` (the workers' cumulative request counts: the difference is
// the window, the same for both sides), and judged (canary-judge.ts). With a `weight`, the balancer gives
// the canaries that share of new connections for the whole phase. A canary that exits ends the phase
// at once (rolling-reload.ts hears it first); so does the reload's abort.
import type { ResolvedCanary } from '../../config/resolved.js';
import {
  add,
  type CountsSample,
  emptyCounts,
  quantile,
  type RequestCounts,
  requests,
  subtract,
  underWay,
} from '../../health/request-stats.js';
import type { PrimaryMessage } from '../../protocol.js';
import { type CanaryReport, type CanaryVerdict, type Figures, judgeCanary } from './canary-judge.js';

export type { CanaryReport } from './canary-judge.js';

/** What the canary phase does to the world; the pool's effects in production, fakes in tests. */
export interface CanaryEffects {
  timer(ms: number, fn: () => void): () => void;
  now(): number;
  /** Every live worker's cumulative request counts (those that do not answer in time are left out). */
  measure(): Promise<CountsSample[]>;
  /** The balancer's share for these workers' new connections; `pids` empty: back to normal. */
  weigh(pids: readonly number[], weight: number | null): void;
  send(message: PrimaryMessage): void;
}

export interface Canary {
  readonly slot: number;
  readonly pid: number | null;
}

const STAT_Q = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;

/** Every latency statistic of a histogram of finished requests (ms). */
function statistics(counts: RequestCounts): Figures['latency'] {
  const n = counts.latency.counts.reduce((a, b) => a + b, 0);
  return {
    p50: quantile(counts.latency, STAT_Q.p50),
    p90: quantile(counts.latency, STAT_Q.p90),
    p95: quantile(counts.latency, STAT_Q.p95),
    p99: quantile(counts.latency, STAT_Q.p99),
    mean: n ? counts.latency.sum / n : null,
  };
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One side's figures from its workers' windows and their end samples. */
export function figuresOf(
  windows: readonly RequestCounts[],
  rss: readonly number[],
  rssOf: 'max' | 'median',
  exits: number,
  /** Requests that were under way at the window's end and not at its start: hung, so far. */
  hung = 0,
): Figures {
  const sum = windows.reduce((a, b) => add(a, b), emptyCounts());
  return {
    requests: requests(sum) + hung,
    // A request that never finished (reset, or given up by its client), or is still hanging, failed as
    // a 5xx did.
    errors: sum.classes[4] + sum.aborted + hung,
    finished: requests(sum) - sum.aborted,
    latency: statistics(sum),
    loopDelay: windows.length ? quantile(sum.loopDelay, 0.99) : null,
    rss: rssOf === 'max' ? (rss.length ? Math.max(...rss) : null) : median([...rss]),
    exits,
  };
}

/**
 * The figures of both sides over a window: samples at its start and at its end, keyed by pid. Only a
 * worker measured at both ends counts: one that missed the start measurement (a long pause) would bring
 * its whole life into the window, and one that started during it is in neither side's window; a canary
 * missing at either end is `unanswered`.
 */
export function windowFigures(
  start: readonly CountsSample[],
  end: readonly CountsSample[],
  canaryPids: ReadonlySet<number>,
): { canary: Figures; baseline: Figures; baselineWorkers: number; unanswered: number } {
  const before = new Map(start.map((s) => [s.pid, s.counts]));
  const measured = end.filter((s) => before.has(s.pid));
  const side = (canary: boolean) => measured.filter((s) => canaryPids.has(s.pid) === canary);
  const windows = (samples: CountsSample[]) =>
    samples.map((s) => subtract(s.counts, before.get(s.pid) ?? null));
  // More requests under way at the end than at the start: that many started and have not ended (a worker
  // under steady load has about as many under way at any two moments).
  const hung = (samples: CountsSample[]) =>
    samples.reduce((n, s) => {
      const was = before.get(s.pid);
      return n + Math.max(0, underWay(s.counts) - (was ? underWay(was) : 0));
    }, 0);
  const canaries = side(true);
  const baseline = side(false);
  return {
    canary: figuresOf(
      windows(canaries),
      canaries.map((s) => s.rss),
      'max',
      0,
      hung(canaries),
    ),
    baseline: figuresOf(
      windows(baseline),
      baseline.map((s) => s.rss),
      'median',
      0,
      hung(baseline),
    ),
    baselineWorkers: baseline.length,
    unanswered: canaryPids.size - canaries.length,
  };
}

export class CanaryWatch {
  private cancelTimer: () => void = () => {};
  private over = false;
  private observeStart: number | null = null;
  /** Old workers measured at the window's start: who the canaries are compared with. */
  private baselineAtStart: number | null = null;
  private readonly pids: Set<number>;

  constructor(
    private readonly fx: CanaryEffects,
    private readonly settings: ResolvedCanary,
    private readonly canaries: readonly Canary[],
    private readonly done: (report: CanaryReport) => void,
  ) {
    this.pids = new Set(canaries.flatMap((c) => (c.pid === null ? [] : [c.pid])));
  }

  start(): void {
    const s = this.settings;
    if (s.weight !== null) this.fx.weigh([...this.pids], s.weight);
    this.fx.send({
      type: 'canary',
      phase: 'started',
      workers: this.canaries.map((c) => c.slot),
      warmup: s.warmup,
      observe: s.observe,
      weight: s.weight,
    });
    this.cancelTimer = this.fx.timer(s.warmup, () => void this.observe());
  }

  /** A canary exited: the phase ends now, failed, with the window so far. */
  crashed(canary: Canary, reason: string): CanaryReport {
    const report = this.report({
      outcome: 'fail',
      proceed: false,
      reason: `canary worker ${canary.slot} exited: ${reason}`,
      checks: [
        { check: 'crash', unit: 'count', canary: 1, baseline: null, limit: 'no canary exits', ok: false },
      ],
    });
    this.end();
    return report;
  }

  cancel(): void {
    this.end();
  }

  private async observe(): Promise<void> {
    if (this.over) return;
    const start = await this.fx.measure();
    if (this.over) return;
    this.observeStart = this.fx.now();
    this.baselineAtStart = start.filter((s) => !this.pids.has(s.pid)).length;
    this.fx.send({ type: 'canary', phase: 'observing', observe: this.settings.observe });
    this.cancelTimer = this.fx.timer(this.settings.observe, () => void this.judge(start));
  }

  private async judge(start: CountsSample[]): Promise<void> {
    if (this.over) return;
    const end = await this.fx.measure();
    if (this.over) return;
    const w = windowFigures(start, end, this.pids);
    let verdict = judgeCanary(w.canary, w.baseline, this.settings);
    if (w.unanswered > 0)
      verdict = {
        ...verdict,
        outcome: 'fail',
        proceed: false,
        reason: `a canary did not answer its measurement within 1 s (its event loop is blocked)${verdict.outcome === 'fail' ? `; ${verdict.reason}` : ''}`,
      };
    const report = this.report(verdict, w.baselineWorkers);
    this.end();
    this.done(report);
  }

  // A crash's report has the old workers measured at the window's start (none during the warmup).
  private report(verdict: CanaryVerdict, baselineWorkers = this.baselineAtStart): CanaryReport {
    const report: CanaryReport = {
      ...verdict,
      canaries: this.canaries.flatMap((c) => (c.pid === null ? [] : [{ worker: c.slot, pid: c.pid }])),
      baselineWorkers,
      observed: this.observeStart === null ? 0 : this.fx.now() - this.observeStart,
    };
    this.fx.send({ type: 'canary', phase: 'judged', report });
    return report;
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    this.cancelTimer();
    if (this.settings.weight !== null) this.fx.weigh([], null);
  }
}
