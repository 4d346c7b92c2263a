// The request metrics of a worker, as its preload counts them (worker/requests.cts) and as the primary,
// the root and the reload logic read them: counts by status class, aborted responses, and two
// histograms (latency, event-loop delay) over fixed buckets. Cumulative since the worker started, so a
// window is the difference of two samples of one process (`subtract`) and an app the sum of its workers
// (`add`). Pure: no Node.js module, no clock.
import requestBuckets from '../worker/request-buckets.cjs';

/**
 * Upper bounds (ms) of the latency/delay buckets, ascending: per decade 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6,
 * 7.5 (x10^k) from 0.1 ms up to 60_000 ms; a last implicit bucket holds everything above. Includes
 * Prometheus's default buckets (5,10,25,50,100,250,500,1000,2500,5000,10000 ms).
 */
export const BOUNDS_MS: readonly number[] = requestBuckets.BOUNDS_MS;

/** Index of the bucket of a value in ms (binary search), 0..BOUNDS_MS.length (the last = above the top). */
export function bucketOf(ms: number): number {
  return requestBuckets.bucketOf(ms);
}

/** Counts per bucket (length BOUNDS_MS.length + 1) and the sum of the values (ms). Cumulative since the worker started. */
export interface Histogram {
  counts: number[];
  sum: number;
}

export interface RequestCounts {
  /**
   * Requests started (their head parsed). Those neither finished nor aborted are under way: a release
   * that hangs requests shows as that number growing (primary/reload/canary.ts).
   */
  started: number;
  /** Responses finished, by status class: [1xx, 2xx, 3xx, 4xx, 5xx]. */
  classes: [number, number, number, number, number];
  /** Responses closed before they finished (the client went away, the server destroyed the socket). */
  aborted: number;
  /**
   * Latency of finished responses, from the request's start to the response's finish; server-sent event
   * streams (content-type text/event-stream) are left out; upgrades (WebSockets) never count as requests.
   */
  latency: Histogram;
  /** The event loop's delay: how late a 20 ms timer fired, each time (ms), cumulative. */
  loopDelay: Histogram;
}

/** One worker's counts, as it answered the primary (`counted`), measured in the worker. */
export interface CountsSample {
  /** Its slot (NODE_APP_INSTANCE). */
  worker: number;
  pid: number;
  /** When it took the sample: Date.now() in the worker. */
  at: number;
  /** Its resident set size (bytes). */
  rss: number;
  counts: RequestCounts;
}

/** Buckets of a histogram: BOUNDS_MS and the one above the top. */
export const BUCKETS = BOUNDS_MS.length + 1;

export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(BUCKETS).fill(0), sum: 0 };
}

export function emptyCounts(): RequestCounts {
  return {
    started: 0,
    classes: [0, 0, 0, 0, 0],
    aborted: 0,
    latency: emptyHistogram(),
    loopDelay: emptyHistogram(),
  };
}

// Element by element; a count that went down (never within one process, but a sample from another is
// no error to throw over) is 0, and so is a sum's rounding below it.
const minus = (a: number, b: number) => Math.max(0, a - b);

function histogramMinus(after: Histogram, before: Histogram | null): Histogram {
  return {
    counts: after.counts.map((n, i) => minus(n, before?.counts[i] ?? 0)),
    sum: minus(after.sum, before?.sum ?? 0),
  };
}

function histogramPlus(a: Histogram, b: Histogram): Histogram {
  const length = Math.max(a.counts.length, b.counts.length);
  return {
    counts: Array.from({ length }, (_, i) => (a.counts[i] ?? 0) + (b.counts[i] ?? 0)),
    sum: a.sum + b.sum,
  };
}

/** What happened between two samples of the same worker process; `before` null: everything since it started. Never negative. */
export function subtract(after: RequestCounts, before: RequestCounts | null): RequestCounts {
  const c = after.classes;
  const b = before?.classes ?? [0, 0, 0, 0, 0];
  return {
    classes: [minus(c[0], b[0]), minus(c[1], b[1]), minus(c[2], b[2]), minus(c[3], b[3]), minus(c[4], b[4])],
    started: minus(after.started, before?.started ?? 0),
    aborted: minus(after.aborted, before?.aborted ?? 0),
    latency: histogramMinus(after.latency, before?.latency ?? null),
    loopDelay: histogramMinus(after.loopDelay, before?.loopDelay ?? null),
  };
}

/** Sum of several workers' counts (an app's). */
export function add(a: RequestCounts, b: RequestCounts): RequestCounts {
  const x = a.classes;
  const y = b.classes;
  return {
    classes: [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3], x[4] + y[4]],
    started: a.started + b.started,
    aborted: a.aborted + b.aborted,
    latency: histogramPlus(a.latency, b.latency),
    loopDelay: histogramPlus(a.loopDelay, b.loopDelay),
  };
}

/** Responses finished, whatever their status. */
export function finished(c: RequestCounts): number {
  return c.classes[0] + c.classes[1] + c.classes[2] + c.classes[3] + c.classes[4];
}

/** Requests under way when the counts were taken: started, neither finished nor aborted. */
export function underWay(c: RequestCounts): number {
  return Math.max(0, c.started - requests(c));
}

/** Finished + aborted. */
export function requests(c: RequestCounts): number {
  return finished(c) + c.aborted;
}

/** 5xx / finished responses (0..1); null when none finished. */
export function serverErrorShare(c: RequestCounts): number | null {
  const n = finished(c);
  return n === 0 ? null : c.classes[4] / n;
}

/** Values recorded in a histogram. */
export function histogramCount(h: Histogram): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}

/**
 * The q-quantile (0..1) in ms, interpolated linearly inside its bucket (the last bucket: its lower
 * bound); null when empty. The first bucket starts at 0. As Prometheus's histogram_quantile, so the
 * figure clusterd acts on is the one a dashboard shows.
 */
export function quantile(h: Histogram, q: number): number | null {
  const total = histogramCount(h);
  if (total === 0 || Number.isNaN(q)) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      if (i >= BOUNDS_MS.length) return BOUNDS_MS[BOUNDS_MS.length - 1] as number;
      const lower = i === 0 ? 0 : (BOUNDS_MS[i - 1] as number);
      const upper = BOUNDS_MS[i] as number;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return null;
}
