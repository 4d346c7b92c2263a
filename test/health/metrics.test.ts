// clusterd's metrics from reports and scrapes, as Prometheus reads them (a strict parser of the text).
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type AppScrape, exitReason, Metrics } from '../../src/health/metrics.js';
import { PROMETHEUS_BUCKETS_S } from '../../src/health/request-metrics.js';
import { BOUNDS_MS, bucketOf, type CountsSample, emptyCounts } from '../../src/health/request-stats.js';
import { type AppMetricsText, sumAppMetrics } from '../../src/primary/process/app-metrics.js';
import type { WorkerSample } from '../../src/protocol.js';
import { parseExposition } from '../helpers/prometheus.js';

const ready = { ready: true, apps: [] };

function sample(
  worker: number,
  pid: number,
  extra: Partial<WorkerSample> = {},
): Omit<WorkerSample, 'app' | 'requests'> {
  return {
    worker,
    pid,
    elu: 0.25,
    delay: { p50: 10, p99: 20, max: 50 },
    rss: 50_000_000,
    cpu: { user: 1_500_000, system: 500_000 },
    ...extra,
  };
}

/** A worker's request counts: `served` latencies (ms) of 2xx responses, plus these classes and aborted. */
function counted(worker: number, pid: number, served: number[], extra: Partial<CountsSample['counts']> = {}) {
  const counts = { ...emptyCounts(), ...extra };
  for (const ms of served) {
    const i = bucketOf(ms);
    counts.latency.counts[i] = (counts.latency.counts[i] ?? 0) + 1;
    counts.latency.sum += ms;
  }
  if (!extra.classes) counts.classes[1] = served.length;
  return { worker, pid, at: 1, rss: 1, counts };
}

// What a worker's prom-client registry gives for getMetricsAsJSON().
async function appRegistry(hits: number, extra: (r: client.Registry) => void = () => {}) {
  const registry = new client.Registry();
  const counter = new client.Counter({
    name: 'http_hits_total',
    help: 'hits',
    labelNames: ['route', 'app'],
    registers: [registry],
  });
  counter.inc({ route: '/', app: 'mine' }, hits);
  const version = new client.Gauge({
    name: 'build_info',
    help: 'build',
    aggregator: 'first',
    registers: [registry],
  });
  version.set(7);
  extra(registry);
  return registry.getMetricsAsJSON();
}

describe('metrics', () => {
  it('names the kind of exit before a restart, with no exit codes in it', () => {
    expect(exitReason({ to: 'crashed', code: 3, signal: null })).toBe('exit-code');
    expect(exitReason({ to: 'crashed', code: null, signal: 'SIGKILL' })).toBe('signal');
    expect(exitReason({ to: 'crashed', code: null, signal: 'SIGKILL', reason: 'not ready within 5s' })).toBe(
      'not-ready',
    );
    expect(exitReason({ to: 'crashed', code: null, signal: null, reason: 'could not start: EACCES' })).toBe(
      'start-failed',
    );
    expect(exitReason({ to: 'exited', code: 0, signal: null })).toBe('exited');
    const reason = 'RSS 160MB is over guards.memory.hardLimit (150MB): killed';
    expect(exitReason({ to: 'crashed', code: null, signal: 'SIGKILL', reason })).toBe('memory-hard');
  });

  it('counts restarts by reason, reloads, primary restarts and dropped log lines', async () => {
    const m = new Metrics();
    const crash = (worker: number, code: number | null, signal: string | null) =>
      m.report('web', {
        type: 'worker',
        transition: { worker, pid: 10 + worker, from: 'ready', to: 'crashed', code, signal },
      });
    crash(0, 1, null);
    m.report('web', { type: 'backoff', worker: 0, delay: 100, failedStarts: 0 });
    crash(1, null, 'SIGSEGV');
    m.report('web', { type: 'backoff', worker: 1, delay: 100, failedStarts: 0 });
    crash(0, 2, null);
    m.report('web', { type: 'backoff', worker: 0, delay: 200, failedStarts: 1 });
    m.report('web', { type: 'reload', phase: 'done', replaced: 2, ms: 1500 });
    const recycled = { type: 'recycled', worker: 1, pid: 11, ms: 300 } as const;
    m.report('web', { ...recycled, cause: 'memory', ok: true });
    m.report('web', { ...recycled, cause: 'memory', ok: true });
    m.report('web', { ...recycled, cause: 'unresponsive', ok: true });
    m.report('web', { ...recycled, cause: 'schedule', ok: false, reason: 'did not get ready' });
    m.report('web', { type: 'reload', phase: 'failed', reason: 'x' });
    const verdict = { reason: 'r', checks: [], canaries: [], baselineWorkers: 2, observed: 1000 };
    for (const [outcome, proceed] of [
      ['fail', false],
      ['fail', false],
      ['pass', true],
      ['insufficient', true],
    ] as const)
      m.report('web', { type: 'canary', phase: 'judged', report: { ...verdict, outcome, proceed } });
    m.report('web', { type: 'canary', phase: 'observing', observe: 1000 });
    m.report('web', { type: 'logfile', state: 'failing', file: '/x', error: 'ENOSPC', message: 'no space' });
    let text = parseExposition(await m.render([], ready));
    expect(text.value('clusterd_log_file_failing', { app: 'web' })).toBe(1);
    m.report('web', { type: 'logfile', state: 'writing', file: '/x', dropped: 42 });
    m.primaryRestarted('web');
    text = parseExposition(await m.render([], ready));
    expect(text.value('clusterd_worker_restarts_total', { app: 'web', reason: 'exit-code' })).toBe(2);
    expect(text.value('clusterd_worker_restarts_total', { app: 'web', reason: 'signal' })).toBe(1);
    // Replacements by the guards, those that took place.
    expect(text.value('clusterd_worker_restarts_total', { app: 'web', reason: 'memory' })).toBe(2);
    expect(text.value('clusterd_worker_restarts_total', { app: 'web', reason: 'unresponsive' })).toBe(1);
    expect(text.find('clusterd_worker_restarts_total').some((v) => v.labels.reason === 'schedule')).toBe(
      false,
    );
    expect(text.value('clusterd_reloads_total', { app: 'web', result: 'done' })).toBe(1);
    expect(text.value('clusterd_reloads_total', { app: 'web', result: 'failed' })).toBe(1);
    expect(text.value('clusterd_reload_duration_seconds_sum', { app: 'web' })).toBe(1.5);
    expect(text.value('clusterd_reload_duration_seconds_bucket', { app: 'web', le: '2' })).toBe(1);
    expect(text.value('clusterd_reload_duration_seconds_bucket', { app: 'web', le: '1' })).toBe(0);
    expect(text.value('clusterd_primary_restarts_total', { app: 'web' })).toBe(1);
    expect(
      text.value('clusterd_canary_decisions_total', { app: 'web', outcome: 'fail', proceed: 'false' }),
    ).toBe(2);
    expect(
      text.value('clusterd_canary_decisions_total', { app: 'web', outcome: 'pass', proceed: 'true' }),
    ).toBe(1);
    expect(
      text.value('clusterd_canary_decisions_total', { app: 'web', outcome: 'insufficient', proceed: 'true' }),
    ).toBe(1);
    expect(text.value('clusterd_log_lines_dropped_total', { app: 'web' })).toBe(42);
    expect(text.value('clusterd_log_file_failing', { app: 'web' })).toBe(0);
    expect(text.types.get('clusterd_worker_restarts_total')).toBe('counter');
    // The root's own process metrics.
    expect(text.find('clusterd_root_process_resident_memory_bytes')[0]?.value).toBeGreaterThan(1e6);
  });

  it("says a log file fails while any of the app's files does (logs.file and logs.errorFile)", async () => {
    const m = new Metrics();
    const failing = async () =>
      parseExposition(await m.render([], ready)).value('clusterd_log_file_failing', { app: 'web' });
    const fail = (file: string) =>
      m.report('web', { type: 'logfile', state: 'failing', file, error: 'ENOSPC', message: 'no space' });
    const recover = (file: string) =>
      m.report('web', { type: 'logfile', state: 'writing', file, dropped: 1 });
    fail('/l/out.log');
    fail('/l/err.log');
    recover('/l/out.log');
    expect(await failing()).toBe(1);
    recover('/l/err.log');
    expect(await failing()).toBe(0);
  });

  it("reads states and each worker's sample at scrape time", async () => {
    const m = new Metrics();
    const apps: AppScrape[] = [
      {
        name: 'web',
        state: 'running',
        instances: 2,
        workers: [
          { slot: 0, state: 'ready' },
          { slot: 1, state: 'ready' },
          { slot: 1, state: 'starting' },
        ],
        samples: {
          workers: [sample(0, 100), sample(1, 101, { delay: null })],
          unanswered: 1,
          relayedMessages: 42,
          relayDropped: 3,
          primary: { rss: 60_000_000, heapUsed: 8_000_000 },
        },
      },
      { name: 'jobs', state: 'backoff', instances: 1, workers: [], samples: null },
    ];
    const text = parseExposition(await m.render(apps, { ready: false, apps: [] }));
    expect(text.value('clusterd_ready')).toBe(0);
    expect(text.value('clusterd_app_state', { app: 'web', state: 'running' })).toBe(1);
    expect(text.value('clusterd_app_state', { app: 'web', state: 'backoff' })).toBe(0);
    expect(text.value('clusterd_app_state', { app: 'jobs', state: 'backoff' })).toBe(1);
    expect(text.value('clusterd_app_instances', { app: 'web' })).toBe(2);
    expect(text.value('clusterd_workers', { app: 'web', state: 'ready' })).toBe(2);
    expect(text.value('clusterd_workers', { app: 'web', state: 'starting' })).toBe(1);
    expect(text.value('clusterd_workers', { app: 'jobs', state: 'ready' })).toBe(0);
    expect(text.value('clusterd_scrape_unanswered_workers', { app: 'web' })).toBe(1);
    expect(text.value('clusterd_worker_messages_relayed_total', { app: 'web' })).toBe(42);
    expect(text.value('clusterd_worker_messages_relay_dropped_total', { app: 'web' })).toBe(3);
    const w0 = { app: 'web', worker: '0', pid: '100' };
    expect(text.value('clusterd_worker_resident_memory_bytes', w0)).toBe(50_000_000);
    expect(text.value('clusterd_worker_cpu_seconds_total', w0)).toBe(2);
    expect(text.value('clusterd_worker_event_loop_utilization', w0)).toBe(0.25);
    expect(text.value('clusterd_worker_event_loop_delay_seconds', { ...w0, quantile: '0.99' })).toBe(0.02);
    expect(text.value('clusterd_worker_event_loop_delay_seconds', { ...w0, quantile: '1' })).toBe(0.05);
    expect(text.find('clusterd_worker_event_loop_delay_seconds', { pid: '101' })).toEqual([]);
    // The primary's own memory, as it answered the scrape; none for a primary that did not answer.
    expect(text.value('clusterd_primary_resident_memory_bytes', { app: 'web' })).toBe(60_000_000);
    expect(text.value('clusterd_primary_heap_used_bytes', { app: 'web' })).toBe(8_000_000);
    expect(text.find('clusterd_primary_heap_used_bytes', { app: 'jobs' })).toEqual([]);
  });

  it("writes the apps' own metrics as their primaries summed them: a family of several apps once, each app's samples in it", async () => {
    const m = new Metrics();
    // What each app's primary sends (primary/process/app-metrics.ts; its own tests hold it to prom-client).
    const web = sumAppMetrics('web', [await appRegistry(3), await appRegistry(4)]);
    const api = sumAppMetrics('api', [await appRegistry(10)]);
    const apps: AppScrape[] = [
      {
        name: 'web',
        state: 'running',
        instances: 2,
        workers: [],
        samples: { workers: [sample(0, 100), sample(1, 101)], app: web, unanswered: 0 },
      },
      {
        name: 'api',
        state: 'running',
        instances: 1,
        workers: [],
        samples: { workers: [], app: api, unanswered: 0 },
      },
      {
        name: 'none',
        state: 'running',
        instances: 1,
        workers: [],
        samples: { workers: [], app: null, unanswered: 0 },
      },
    ];
    const rendered = await m.render(apps, ready);
    const text = parseExposition(rendered); // one TYPE per family, or it throws
    // The app's own `app` label is kept as exported_app.
    expect(text.value('http_hits_total', { app: 'web', exported_app: 'mine', route: '/' })).toBe(7);
    expect(text.value('http_hits_total', { app: 'api' })).toBe(10);
    // aggregator: 'first' is honoured: not 14.
    expect(text.value('build_info', { app: 'web' })).toBe(7);
    expect(text.types.get('http_hits_total')).toBe('counter');
    expect(rendered).toContain(
      '# HELP http_hits_total hits\n# TYPE http_hits_total counter\nhttp_hits_total{route="/",exported_app="mine",app="web"} 7\nhttp_hits_total{route="/",exported_app="mine",app="api"} 10\n\n# HELP build_info',
    );
    expect(m.aggregateError).toBeNull();
  });

  it("says which apps' metrics were left out: a clash with ours, an aggregator prom-client does not have", async () => {
    const m = new Metrics();
    const own = await appRegistry(1, (r) => {
      new client.Gauge({ name: 'clusterd_ready', help: 'mine', registers: [r] }).set(5);
    });
    const odd = (await appRegistry(2)).map((x) =>
      x.name === 'build_info' ? { ...x, aggregator: 'median' } : x,
    );
    const scrape = (name: string, app: AppMetricsText): AppScrape => ({
      name,
      state: 'running',
      instances: 1,
      workers: [],
      samples: { workers: [], app, unanswered: 0 },
    });
    const text = parseExposition(
      await m.render(
        [scrape('web', sumAppMetrics('web', [own])), scrape('api', sumAppMetrics('api', [odd]))],
        ready,
      ),
    );
    expect(text.value('clusterd_ready')).toBe(1);
    expect(text.value('http_hits_total', { app: 'web' })).toBe(1);
    expect([...m.clashes]).toEqual(['web']);
    // Only the metric with the unknown aggregator is left out, not the app's others nor other apps'.
    expect(text.value('http_hits_total', { app: 'api' })).toBe(2);
    expect(text.find('build_info', { app: 'api' })).toEqual([]);
    expect(text.value('build_info', { app: 'web' })).toBe(7);
    expect(m.aggregateError).toBe("api: 'median' is not a defined aggregator.");
  });

  it("exposes the workers' requests per app and slot: a counter by code, a histogram on Prometheus's default buckets", async () => {
    const m = new Metrics();
    const apps: AppScrape[] = [
      {
        name: 'web',
        state: 'running',
        instances: 2,
        workers: [],
        samples: {
          workers: [],
          unanswered: 0,
          requests: [
            counted(0, 100, [3, 7, 7, 40, 12_000], { classes: [1, 5, 2, 3, 4], aborted: 2 }),
            counted(1, 101, [0.2]),
          ],
        },
      },
      // Two processes in one slot (a reload): one series, their counts added.
      {
        name: 'api',
        state: 'running',
        instances: 1,
        workers: [],
        samples: { workers: [], unanswered: 0, requests: [counted(0, 200, [1]), counted(0, 201, [2, 3])] },
      },
      { name: 'quiet', state: 'running', instances: 1, workers: [], samples: null },
    ];
    const text = parseExposition(await m.render(apps, ready));
    expect(text.types.get('clusterd_http_requests_total')).toBe('counter');
    expect(text.types.get('clusterd_http_request_duration_seconds')).toBe('histogram');
    const w0 = { app: 'web', worker: '0' };
    for (const [code, n] of [
      ['1xx', 1],
      ['2xx', 5],
      ['3xx', 2],
      ['4xx', 3],
      ['5xx', 4],
      ['aborted', 2],
    ] as const)
      expect(text.value('clusterd_http_requests_total', { ...w0, code })).toBe(n);
    expect(text.find('clusterd_http_requests_total', w0)).toHaveLength(6);
    // No pid label: a slot's series goes on across its processes.
    expect(text.find('clusterd_http_requests_total')[0]?.labels).not.toHaveProperty('pid');
    const bucket = (le: string, labels = w0) =>
      text.value('clusterd_http_request_duration_seconds_bucket', { ...labels, le });
    expect(bucket('0.005')).toBe(1);
    expect(bucket('0.01')).toBe(3);
    expect(bucket('0.025')).toBe(3);
    expect(bucket('0.05')).toBe(4);
    expect(bucket('10')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(text.find('clusterd_http_request_duration_seconds_bucket', w0)).toHaveLength(12);
    expect(text.value('clusterd_http_request_duration_seconds_count', w0)).toBe(5);
    expect(text.value('clusterd_http_request_duration_seconds_sum', w0)).toBeCloseTo(12.057, 10);
    expect(bucket('0.005', { app: 'web', worker: '1' })).toBe(1);
    const api = { app: 'api', worker: '0' };
    expect(text.value('clusterd_http_requests_total', { ...api, code: '2xx' })).toBe(3);
    expect(text.value('clusterd_http_request_duration_seconds_count', api)).toBe(3);
    expect(text.find('clusterd_http_requests_total', { app: 'quiet' })).toEqual([]);
  });

  it("sums the fine buckets into each of Prometheus's, every one of which is a bound of ours", async () => {
    for (const le of PROMETHEUS_BUCKETS_S) expect(BOUNDS_MS).toContain(Math.round(le * 1000));
    // One value on every bound and just above it: each Prometheus bucket counts those up to its le.
    const values = BOUNDS_MS.flatMap((b) => [b, b * 1.01]);
    const m = new Metrics();
    const text = parseExposition(
      await m.render(
        [
          {
            name: 'web',
            state: 'running',
            instances: 1,
            workers: [],
            samples: { workers: [], unanswered: 0, requests: [counted(0, 1, values)] },
          },
        ],
        ready,
      ),
    );
    for (const le of PROMETHEUS_BUCKETS_S)
      expect(
        text.value('clusterd_http_request_duration_seconds_bucket', { app: 'web', le: String(le) }),
      ).toBe(values.filter((v) => v <= le * 1000).length);
  });

  it('leaves the request families out when no app has counts', async () => {
    const text = await new Metrics().render([], ready);
    expect(text).not.toContain('clusterd_http_');
  });
});
