// The request history of an app's workers, kept by its primary: every 2 s each worker is asked for its
// request counts (scrape-counts.ts), and about a minute of samples is kept per worker process, so that
// what happened over any recent window is the difference of two samples of one process. `status` reads
// each worker's req/s, 5xx share and p99 over the last 10 s from it (`report`), and a reload can compare
// workers over the same window (`between`, `onSample`). Everything it runs on is injected (the scrape,
// a timer, the clock), so it is unit-tested on fake time with made-up samples.
import {
  add,
  type CountsSample,
  emptyCounts,
  quantile,
  type RequestCounts,
  requests,
  serverErrorShare,
  subtract,
} from '../../health/request-stats.js';
import type { OpResults, RequestFigures } from '../../protocol.js';

/** How often the workers are sampled (ms). */
export const SAMPLE_EVERY_MS = 2_000;
/** How long samples are kept (ms): the longest window one can ask about. */
export const KEEP_MS = 60_000;
/** The window `status` shows (ms). */
export const STATUS_WINDOW_MS = 10_000;

export interface HistoryOptions {
  /** One sample of every worker that answers in time. */
  scrape: () => Promise<CountsSample[]>;
  timer: (ms: number, fn: () => void) => () => void;
  now: () => number;
  everyMs?: number;
  keepMs?: number;
}

/** What one process did over a window: its counts, and the samples the window runs between. */
export interface Window {
  counts: RequestCounts;
  /** `at` of the sample it starts from (the workers' clock, ms since the epoch). */
  from: number;
  /** `at` of the sample it ends at. */
  to: number;
}

/** A worker's figures over a window, with the counts they are read from (null: nothing known). */
export interface WorkerFigures extends RequestFigures {
  worker: number;
  pid: number;
  window: Window | null;
}

/** The figures of a window's counts over `ms`: null where they say nothing. */
export function figuresOf(counts: RequestCounts, ms: number): RequestFigures {
  return {
    rate: ms > 0 ? (requests(counts) * 1000) / ms : null,
    serverErrors: serverErrorShare(counts),
    p99: quantile(counts.latency, 0.99),
    p50: quantile(counts.latency, 0.5),
    loopDelay: quantile(counts.loopDelay, 0.99),
  };
}

const UNKNOWN: RequestFigures = { rate: null, serverErrors: null, p99: null, p50: null, loopDelay: null };

export class RequestHistory {
  private readonly byPid = new Map<number, CountsSample[]>();
  private readonly listeners = new Set<(samples: readonly CountsSample[]) => void>();
  private cancel: (() => void) | null = null;
  private running = false;
  private readonly everyMs: number;
  private readonly keepMs: number;

  constructor(private readonly options: HistoryOptions) {
    this.everyMs = options.everyMs ?? SAMPLE_EVERY_MS;
    this.keepMs = options.keepMs ?? KEEP_MS;
  }

  /** Samples now, then every `everyMs` after each scrape has ended (they never overlap). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.cancel?.();
    this.cancel = null;
  }

  private tick(): void {
    this.cancel = null;
    this.options.scrape().then(
      (samples) => this.next(samples),
      () => this.next([]),
    );
  }

  private next(samples: CountsSample[]): void {
    if (!this.running) return;
    this.record(samples);
    this.cancel = this.options.timer(this.everyMs, () => this.tick());
  }

  /**
   * Takes a scrape's samples (the sampling loop's; a test's). A sample no newer than the process's last
   * one is dropped (a clock set back): a window never runs backwards. Samples older than `keepMs` go,
   * but the newest of those, the start of a window of `keepMs`; a process not heard of for `keepMs`
   * goes too.
   */
  record(samples: readonly CountsSample[]): void {
    for (const sample of samples) {
      const known = this.byPid.get(sample.pid);
      if (!known) this.byPid.set(sample.pid, [sample]);
      else if (sample.at > (known.at(-1)?.at ?? Number.NEGATIVE_INFINITY)) known.push(sample);
    }
    const cutoff = this.options.now() - this.keepMs;
    for (const [pid, kept] of this.byPid) {
      while (kept.length > 1 && (kept[1] as CountsSample).at <= cutoff) kept.shift();
      if ((kept.at(-1) as CountsSample).at < cutoff) this.byPid.delete(pid);
    }
    for (const listener of this.listeners) listener(samples);
  }

  /** A worker process has exited: its samples are forgotten. */
  exited(pid: number): void {
    this.byPid.delete(pid);
  }

  /** Called after each scrape is recorded, with its samples; returns how to stop being called. */
  onSample(listener: (samples: readonly CountsSample[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The processes with samples, by slot then pid. */
  pids(): number[] {
    return [...this.byPid.entries()]
      .sort(([a, x], [b, y]) => (x[0] as CountsSample).worker - (y[0] as CountsSample).worker || a - b)
      .map(([pid]) => pid);
  }

  /** A process's samples, oldest first (empty: none kept). */
  samples(pid: number): readonly CountsSample[] {
    return this.byPid.get(pid) ?? [];
  }

  /**
   * What process `pid` did between `from` and `to` (ms, the workers' clock; `to` by default: its last
   * sample): from its last sample at or before `from` (its first, if it has none that old: the window
   * is then shorter, as its `from` says) to its last at or before `to`. Null: no sample in range.
   */
  between(pid: number, from: number, to = Number.POSITIVE_INFINITY): Window | null {
    const kept = this.byPid.get(pid);
    if (!kept) return null;
    const end = kept.findLast((s) => s.at <= to);
    if (!end) return null;
    const start = kept.findLast((s) => s.at <= from) ?? (kept[0] as CountsSample);
    if (start.at > end.at) return null;
    return { counts: subtract(end.counts, start.counts), from: start.at, to: end.at };
  }

  /**
   * Each worker's figures over the last `windowMs` before its own last sample, and the app's (their
   * counts summed, the rates added). A worker whose last sample is older than the window (blocked, or
   * not answering) has none, nor one with a single sample (no span to divide by).
   */
  figures(windowMs = STATUS_WINDOW_MS): { workers: WorkerFigures[]; app: RequestFigures | null } {
    const oldest = this.options.now() - windowMs;
    const workers: WorkerFigures[] = [];
    let total: RequestCounts | null = null;
    let rate = 0;
    for (const pid of this.pids()) {
      const kept = this.byPid.get(pid) as CountsSample[];
      const last = kept.at(-1) as CountsSample;
      const window = last.at < oldest ? null : this.between(pid, last.at - windowMs);
      const span = window ? window.to - window.from : 0;
      if (!window || span <= 0) {
        workers.push({ worker: last.worker, pid, ...UNKNOWN, window: null });
        continue;
      }
      const own = figuresOf(window.counts, span);
      workers.push({ worker: last.worker, pid, ...own, window });
      total = add(total ?? emptyCounts(), window.counts);
      rate += own.rate ?? 0;
    }
    return { workers, app: total ? { ...figuresOf(total, 1), rate } : null };
  }

  /**
   * `figures()` as the root gets it for `status` and `monitor`: no counts. The window is kept between one
   * sampling interval and what is kept (a window shorter than the interval would often hold one sample).
   */
  report(windowMs = STATUS_WINDOW_MS): OpResults['requests'] {
    const within = Number.isFinite(windowMs)
      ? Math.min(this.keepMs, Math.max(this.everyMs, windowMs))
      : STATUS_WINDOW_MS;
    const { workers, app } = this.figures(within);
    return {
      workers: workers.map(({ worker, pid, rate, serverErrors, p99, p50, loopDelay }) => ({
        worker,
        pid,
        rate,
        serverErrors,
        p99,
        p50,
        loopDelay,
      })),
      app,
    };
  }
}
