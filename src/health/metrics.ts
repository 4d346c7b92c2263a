// `/metrics`: clusterd's own metrics and the apps' prom-client metrics, in Prometheus's text format.
// - Counters (restarts by reason, reloads, primary restarts and hangs, log lines dropped) are counted from what the
//   primaries report, as it happens, for the root's life: a config reload does not reset them.
// - Gauges (app and worker states, readiness, each worker's memory, CPU and event loop) are read at
//   scrape time: from the root's picture of its apps, and from a sample each worker takes of itself
//   (worker/metrics.cts), so that what is said of a worker's event loop is measured on that loop.
// - An app's own prom-client metrics are summed over its workers with prom-client's own aggregators
//   (AggregatorRegistry.aggregate: what its cluster mode does in a node:cluster primary), labelled with
//   `app`; an `app` label of the app's own becomes `exported_app`, as Prometheus does with a clash.
// - The apps' HTTP requests, counted by clusterd's preload in each worker, read at scrape time:
//   request-metrics.ts.
import client from 'prom-client';
import type { AppState, WorkerState } from '../lifecycle/states.js';
import { APP_STATES, WORKER_STATES } from '../lifecycle/states.js';
import type { PrimaryMessage, WorkerSample, WorkerTransition } from '../protocol.js';
import type { Readiness } from './readiness.js';
import { renderRequestMetrics } from './request-metrics.js';
import type { CountsSample } from './request-stats.js';

/** Why a worker was restarted: the kind of exit before it, with no unbounded values (exit codes). */
export function exitReason(t: Pick<WorkerTransition, 'to' | 'signal' | 'code' | 'reason'>): string {
  if (t.to === 'exited') return 'exited';
  if (t.reason?.startsWith('not ready within')) return 'not-ready';
  if (t.reason?.startsWith('could not start')) return 'start-failed';
  if (t.reason?.includes('guards.memory.hardLimit')) return 'memory-hard';
  if (t.signal) return 'signal';
  return 'exit-code';
}

/** One app as a scrape sees it. */
export interface AppScrape {
  name: string;
  state: AppState;
  instances: number;
  workers: readonly { slot: number; state: WorkerState }[];
  /** The workers' samples; null when the primary could not be asked (restarting, stopped, no answer). */
  samples: {
    workers: WorkerSample[];
    unanswered: number;
    malformedMessages?: number;
    relayedMessages?: number;
    relayDropped?: number;
    messagesDropped?: { size: number; rate: number };
    /** The workers' request counts; absent with `requestMetrics: false` (nothing is counted). */
    requests?: CountsSample[];
    /** The primary's own memory (bytes), as it answered. */
    primary?: { rss: number; heapUsed: number };
  } | null;
}

type Json = { name: string; help: string; type: string; aggregator?: string; values: JsonValue[] };
type JsonValue = { value: number; labels: Record<string, string | number>; metricName?: string };

const PREFIX = 'clusterd_';

export class Metrics {
  /** Counted as reports arrive, for the root's life. */
  private readonly counted = new client.Registry();
  private readonly restarts = new client.Counter({
    name: 'clusterd_worker_restarts_total',
    help: 'Worker restarts, by the kind of exit before them (exit-code, signal, not-ready, start-failed, exited, memory-hard), and workers replaced by a guard, by its cause (memory, unresponsive, max-age, schedule).',
    labelNames: ['app', 'reason'],
    registers: [this.counted],
  });
  private readonly reloads = new client.Counter({
    name: 'clusterd_reloads_total',
    help: 'Rolling reloads that ended, by result (done, failed).',
    labelNames: ['app', 'result'],
    registers: [this.counted],
  });
  private readonly reloadSeconds = new client.Histogram({
    name: 'clusterd_reload_duration_seconds',
    help: 'How long the rolling reloads that succeeded took.',
    labelNames: ['app'],
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.counted],
  });
  private readonly canaryDecisions = new client.Counter({
    name: 'clusterd_canary_decisions_total',
    help: 'Canary phases of deploys judged, by outcome (pass, fail, insufficient) and whether the reload went on (proceed: true, false).',
    labelNames: ['app', 'outcome', 'proceed'],
    registers: [this.counted],
  });
  private readonly leaderChanges = new client.Counter({
    name: 'clusterd_leader_changes_total',
    help: "Leadership granted to a worker of the app (clusterd/worker's onLeadership): its first leader, then each hand-over.",
    labelNames: ['app'],
    registers: [this.counted],
  });
  private readonly primaryRestarts = new client.Counter({
    name: 'clusterd_primary_restarts_total',
    help: "Restarts of an app's primary process after it died.",
    labelNames: ['app'],
    registers: [this.counted],
  });
  private readonly primaryHangs = new client.Counter({
    name: 'clusterd_primary_hangs_total',
    help: "An app's primary killed and restarted by the root for not answering its pings within primary.hangTimeout.",
    labelNames: ['app'],
    registers: [this.counted],
  });
  private readonly dropped = new client.Counter({
    name: 'clusterd_log_lines_dropped_total',
    help: "Output lines dropped because the app's logs.file or logs.errorFile could not be written.",
    labelNames: ['app'],
    registers: [this.counted],
  });
  private readonly logFailing = new client.Gauge({
    name: 'clusterd_log_file_failing',
    help: "1 while the app's logs.file or logs.errorFile cannot be written.",
    labelNames: ['app'],
    registers: [this.counted],
  });
  /** The log files of each app that cannot be written now (an app has two with logs.errorFile). */
  private readonly failingFiles = new Map<string, Set<string>>();
  /** The kind of the last exit of each app's slots, for the restart that follows it. */
  private readonly lastExit = new Map<string, string>();
  /** Apps with metrics of their own named like ours (`clusterd_`), left out: for the server to log. */
  readonly clashes = new Set<string>();
  /** Why the apps' metrics could not be summed at the last scrape, if they could not. */
  aggregateError: string | null = null;

  constructor() {
    client.collectDefaultMetrics({
      register: this.counted,
      prefix: 'clusterd_root_',
      eventLoopMonitoringPrecision: 20,
    });
  }

  /** A report of an app's primary. */
  report(app: string, message: PrimaryMessage): void {
    switch (message.type) {
      case 'worker': {
        const t = message.transition;
        if (t.to === 'crashed' || t.to === 'exited') this.lastExit.set(`${app}\0${t.worker}`, exitReason(t));
        return;
      }
      case 'backoff':
        this.restarts.inc({ app, reason: this.lastExit.get(`${app}\0${message.worker}`) ?? 'exit-code' });
        return;
      case 'recycled':
        if (message.ok) this.restarts.inc({ app, reason: message.cause });
        return;
      case 'reload':
        if (message.phase === 'done') {
          this.reloads.inc({ app, result: 'done' });
          this.reloadSeconds.observe({ app }, message.ms / 1000);
        } else if (message.phase === 'failed') this.reloads.inc({ app, result: 'failed' });
        return;
      case 'leader':
        if (message.change === 'granted') this.leaderChanges.inc({ app });
        return;
      case 'canary':
        if (message.phase === 'judged')
          this.canaryDecisions.inc({
            app,
            outcome: message.report.outcome,
            proceed: String(message.report.proceed),
          });
        return;
      case 'logfile': {
        const failing = this.failingFiles.get(app) ?? new Set();
        this.failingFiles.set(app, failing);
        if (message.state === 'failing') failing.add(message.file);
        else {
          failing.delete(message.file);
          this.dropped.inc({ app }, message.dropped);
        }
        this.logFailing.set({ app }, failing.size > 0 ? 1 : 0);
        return;
      }
      default:
        return;
    }
  }

  primaryRestarted(app: string): void {
    this.primaryRestarts.inc({ app });
  }

  primaryHung(app: string): void {
    this.primaryHangs.inc({ app });
  }

  /** The text of a scrape. */
  async render(apps: readonly AppScrape[], ready: Readiness): Promise<string> {
    const now = new client.Registry();
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new client.Gauge({ name, help, labelNames, registers: [now] });
    const isReady = gauge('clusterd_ready', '1 when /readyz answers 200.', []);
    isReady.set(ready.ready ? 1 : 0);
    const appState = gauge('clusterd_app_state', '1 for the state each app is in.', ['app', 'state']);
    const instances = gauge('clusterd_app_instances', 'The workers each app should run.', ['app']);
    const workers = gauge('clusterd_workers', 'Worker processes by state.', ['app', 'state']);
    const unanswered = gauge(
      'clusterd_scrape_unanswered_workers',
      'Workers that did not answer this scrape in time (left out of it).',
      ['app'],
    );
    // Counted by the app's primary for its life (a restarted primary starts again from 0: a counter reset).
    const malformed = new client.Counter({
      name: 'clusterd_worker_messages_malformed_total',
      help: "Messages from the app's workers that claimed to be clusterd's and failed its checks (ignored).",
      labelNames: ['app'],
      registers: [now],
    });
    const relayed = new client.Counter({
      name: 'clusterd_worker_messages_relayed_total',
      help: "Messages the app's primary passed from one worker to the others (socket.io's cluster adapter).",
      labelNames: ['app'],
      registers: [now],
    });
    const relayDropped = new client.Counter({
      name: 'clusterd_worker_messages_relay_dropped_total',
      help: 'Messages to relay that reached no worker: its channel had closed, or the requester was gone.',
      labelNames: ['app'],
      registers: [now],
    });
    const messagesDropped = new client.Counter({
      name: 'clusterd_worker_messages_dropped_total',
      help: "Messages of clusterd/worker's messaging API dropped by the limits: over the size (size) or the rate (rate) of one worker.",
      labelNames: ['app', 'reason'],
      registers: [now],
    });
    const primaryRss = gauge(
      'clusterd_primary_resident_memory_bytes',
      "The resident set size of the app's primary process.",
      ['app'],
    );
    const primaryHeap = gauge(
      'clusterd_primary_heap_used_bytes',
      "V8 heap in use in the app's primary process.",
      ['app'],
    );
    const perWorker = ['app', 'worker', 'pid'];
    const rss = gauge('clusterd_worker_resident_memory_bytes', "A worker's resident set size.", perWorker);
    const cpu = new client.Counter({
      name: 'clusterd_worker_cpu_seconds_total',
      help: 'CPU time a worker has used (user and system).',
      labelNames: perWorker,
      registers: [now],
    });
    const elu = gauge(
      'clusterd_worker_event_loop_utilization',
      "Share of the time a worker's event loop was busy since the previous scrape (0..1).",
      perWorker,
    );
    const delay = gauge(
      'clusterd_worker_event_loop_delay_seconds',
      "A worker's event-loop delay since the previous scrape (quantile 1: the maximum).",
      [...perWorker, 'quantile'],
    );
    const appMetrics: Json[][] = [];
    for (const app of apps) {
      for (const state of APP_STATES) appState.set({ app: app.name, state }, app.state === state ? 1 : 0);
      instances.set({ app: app.name }, app.instances);
      for (const state of WORKER_STATES) {
        if (state === 'stopped' || state === 'exited' || state === 'crashed') continue;
        workers.set({ app: app.name, state }, app.workers.filter((w) => w.state === state).length);
      }
      if (!app.samples) continue;
      unanswered.set({ app: app.name }, app.samples.unanswered);
      if (app.samples.primary) {
        primaryRss.set({ app: app.name }, app.samples.primary.rss);
        primaryHeap.set({ app: app.name }, app.samples.primary.heapUsed);
      }
      if (app.samples.malformedMessages !== undefined)
        malformed.inc({ app: app.name }, app.samples.malformedMessages);
      if (app.samples.relayedMessages !== undefined)
        relayed.inc({ app: app.name }, app.samples.relayedMessages);
      if (app.samples.relayDropped !== undefined)
        relayDropped.inc({ app: app.name }, app.samples.relayDropped);
      for (const [reason, n] of Object.entries(app.samples.messagesDropped ?? {}))
        messagesDropped.inc({ app: app.name, reason }, n);
      for (const s of app.samples.workers) {
        const labels = { app: app.name, worker: s.worker, pid: s.pid };
        rss.set(labels, s.rss);
        cpu.inc(labels, (s.cpu.user + s.cpu.system) / 1e6);
        elu.set(labels, s.elu);
        if (s.delay) {
          delay.set({ ...labels, quantile: '0.5' }, s.delay.p50 / 1000);
          delay.set({ ...labels, quantile: '0.99' }, s.delay.p99 / 1000);
          delay.set({ ...labels, quantile: '1' }, s.delay.max / 1000);
        }
        if (s.app) appMetrics.push(this.labelled(app.name, s.app));
      }
    }
    const parts = [this.counted, now];
    this.aggregateError = null;
    if (appMetrics.length) {
      try {
        parts.push(client.AggregatorRegistry.aggregate(appMetrics));
      } catch (error) {
        // An aggregator the app named that this prom-client does not have: its metrics are left out.
        this.aggregateError = error instanceof Error ? error.message : String(error);
      }
    }
    const texts = await Promise.all(parts.map((r) => r.metrics()));
    texts.push(
      renderRequestMetrics(apps.map((a) => ({ name: a.name, requests: a.samples?.requests ?? [] }))),
    );
    return texts.filter((t) => t.trim()).join('\n');
  }

  // An app's metrics, each value labelled with the app; a metric named like ours is left out.
  private labelled(app: string, metrics: unknown[]): Json[] {
    const out: Json[] = [];
    for (const m of metrics as Json[]) {
      if (typeof m?.name !== 'string' || !Array.isArray(m.values)) continue;
      if (m.name.startsWith(PREFIX)) {
        this.clashes.add(app);
        continue;
      }
      out.push({
        ...m,
        values: m.values.map((v) => {
          const { app: own, ...labels } = v.labels ?? {};
          return { ...v, labels: { ...labels, ...(own === undefined ? {} : { exported_app: own }), app } };
        }),
      });
    }
    return out;
  }
}

export const CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;
