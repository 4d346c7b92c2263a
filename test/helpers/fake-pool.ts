// Fake workers and fake time for the pool's unit tests: every effect the pool asks for is recorded, and
// the test plays the processes' part (ready, exit) itself.
import { vi } from 'vitest';
import type { ResolvedApp, ResolvedCanary } from '../../src/config/resolved.js';
import {
  bucketOf,
  type CountsSample,
  emptyCounts,
  type RequestCounts,
} from '../../src/health/request-stats.js';
import type { AppState, SlotState, WorkerState } from '../../src/lifecycle/states.js';
import { Pool } from '../../src/primary/pool/pool.js';
import type {
  PoolEffects,
  ThreadSample,
  WorkerEvents,
  WorkerProcess,
} from '../../src/primary/pool/tracked-worker.js';
import type { Outcome, PrimaryMessage } from '../../src/protocol.js';

/** `reload.canary` as resolved from the schema's defaults, off (`enabled`), or with `overrides`. */
export function canarySettings(overrides: Partial<ResolvedCanary> = {}): ResolvedCanary {
  return {
    enabled: false,
    workers: 1,
    warmup: 5_000,
    observe: 30_000,
    weight: null,
    minRequests: 100,
    insufficientTraffic: 'fail',
    maxErrorRateIncrease: 0.01,
    confidence: 0.99,
    latency: 'p99',
    maxLatencyRatio: 1.5,
    latencySlack: 5,
    maxLoopDelayRatio: 2,
    loopDelaySlack: 20,
    maxRssRatio: 1.5,
    ...overrides,
  };
}

/** `reload` settings: one at a time, start first, no canary, unless overridden. */
export function reloadSettings(overrides: Partial<ResolvedApp['reload']> = {}): ResolvedApp['reload'] {
  return { parallel: 1, order: 'start-first', canary: canarySettings(), ...overrides };
}

export function resolvedApp(overrides: Partial<ResolvedApp> = {}): ResolvedApp {
  return {
    name: 'web',
    program: null,
    script: '/srv/web/server.js',
    args: [],
    nodeArgs: [],
    cwd: '/srv/web',
    instances: 2,
    env: {},
    envFiles: [],
    restart: {
      policy: 'on-failure',
      backoff: { initial: 100, factor: 2, max: 1_000 },
      maxRestarts: 5,
      stableAfter: 10_000,
      noRestartExitCodes: [],
    },
    readiness: 'listening',
    probe: null,
    readyTimeout: 5_000,
    readySettle: 1_000,
    shutdown: { signal: 'SIGTERM', timeout: 1_000, delay: 0, spread: 0 },
    watch: { enabled: false, paths: [], ignore: [], debounce: 100, usePolling: false },
    reload: reloadSettings(),
    balancing: 'round-robin',
    stickyHeader: null,
    instanceVar: null,
    incrementVar: null,
    serialization: 'json',
    requestMetrics: true,
    compileCache: false,
    logs: { file: null, errorFile: null, timestamp: false, maxSize: 1024, maxFiles: 1 },
    guards: {
      memory: { limit: null, hardLimit: null, interval: 1_000 },
      heartbeat: { timeout: null, interval: 1_000 },
      recycle: { maxAge: null, cron: null, timezone: null, jitter: 0 },
    },
    primary: { hangTimeout: null },
    primaryGroup: null,
    runAs: null,
    ...overrides,
  };
}

let nextPid = 1000;

export class FakeWorker implements WorkerProcess {
  readonly pid = nextPid++;
  drained = false;
  /** How many times it was asked to drain (a second drain would arm a second SIGKILL). */
  drains = 0;
  killed = false;
  /** What rss() reads (bytes); null: cannot be read. */
  memory: number | null = 50 * 1024 ** 2;
  /** Heartbeats sent to it; it answers them only through answer(). */
  beats = 0;
  /** What mainThread() reads. */
  thread: ThreadSample | null = { state: 'S', cpuMs: 0 };
  /** Its request counts since it started, as its preload would say them (`serve` adds to them). */
  counts: RequestCounts = emptyCounts();
  /** Whether it answers a measurement (a blocked event loop does not). */
  answers = true;
  exited = false;

  constructor(
    readonly slot: number,
    readonly app: ResolvedApp,
    private readonly events: WorkerEvents,
    /** What the process does when asked to drain (the fuzzer's workers exit a while later). */
    private readonly onDrain?: (worker: FakeWorker) => void,
  ) {}

  get script(): string {
    return this.app.script;
  }

  drain(): void {
    this.drained = true;
    this.drains += 1;
    this.onDrain?.(this);
  }

  kill(): void {
    this.killed = true;
  }

  rss(): number | null {
    return this.memory;
  }

  beat(): boolean {
    this.beats += 1;
    return true;
  }

  mainThread(): ThreadSample | null {
    return this.thread;
  }

  /** Answers a heartbeat, as the preload does. */
  answer(): void {
    this.events.alive();
  }

  ready(address = '127.0.0.1:3000'): void {
    this.events.ready(address);
  }

  /** `n` requests answered in `ms` each, `errors` of them with a 500; its loop delayed `delay` ms. */
  serve(
    n: number,
    { ms = 10, errors = 0, delay = 1 }: { ms?: number; errors?: number; delay?: number } = {},
  ): void {
    const c = this.counts;
    c.started += n;
    c.classes[1] += n - errors;
    c.classes[4] += errors;
    c.latency.counts[bucketOf(ms)] = (c.latency.counts[bucketOf(ms)] ?? 0) + n;
    c.latency.sum += n * ms;
    c.loopDelay.counts[bucketOf(delay)] = (c.loopDelay.counts[bucketOf(delay)] ?? 0) + 10;
    c.loopDelay.sum += 10 * delay;
  }

  sample(): CountsSample {
    return {
      worker: this.slot,
      pid: this.pid,
      at: Date.now(),
      rss: this.memory ?? 0,
      counts: structuredClone(this.counts),
    };
  }

  exit(code: number | null = 1, signal: NodeJS.Signals | null = null, detail?: string): void {
    this.exited = true;
    this.events.exit({ code, signal, ...(detail ? { detail } : {}) });
  }
}

export interface FakePoolOptions {
  /** Called when a worker is asked to drain; the tests that leave it out play every exit themselves. */
  onDrain?: (worker: FakeWorker) => void;
  /** Told the pool's settings each time they change (main.ts: the log files and the watcher). */
  settingsChanged?: (app: ResolvedApp) => void;
  /** Wraps the effects the pool is given (primary/leader/leadership.ts's, as main.ts does). */
  wrap?: (fx: PoolEffects) => PoolEffects;
}

/** A pool on fake workers; call inside `vi.useFakeTimers()`. */
export function fakePool(app: ResolvedApp = resolvedApp(), options: FakePoolOptions = {}) {
  const forks: FakeWorker[] = [];
  const sent: PrimaryMessage[] = [];
  const forkErrors: Error[] = [];
  /** What fx.random() returns. */
  const random = { value: 0 };
  /** Cron jobs the pool scheduled: the test fires them. */
  const crons: { pattern: string; timezone: string | null; fire: () => void; stopped: boolean }[] = [];
  /** The canary weights the pool set on the balancer, in order. */
  const weighed: { pids: number[]; weight: number | null }[] = [];
  const fx: PoolEffects = {
    fork: (slot, settings, events) => {
      const error = forkErrors.shift();
      if (error) throw error;
      const worker = new FakeWorker(slot, settings, events, options.onDrain);
      forks.push(worker);
      return worker;
    },
    send: (message) => sent.push(message),
    timer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    now: () => Date.now(),
    random: () => random.value,
    cron: (pattern, timezone, fn) => {
      const job = { pattern, timezone, fire: fn, stopped: false };
      crons.push(job);
      return () => {
        job.stopped = true;
      };
    },
    // Answered on the next turn, as a scrape over the channel is.
    measure: () => Promise.resolve(forks.filter((w) => !w.exited && w.answers).map((w) => w.sample())),
    weigh: (pids, weight) => weighed.push({ pids: [...pids], weight }),
  };
  const pool = new Pool(app, options.wrap ? options.wrap(fx) : fx, options.settingsChanged);
  const replies: Outcome[] = [];
  const reply =
    (into: Outcome[] = replies) =>
    (outcome: Outcome) =>
      into.push(outcome);
  return {
    pool,
    forks,
    sent,
    random,
    crons,
    weighed,
    reply,
    replies,
    /** The next fork throws this (as cluster.fork does with E2BIG). */
    failNextFork: (error: Error) => forkErrors.push(error),
    /** The live fake workers of a slot, oldest first. */
    workersOf: (slot: number) => forks.filter((w) => w.slot === slot && !exited(sent, w.pid)),
    appStates: () => appStates(sent),
    slotStates: (slot: number) => slotStates(sent, slot),
    workerStates: (pid: number) => workerStates(sent, pid),
    reloads: () => sent.filter((m) => m.type === 'reload'),
  };
}

function exited(sent: PrimaryMessage[], pid: number): boolean {
  return workerStates(sent, pid).some((s) => s === 'stopped' || s === 'crashed');
}

export function appStates(sent: PrimaryMessage[]): AppState[] {
  return sent.flatMap((m) => (m.type === 'app' ? [m.to] : []));
}

export function slotStates(sent: PrimaryMessage[], slot: number): SlotState[] {
  return sent.flatMap((m) => (m.type === 'slot' && m.slot === slot ? [m.to] : []));
}

export function workerStates(sent: PrimaryMessage[], pid: number): WorkerState[] {
  return sent.flatMap((m) => (m.type === 'worker' && m.transition.pid === pid ? [m.transition.to] : []));
}

/** Lets pending timers of `ms` fire. */
export function advance(ms: number): void {
  vi.advanceTimersByTime(ms);
}
