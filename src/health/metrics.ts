// `/metrics`: clusterd's own metrics and the apps' prom-client metrics, in Prometheus's text format.
// - Counters (restarts by reason, reloads, primary restarts and hangs, log lines dropped) are counted from what the
//   primaries report, as it happens, for the root's life: a config reload does not reset them.
// - Gauges (app and worker states, readiness, each worker's memory, CPU and event loop) are read at
//   scrape time: from the root's picture of its apps, and from a sample each worker takes of itself
//   (worker/metrics.cts), so that what is said of a worker's event loop is measured on that loop.
// - An app's own prom-client metrics are summed over its workers by its primary, by prom-client's rules
//   (AggregatorRegistry.aggregate: what its cluster mode does in a node:cluster primary), labelled with
//   `app` (an `app` label of the app's own becomes `exported_app`, as Prometheus does with a clash) and
//   rendered there once: primary/process/app-metrics.ts. The root writes that text as it is.
// - What is read at scrape time is written straight into the text, not through prom-client objects made
//   anew at each scrape; the counters above stay prom-client's, as do the root's own process metrics.
// - The apps' HTTP requests, counted by clusterd's preload in each worker, read at scrape time:
//   request-metrics.ts.
import client from 'prom-client';
import type { AppState, WorkerState } from '../lifecycle/states.js';
import { APP_STATES, WORKER_STATES } from '../lifecycle/states.js';
import type { AppMetricsText } from '../primary/process/app-metrics.js';
import type { PrimaryMessage, WorkerSample, WorkerTransition } from '../protocol.js';
import { family, labelValue, valueString } from './exposition.js';
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
    workers: Omit<WorkerSample, 'app' | 'requests'>[];
    /** The app's own metrics, summed and rendered by its primary; absent or null: it has none. */
    app?: AppMetricsText | null;
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
  /** Why some of the apps' metrics could not be summed at the last scrape (and were left out), if so. */
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

  /**
   * The text of a scrape: the counters above (prom-client), then what is read now, the apps' own metrics
   * (summed and rendered by each app's primary: primary/process/app-metrics.ts) and the requests, each
   * written once, straight into the text.
   */
  async render(apps: readonly AppScrape[], ready: Readiness): Promise<string> {
    const texts = [await this.counted.metrics(), this.now(apps, ready), this.appsOwn(apps)];
    texts.push(
      renderRequestMetrics(apps.map((a) => ({ name: a.name, requests: a.samples?.requests ?? [] }))),
    );
    return texts.filter((t) => t.trim()).join('\n');
  }

  // What is read at this scrape, in the order and the form prom-client gave it when it was a registry of
  // gauges and counters made anew at each scrape.
  private now(apps: readonly AppScrape[], ready: Readiness): string {
    const appState: string[] = [];
    const instances: string[] = [];
    const workers: string[] = [];
    const unanswered: string[] = [];
    const malformed: string[] = [];
    const relayed: string[] = [];
    const relayDropped: string[] = [];
    const messagesDropped: string[] = [];
    const rss: string[] = [];
    const primaryRss: string[] = [];
    const primaryHeap: string[] = [];
    const cpu: string[] = [];
    const elu: string[] = [];
    const delay: string[] = [];
    for (const app of apps) {
      const a = `app="${labelValue(app.name)}"`;
      for (const state of APP_STATES)
        appState.push(`clusterd_app_state{${a},state="${state}"} ${app.state === state ? 1 : 0}`);
      instances.push(`clusterd_app_instances{${a}} ${valueString(app.instances)}`);
      for (const state of WORKER_STATES) {
        if (state === 'stopped' || state === 'exited' || state === 'crashed') continue;
        let n = 0;
        for (const w of app.workers) if (w.state === state) n++;
        workers.push(`clusterd_workers{${a},state="${state}"} ${n}`);
      }
      const samples = app.samples;
      if (!samples) continue;
      unanswered.push(`clusterd_scrape_unanswered_workers{${a}} ${valueString(samples.unanswered)}`);
      if (samples.malformedMessages !== undefined)
        malformed.push(
          `clusterd_worker_messages_malformed_total{${a}} ${valueString(samples.malformedMessages)}`,
        );
      if (samples.relayedMessages !== undefined)
        relayed.push(`clusterd_worker_messages_relayed_total{${a}} ${valueString(samples.relayedMessages)}`);
      if (samples.relayDropped !== undefined)
        relayDropped.push(
          `clusterd_worker_messages_relay_dropped_total{${a}} ${valueString(samples.relayDropped)}`,
        );
      for (const [reason, n] of Object.entries(samples.messagesDropped ?? {}))
        messagesDropped.push(
          `clusterd_worker_messages_dropped_total{${a},reason="${labelValue(reason)}"} ${valueString(n)}`,
        );
      if (samples.primary) {
        primaryRss.push(`clusterd_primary_resident_memory_bytes{${a}} ${valueString(samples.primary.rss)}`);
        primaryHeap.push(`clusterd_primary_heap_used_bytes{${a}} ${valueString(samples.primary.heapUsed)}`);
      }
      for (const s of samples.workers) {
        const w = `${a},worker="${labelValue(s.worker)}",pid="${labelValue(s.pid)}"`;
        rss.push(`clusterd_worker_resident_memory_bytes{${w}} ${valueString(s.rss)}`);
        cpu.push(`clusterd_worker_cpu_seconds_total{${w}} ${valueString((s.cpu.user + s.cpu.system) / 1e6)}`);
        elu.push(`clusterd_worker_event_loop_utilization{${w}} ${valueString(s.elu)}`);
        if (s.delay) {
          const d = 'clusterd_worker_event_loop_delay_seconds';
          delay.push(`${d}{${w},quantile="0.5"} ${valueString(s.delay.p50 / 1000)}`);
          delay.push(`${d}{${w},quantile="0.99"} ${valueString(s.delay.p99 / 1000)}`);
          delay.push(`${d}{${w},quantile="1"} ${valueString(s.delay.max / 1000)}`);
        }
      }
    }
    const families = [
      family('clusterd_ready', '1 when /readyz answers 200.', 'gauge', [
        `clusterd_ready ${ready.ready ? 1 : 0}`,
      ]),
      family('clusterd_app_state', '1 for the state each app is in.', 'gauge', appState),
      family('clusterd_app_instances', 'The workers each app should run.', 'gauge', instances),
      family('clusterd_workers', 'Worker processes by state.', 'gauge', workers),
      family(
        'clusterd_scrape_unanswered_workers',
        'Workers that did not answer this scrape in time (left out of it).',
        'gauge',
        unanswered,
      ),
      // Counted by the app's primary for its life (a restarted primary starts again from 0: a counter reset).
      family(
        'clusterd_worker_messages_malformed_total',
        "Messages from the app's workers that claimed to be clusterd's and failed its checks (ignored).",
        'counter',
        malformed,
      ),
      family(
        'clusterd_worker_messages_relayed_total',
        "Messages the app's primary passed from one worker to the others (socket.io's cluster adapter).",
        'counter',
        relayed,
      ),
      family(
        'clusterd_worker_messages_relay_dropped_total',
        'Messages to relay that reached no worker: its channel had closed, or the requester was gone.',
        'counter',
        relayDropped,
      ),
      family(
        'clusterd_worker_messages_dropped_total',
        "Messages of clusterd/worker's messaging API dropped by the limits: over the size (size) or the rate (rate) of one worker.",
        'counter',
        messagesDropped,
      ),
      family(
        'clusterd_primary_resident_memory_bytes',
        "The resident set size of the app's primary process.",
        'gauge',
        primaryRss,
      ),
      family(
        'clusterd_primary_heap_used_bytes',
        "V8 heap in use in the app's primary process.",
        'gauge',
        primaryHeap,
      ),
      family('clusterd_worker_resident_memory_bytes', "A worker's resident set size.", 'gauge', rss),
      family(
        'clusterd_worker_cpu_seconds_total',
        'CPU time a worker has used (user and system).',
        'counter',
        cpu,
      ),
      family(
        'clusterd_worker_event_loop_utilization',
        "Share of the time a worker's event loop was busy since the previous scrape (0..1).",
        'gauge',
        elu,
      ),
      family(
        'clusterd_worker_event_loop_delay_seconds',
        "A worker's event-loop delay since the previous scrape (quantile 1: the maximum).",
        'gauge',
        delay,
      ),
    ];
    return `${families.join('\n\n')}\n`;
  }

  // The apps' own metrics as their primaries rendered them: a family several apps have is written once,
  // HELP and TYPE from the first app that has it, then each app's samples, in the apps' order.
  private appsOwn(apps: readonly AppScrape[]): string {
    const families = new Map<string, { head: string; lines: string[] }>();
    const errors: string[] = [];
    for (const app of apps) {
      const own = app.samples?.app;
      if (!own) continue;
      if (own.clash) this.clashes.add(app.name);
      for (const error of own.errors) errors.push(`${app.name}: ${error}`);
      for (const f of own.families) {
        const known = families.get(f.name);
        if (!known) families.set(f.name, { head: f.head, lines: f.lines ? [f.lines] : [] });
        else if (f.lines) known.lines.push(f.lines);
      }
    }
    this.aggregateError = errors.length ? errors.join('; ') : null;
    if (!families.size) return '';
    let text = '';
    for (const { head, lines } of families.values()) {
      if (text) text += '\n\n';
      text += lines.length ? `${head}\n${lines.join('\n')}` : head;
    }
    return `${text}\n`;
  }
}

export const CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;
