// The request metrics' arithmetic: the buckets, a window as the difference of two samples, an app as
// the sum of its workers, and quantiles as Prometheus's histogram_quantile reads them.
import { describe, expect, it } from 'vitest';
import {
  add,
  BOUNDS_MS,
  BUCKETS,
  bucketOf,
  emptyCounts,
  emptyHistogram,
  finished,
  type Histogram,
  histogramCount,
  quantile,
  type RequestCounts,
  requests,
  serverErrorShare,
  subtract,
  underWay,
} from '../../src/health/request-stats.js';

/** A histogram of these values (ms), as the worker records them. */
function histogramOf(values: number[]): Histogram {
  const h = emptyHistogram();
  for (const v of values) {
    h.counts[bucketOf(v)] = (h.counts[bucketOf(v)] ?? 0) + 1;
    h.sum += v;
  }
  return h;
}

function counts(fields: Partial<RequestCounts> = {}): RequestCounts {
  return { ...emptyCounts(), ...fields };
}

describe('buckets', () => {
  it('are 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 per decade, from 0.1 ms to 60 s, exact as written', () => {
    expect(BOUNDS_MS.slice(0, 11)).toEqual([0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1]);
    expect(BOUNDS_MS.slice(-4)).toEqual([30_000, 40_000, 50_000, 60_000]);
    expect(BOUNDS_MS).toHaveLength(59);
    expect(BUCKETS).toBe(60);
    for (let i = 1; i < BOUNDS_MS.length; i++)
      expect(BOUNDS_MS[i] as number).toBeGreaterThan(BOUNDS_MS[i - 1] as number);
    expect(Object.isFrozen(BOUNDS_MS)).toBe(true);
  });

  it("include Prometheus's default buckets, so /metrics can sum the finer ones into them", () => {
    for (const le of [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000])
      expect(BOUNDS_MS).toContain(le);
  });

  it('put a value in the first bucket whose bound is at least the value (le), by binary search', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.1)).toBe(0);
    expect(bucketOf(0.1000001)).toBe(1);
    expect(bucketOf(0.125)).toBe(1);
    expect(bucketOf(5)).toBe(BOUNDS_MS.indexOf(5));
    expect(bucketOf(5.01)).toBe(BOUNDS_MS.indexOf(6));
    expect(bucketOf(60_000)).toBe(BOUNDS_MS.length - 1);
    expect(bucketOf(60_001)).toBe(BOUNDS_MS.length);
    expect(bucketOf(Number.POSITIVE_INFINITY)).toBe(BOUNDS_MS.length);
    // What a clock could give by mistake goes to the first bucket, never outside the array.
    expect(bucketOf(-3)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    // Against a linear scan, for every bound and its neighbours.
    for (const b of BOUNDS_MS)
      for (const v of [b * 0.999, b, b * 1.001]) {
        const linear = BOUNDS_MS.findIndex((bound) => v <= bound);
        expect(bucketOf(v)).toBe(linear === -1 ? BOUNDS_MS.length : linear);
      }
  });
});

describe('counts', () => {
  it('start empty: zero counts, buckets of the right length, fresh objects each time', () => {
    const a = emptyCounts();
    expect(a).toEqual({
      started: 0,
      classes: [0, 0, 0, 0, 0],
      aborted: 0,
      latency: { counts: new Array(BUCKETS).fill(0), sum: 0 },
      loopDelay: { counts: new Array(BUCKETS).fill(0), sum: 0 },
    });
    a.latency.counts[0] = 5;
    expect(emptyCounts().latency.counts[0]).toBe(0);
    expect(requests(a)).toBe(0);
  });

  it('says how many requests are under way: started, neither finished nor aborted', () => {
    const c = {
      ...emptyCounts(),
      started: 10,
      classes: [0, 6, 0, 0, 1] as [number, number, number, number, number],
      aborted: 1,
    };
    expect(underWay(c)).toBe(2);
    expect(underWay({ ...c, started: 5 })).toBe(0);
  });

  it('count requests as finished plus aborted, and the 5xx share of the finished ones', () => {
    const c = counts({ classes: [1, 80, 5, 4, 10], aborted: 3 });
    expect(finished(c)).toBe(100);
    expect(requests(c)).toBe(103);
    expect(serverErrorShare(c)).toBe(0.1);
    // No finished response: no share (aborted ones are not answers).
    expect(serverErrorShare(counts({ aborted: 2 }))).toBeNull();
  });

  it('subtract two samples of one process into the window between them', () => {
    const before = counts({
      classes: [0, 10, 1, 2, 1],
      aborted: 1,
      latency: histogramOf([1, 2, 3]),
      loopDelay: histogramOf([0.05]),
    });
    const after = counts({
      classes: [0, 25, 1, 4, 3],
      aborted: 2,
      latency: histogramOf([1, 2, 3, 40, 40]),
      loopDelay: histogramOf([0.05, 12]),
    });
    const window = subtract(after, before);
    expect(window.classes).toEqual([0, 15, 0, 2, 2]);
    expect(window.aborted).toBe(1);
    expect(histogramCount(window.latency)).toBe(2);
    expect(window.latency.counts[bucketOf(40)]).toBe(2);
    expect(window.latency.sum).toBe(80);
    expect(window.loopDelay.counts[bucketOf(12)]).toBe(1);
    // Everything since the start.
    expect(subtract(after, null)).toEqual(after);
  });

  it('never goes negative, whatever it is given', () => {
    const big = counts({ classes: [5, 5, 5, 5, 5], aborted: 5, latency: histogramOf([1, 1]) });
    const window = subtract(counts(), big);
    expect(window).toEqual(emptyCounts());
    // Sums that differ by rounding only.
    const a = counts({ latency: { ...histogramOf([0.1]), sum: 0.30000000000000004 } });
    const b = counts({ latency: { ...histogramOf([0.1]), sum: 0.3000000000000001 } });
    expect(subtract(a, b).latency.sum).toBe(0);
  });

  it("adds workers' counts into an app's, leaving both inputs as they were", () => {
    const a = counts({
      classes: [0, 1, 2, 3, 4],
      aborted: 1,
      latency: histogramOf([1]),
      loopDelay: histogramOf([2]),
    });
    const b = counts({ classes: [1, 1, 1, 1, 1], aborted: 2, latency: histogramOf([1, 100]) });
    const sum = add(a, b);
    expect(sum.classes).toEqual([1, 2, 3, 4, 5]);
    expect(sum.aborted).toBe(3);
    expect(sum.latency.counts[bucketOf(1)]).toBe(2);
    expect(sum.latency.counts[bucketOf(100)]).toBe(1);
    expect(sum.latency.sum).toBe(102);
    expect(histogramCount(sum.loopDelay)).toBe(1);
    expect(a.classes).toEqual([0, 1, 2, 3, 4]);
    expect(histogramCount(b.latency)).toBe(2);
    expect(add(emptyCounts(), a)).toEqual(a);
  });
});

describe('quantile', () => {
  it('is null for an empty histogram', () => {
    expect(quantile(emptyHistogram(), 0.99)).toBeNull();
    expect(quantile(histogramOf([3]), Number.NaN)).toBeNull();
  });

  it('interpolates linearly inside the bucket the rank falls in', () => {
    // 100 values in (4, 5]: the median is half-way through the bucket, p99 near its top.
    const h = histogramOf(new Array(100).fill(4.5));
    expect(quantile(h, 0.5)).toBeCloseTo(4.5, 10);
    expect(quantile(h, 0.99)).toBeCloseTo(4.99, 10);
    expect(quantile(h, 1)).toBe(5);
    expect(quantile(h, 0)).toBe(4);
  });

  it('reads the bucket of the rank across several buckets, the first starting at 0', () => {
    // 90 fast (<= 0.1 ms), 10 slow in (750, 1000]: the median is in the first bucket, p95 in the slow one.
    const h = histogramOf([...new Array(90).fill(0.05), ...new Array(10).fill(900)]);
    expect(quantile(h, 0.45)).toBeCloseTo(0.05, 10);
    expect(quantile(h, 0.95)).toBeCloseTo(875, 10);
    expect(quantile(h, 0.9)).toBeCloseTo(0.1, 10);
  });

  it('is within a bucket (25 % here) of the exact quantile of the values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 0.2 * 1.01 ** i);
    const h = histogramOf(values);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1] as number;
      const got = quantile(h, q) as number;
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.25);
    }
  });

  it('says the lower bound of the top bucket for values above 60 s, and clamps q', () => {
    const h = histogramOf([120_000, 90_000]);
    expect(quantile(h, 0.99)).toBe(60_000);
    expect(quantile(histogramOf([2]), 7)).toBe(2);
    expect(quantile(histogramOf([2]), -1)).toBe(1.5);
  });
});
