// The request metrics in /metrics: per app and worker slot, the requests by status class and the aborted
// ones (`clusterd_http_requests_total`, a counter) and the latency of the finished ones
// (`clusterd_http_request_duration_seconds`, a histogram on Prometheus's default buckets, each the sum
// of the finer buckets the workers count in: request-stats.ts), from the counts the workers gave at this
// scrape. Written as text here rather than through prom-client, whose histograms take observations, not
// bucket counts. Pure.
//
// Labelled by slot, not pid: a replaced worker's counters start again from 0, which Prometheus takes as
// a counter reset (rate() counts the new process's requests from its first); a series per pid would
// start a new series at every replacement, and rate() never counts a series' first value. During a
// rolling reload a slot has two processes for a while: their counts are added into one series.
import { add, BOUNDS_MS, type CountsSample, type RequestCounts } from './request-stats.js';

/** Prometheus's default histogram buckets (s): a subset of BOUNDS_MS (ms). */
export const PROMETHEUS_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const CODES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const REQUESTS = 'clusterd_http_requests_total';
const DURATION = 'clusterd_http_request_duration_seconds';

// For each Prometheus bucket, the index of the last BOUNDS_MS bucket it takes in.
const LAST_FINE = PROMETHEUS_BUCKETS_S.map((s) => {
  const i = BOUNDS_MS.indexOf(Math.round(s * 1000));
  if (i === -1) throw new Error(`${s} s is not a bound of the request histograms`);
  return i;
});

const labelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The text of both families for these apps' samples ('' when none has any). */
export function renderRequestMetrics(
  apps: readonly { name: string; requests: readonly CountsSample[] }[],
): string {
  const slots: { labels: string; counts: RequestCounts }[] = [];
  for (const app of apps) {
    const bySlot = new Map<number, RequestCounts>();
    for (const s of app.requests) {
      const known = bySlot.get(s.worker);
      bySlot.set(s.worker, known ? add(known, s.counts) : s.counts);
    }
    for (const [worker, counts] of [...bySlot].sort(([a], [b]) => a - b))
      slots.push({ labels: `app="${labelValue(app.name)}",worker="${worker}"`, counts });
  }
  if (!slots.length) return '';
  const lines = [
    `# HELP ${REQUESTS} HTTP requests the app's workers answered, by status class (code 1xx to 5xx), and those whose response closed before it finished (code aborted); per worker slot, since its process started.`,
    `# TYPE ${REQUESTS} counter`,
  ];
  for (const { labels, counts } of slots) {
    counts.classes.forEach((n, i) => {
      lines.push(`${REQUESTS}{${labels},code="${CODES[i]}"} ${n}`);
    });
    lines.push(`${REQUESTS}{${labels},code="aborted"} ${counts.aborted}`);
  }
  lines.push(
    `# HELP ${DURATION} Time from a request's start to its response's finish, of the responses that finished (server-sent event streams left out); per worker slot, since its process started.`,
    `# TYPE ${DURATION} histogram`,
  );
  for (const { labels, counts } of slots) {
    const fine = counts.latency.counts;
    let cumulative = 0;
    let next = 0;
    PROMETHEUS_BUCKETS_S.forEach((le, i) => {
      for (; next <= (LAST_FINE[i] as number); next++) cumulative += fine[next] ?? 0;
      lines.push(`${DURATION}_bucket{${labels},le="${le}"} ${cumulative}`);
    });
    for (; next < fine.length; next++) cumulative += fine[next] ?? 0;
    lines.push(`${DURATION}_bucket{${labels},le="+Inf"} ${cumulative}`);
    lines.push(`${DURATION}_sum{${labels}} ${counts.latency.sum / 1000}`);
    lines.push(`${DURATION}_count{${labels}} ${cumulative}`);
  }
  return `${lines.join('\n')}\n`;
}
