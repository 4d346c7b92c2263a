// One worker process as the pool sees it: its lifecycle (starting -> ready -> draining -> stopped, or
// crashed), its readiness deadline (a worker not ready in time is stopped, and its exit is a failed
// start), and the effects the pool may ask of its process. The process itself
// (node:cluster) is behind `WorkerProcess`, so the pool runs the same with fake workers in the tests.

import type { ResolvedApp } from '../../config/resolved.js';
import { formatDuration } from '../../config/units.js';
import { errorMessage } from '../../errors.js';
import type { CountsSample } from '../../health/request-stats.js';
import { Lifecycle } from '../../lifecycle/machine.js';
import { describeExit, type Exit } from '../../lifecycle/policy.js';
import { isWorkerDone, WORKER_TRANSITIONS, type WorkerState } from '../../lifecycle/states.js';
import type { PrimaryMessage, WorkerTransition } from '../../protocol.js';

/** How a worker process ended, as its process reports it. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The error line the worker printed last, which explains a crash ("Error: listen EADDRINUSE ..."). */
  detail?: string;
  /** Why it never ran ("could not start: spawn E2BIG"). */
  failure?: string;
}

/** What a worker process tells the pool. */
export interface WorkerEvents {
  ready(address?: string): void;
  exit(exit: WorkerExit): void;
  /** It answered a heartbeat. */
  alive(): void;
}

/** Its main thread as the system sees it (Linux: /proc/<pid>/task/<pid>/stat). */
export interface ThreadSample {
  /** One letter: R running, S sleeping, D in uninterruptible I/O, ... */
  state: string;
  /** CPU time the thread has used so far (ms). */
  cpuMs: number;
}

/** What the pool asks of a worker process. */
export interface WorkerProcess {
  readonly pid: number | null;
  /** Real path of the entry file it runs (symbolic links resolved when it was forked). */
  readonly script: string;
  /** Graceful stop: stop accepting, finish in flight, the stop signal, SIGKILL at shutdown.timeout. */
  drain(): void;
  /** SIGKILL. */
  kill(): void;
  /** Its resident memory now (bytes), or null where that cannot be read (no /proc, gone). */
  rss(): number | null;
  /** Sends a heartbeat; false when it cannot be sent (the channel is closed). */
  beat(): boolean;
  /** Its main thread now, or null where that cannot be read. */
  mainThread(): ThreadSample | null;
}

/** Every effect of the pool, injected: real processes and timers in a primary, fakes in the tests. */
export interface PoolEffects {
  /** Forks a worker for `slot` with these settings. May throw: that is a failed start of the slot. */
  fork(slot: number, app: ResolvedApp, events: WorkerEvents): WorkerProcess;
  send(message: PrimaryMessage): void;
  /** Calls `fn` after `ms`; returns how to cancel it. */
  timer(ms: number, fn: () => void): () => void;
  now(): number;
  /** In [0, 1). */
  random(): number;
  /** Calls `fn` at every time of a cron pattern; returns how to stop it. */
  cron(pattern: string, timezone: string | null, fn: () => void): () => void;
  /** Every live worker's request counts now; one that does not answer in time is left out (canary.ts). */
  measure(): Promise<CountsSample[]>;
  /**
   * The balancer's share of new connections for these workers (a canary's `weight`, with least-connections
   * or sticky balancing); `pids` empty: every worker alike again.
   */
  weigh(pids: readonly number[], weight: number | null): void;
}

// What a worker that was never ready did not do, and how to fix it when that is what the app is like.
const NOT_READY: Record<ResolvedApp['readiness'], string> = {
  listening:
    'it never listened on a port; a worker that serves no port (a queue consumer, a scheduler) needs readiness "loaded"',
  message: 'it never sent "ready" (process.send("ready") or ready() from clusterd/worker)',
  loaded:
    'its entry module did not finish loading; an ES module whose top-level await lasts the whole run never does: start that work without awaiting it at the top level',
  port: 'it never accepted a connection on its listen port',
  probe: 'its readiness probe never succeeded',
};

function notReady(app: ResolvedApp, slot: number): string {
  // With PORT in the app's env, only the listen on it counts (listen-readiness.ts): this worker's own,
  // counted up by incrementVar.
  const base = app.env.PORT;
  const port =
    app.incrementVar === 'PORT' && base && /^-?\d+$/.test(base) ? String(Number(base) + slot) : base;
  if (app.readiness === 'listening' && port)
    return `it never listened on PORT (${port}), the listen that makes it ready; a worker that serves no port (a queue consumer, a scheduler) needs readiness "loaded"`;
  return NOT_READY[app.readiness];
}

type Shutdown = ResolvedApp['shutdown'];

/** How a worker stopped for not getting ready ended, `elapsed` ms after its stop began. */
export function howStopped(exit: WorkerExit, elapsed: number, shutdown: Shutdown): string {
  const { signal } = shutdown;
  const budget = shutdown.spread + shutdown.timeout;
  if (exit.signal === 'SIGKILL' && elapsed >= budget)
    return `stopped with ${signal}, killed with SIGKILL at shutdown.timeout (${formatDuration(budget)})`;
  const after = `after ${formatDuration(elapsed)}`;
  if (exit.signal === signal) return `stopped with ${signal} ${after}`;
  const ended = exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code ?? 'unknown'}`;
  return `stopped with ${signal}, ${ended} ${after}${exit.detail ? `: ${exit.detail}` : ''}`;
}

type TransitionDetail = Omit<WorkerTransition, 'worker' | 'pid' | 'from' | 'to'>;

export class TrackedWorker {
  readonly lifecycle: Lifecycle<WorkerState, TransitionDetail>;
  readonly startedAt: number;
  process: WorkerProcess | null = null;
  /** Why clusterd failed this worker (not ready in time, could not start): the reason of its exit. */
  failure: string | null = null;
  /** When it became ready. */
  readyAt: number | null = null;
  /** Since when its event loop has not answered (the heartbeat guard): a drain kills it instead. */
  stuckSince: number | null = null;
  private cancelReady: (() => void) | null = null;
  /** Set when it is being stopped for not getting ready in time: since when, and how. */
  private notReadyStop: { at: number; shutdown: Shutdown } | null = null;

  constructor(
    readonly slot: number,
    private readonly fx: PoolEffects,
  ) {
    this.startedAt = fx.now();
    this.lifecycle = new Lifecycle('worker', WORKER_TRANSITIONS, 'starting', (from, to, detail) =>
      this.report(from, to, detail),
    );
  }

  get pid(): number | null {
    return this.process?.pid ?? null;
  }

  /** Until its exit is recorded: its terminal states (stopped, exited, crashed) are its end. */
  get alive(): boolean {
    return !isWorkerDone(this.lifecycle.state);
  }

  private report(from: WorkerState | null, to: WorkerState, detail: TransitionDetail): void {
    this.fx.send({ type: 'worker', transition: { worker: this.slot, pid: this.pid, from, to, ...detail } });
  }

  /** Forks the process; a fork that throws is reported as an exit right after, like any failed start. */
  start(app: ResolvedApp, events: WorkerEvents): void {
    try {
      this.process = this.fx.fork(this.slot, app, events);
    } catch (error) {
      this.report(null, 'starting', {});
      const failure = `could not start: ${errorMessage(error)}`;
      this.fx.timer(0, () => events.exit({ code: null, signal: null, failure }));
      return;
    }
    this.report(null, 'starting', { script: this.process.script });
    this.cancelReady = this.fx.timer(app.readyTimeout, () => {
      this.cancelReady = null;
      this.stopNotReady(app);
    });
  }

  // Not ready in time: a failed start, but its own code may be mid-job (a queue consumer under the
  // default readiness), so it is stopped as any worker is: drain, the stop signal, SIGKILL at
  // shutdown.timeout. Its slot restarts once it has exited, never beside it.
  private stopNotReady(app: ResolvedApp): void {
    // Killed by a guard meanwhile: that is its end already.
    if (this.failure !== null || !this.alive) return;
    this.failure = `not ready within ${formatDuration(app.readyTimeout)} (readiness: ${app.readiness}): ${notReady(app, this.slot)}`;
    this.notReadyStop = { at: this.fx.now(), shutdown: app.shutdown };
    const budget = formatDuration(app.shutdown.spread + app.shutdown.timeout);
    this.drain(`${this.failure}; stopping it: ${app.shutdown.signal}, SIGKILL after ${budget}`);
  }

  /** Whether it is being stopped for not getting ready in time: its exit is a failed start, not a stop. */
  get failedToStart(): boolean {
    return this.notReadyStop !== null;
  }

  /**
   * Why its exit is a failure, when that is known: clusterd failed it (for one stopped for not getting
   * ready, with how that stop ended), it never ran, or it printed why it crashed.
   */
  failureOf(exit: WorkerExit): string | undefined {
    const stop = this.notReadyStop;
    if (this.failure !== null && stop !== null)
      return `${this.failure}; ${howStopped(exit, this.fx.now() - stop.at, stop.shutdown)}`;
    return (
      this.failure ?? exit.failure ?? (exit.detail ? `${describeExit(exit)}: ${exit.detail}` : undefined)
    );
  }

  ready(address: string | undefined): void {
    this.clearReady();
    this.readyAt = this.fx.now();
    this.lifecycle.to('ready', address ? { address } : {});
  }

  drain(reason: string): void {
    if (!this.alive || this.lifecycle.is('draining')) return;
    this.clearReady();
    if (this.stuckSince !== null) {
      // A blocked event loop would never finish its requests nor close its connections.
      const blocked = formatDuration(this.fx.now() - this.stuckSince);
      this.lifecycle.to('draining', {
        reason: `${reason}; killed: its event loop has not answered for ${blocked}, so it cannot drain`,
      });
      this.process?.kill();
      return;
    }
    this.lifecycle.to('draining', { reason });
    this.process?.drain();
  }

  kill(): void {
    if (this.alive) this.process?.kill();
  }

  rss(): number | null {
    return this.alive ? (this.process?.rss() ?? null) : null;
  }

  beat(): boolean {
    return this.alive && (this.process?.beat() ?? false);
  }

  mainThread(): ThreadSample | null {
    return this.alive ? (this.process?.mainThread() ?? null) : null;
  }

  /**
   * Records that the process has exited: its end state, and what the restart policy needs to know of
   * the exit (`exit` null: it was stopped as asked, which decides nothing).
   */
  ended(exit: WorkerExit): { exit: Exit | null; reason: string } {
    this.clearReady();
    const { code, signal } = exit;
    // A worker stopped for not getting ready in time drained too, but its exit is a failed start.
    if (this.lifecycle.is('draining') && !this.failedToStart) {
      this.lifecycle.to('stopped', { code, signal });
      return { exit: null, reason: describeExit(exit) };
    }
    const failure = this.failureOf(exit);
    const ended: Exit = {
      code,
      signal,
      uptime: this.fx.now() - this.startedAt,
      ready: this.lifecycle.is('ready'),
      ...(failure ? { reason: failure } : {}),
    };
    const reason = describeExit(ended);
    // Exit code 0 of its own accord: its work is done (a job, a consumer whose queue closed), not a crash.
    const clean = code === 0 && signal === null && !failure;
    this.lifecycle.to(clean ? 'exited' : 'crashed', { code, signal, reason });
    return { exit: ended, reason };
  }

  private clearReady(): void {
    this.cancelReady?.();
    this.cancelReady = null;
  }
}
