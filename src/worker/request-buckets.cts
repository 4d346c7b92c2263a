// The buckets of the request metrics' histograms (latency, event-loop delay), declared once. CommonJS
// and a leaf (it requires nothing), because the preload records into them in every worker (requests.cts)
// and loads with --require, where an ES module would need require(esm) (an experimental warning on
// Node.js 22.12); health/request-stats.ts re-exports them for everything else.

/** The mantissas of each decade: about 25 % apart, so a quantile read from a bucket is within that. */
const MANTISSAS = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5];
/** From 0.1 ms (a fast answer on loopback) to 60 s (beyond it, a response is a stream, not a request). */
const LOWEST_EXPONENT = -1;
const HIGHEST_MS = 60_000;

function bounds(): number[] {
  const out: number[] = [];
  for (let exponent = LOWEST_EXPONENT; ; exponent++) {
    for (const m of MANTISSAS) {
      // Parsed from text, so that 0.15 is the number written 0.15 (1.5 / 10 is, 1.5 * 0.1 is not).
      const bound = Number(`${m}e${exponent}`);
      if (bound > HIGHEST_MS) return out;
      out.push(bound);
    }
  }
}

/** Upper bounds (ms) of the buckets, ascending; a last implicit bucket holds everything above. */
const BOUNDS_MS: readonly number[] = Object.freeze(bounds());

/**
 * Index of the bucket of `ms`: the first whose bound is at least `ms` (Prometheus's `le`), or
 * BOUNDS_MS.length above the top. Negative values and NaN go to the first. A binary search: six
 * comparisons, no allocation, on the hot path of every request.
 */
function bucketOf(ms: number): number {
  let low = 0;
  let high = BOUNDS_MS.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((BOUNDS_MS[mid] as number) < ms) low = mid + 1;
    else high = mid;
  }
  return low;
}

const requestBuckets = { BOUNDS_MS, bucketOf };

export = requestBuckets;
