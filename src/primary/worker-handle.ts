// One worker process, from fork to exit: its output, its readiness, its state transitions (each one
// reported to the root), and how it is drained. A slot (NODE_APP_INSTANCE) sees several of these over
// time, and two at once during a rolling reload.
import cluster, { type Address, type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ResolvedApp } from '../config/resolved.js';
import { formatDuration } from '../config/units.js';
import { assertWorkerTransition, type WorkerState } from '../lifecycle/states.js';
import type { LogFormat, PrimaryMessage, WorkerTransition } from '../protocol.js';
import { isWorkerReady } from '../protocol.js';
import { forwardLines, type Sink } from './output.js';
import { stopWorker } from './stop.js';

/** Loaded into every worker before the app (see worker/preload.cts). */
export const PRELOAD = fileURLToPath(new URL('../worker/preload.cjs', import.meta.url));

/** How long an exited worker's output may take to drain before its exit is handled anyway. */
const OUTPUT_GRACE_MS = 1_000;

export interface HandleContext {
  app: ResolvedApp;
  logFormat: LogFormat;
  sinks: { stdout: Sink; stderr: Sink };
  send: (message: PrimaryMessage) => void;
  onReady: (handle: WorkerHandle) => void;
  onExit: (handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null) => void;
}

function formatAddress(address: Address): string {
  const host = address.address ?? (address.addressType === 6 ? '::' : '0.0.0.0');
  return address.port === undefined || address.port < 0 ? String(host) : `${host}:${address.port}`;
}

/** Points node:cluster at the app; affects workers forked from now on. */
export function setupCluster(app: ResolvedApp): void {
  cluster.setupPrimary({
    exec: app.script,
    args: [...app.args],
    execArgv: ['--require', PRELOAD, ...app.nodeArgs],
    cwd: app.cwd,
    silent: true,
  });
}

export class WorkerHandle {
  state: WorkerState | null = null;
  readonly worker: Worker;
  readonly startedAt = Date.now();
  /** Why this worker is failing, when clusterd decided it (readiness timeout, fork error). */
  failure: string | null = null;
  tail: () => string[] = () => [];
  private readyTimer: NodeJS.Timeout | null = null;
  private exited = false;

  constructor(
    readonly slot: number,
    private readonly ctx: HandleContext,
  ) {
    const { app } = ctx;
    const id = String(slot);
    this.worker = cluster.fork({
      NODE_APP_INSTANCE: id,
      CLUSTERD_WORKER_ID: id,
      CLUSTERD_APP: app.name,
      CLUSTERD_SHUTDOWN_SIGNAL: app.shutdown.signal,
      CLUSTERD_BALANCING: app.balancing,
    });
    const worker = this.worker;
    this.transition('starting');
    const base = { app: app.name, worker: slot, pid: this.pid ?? 0, format: ctx.logFormat };
    if (worker.process.stdout)
      forwardLines(worker.process.stdout, { ...base, stream: 'stdout', sink: ctx.sinks.stdout });
    if (worker.process.stderr) {
      this.tail = forwardLines(worker.process.stderr, {
        ...base,
        stream: 'stderr',
        sink: ctx.sinks.stderr,
      }).tail;
    }
    if (app.readiness === 'listening' && app.balancing === 'kernel') {
      // With SO_REUSEPORT node:cluster does not see the listen; the preload reports it.
      worker.on('message', (message: { clusterd?: string; address?: string } | null) => {
        if (message?.clusterd === 'listening') this.markReady(message.address);
      });
    } else if (app.readiness === 'listening') {
      worker.on('listening', (address: Address) => this.markReady(formatAddress(address)));
    } else {
      worker.on('message', (message: unknown) => {
        if (isWorkerReady(message)) this.markReady();
      });
    }
    worker.on('error', (error: Error) => {
      this.failure ??= `could not start: ${error.message}`;
      // A worker that never got a pid will not emit 'exit'.
      if (worker.process.pid === undefined) setImmediate(() => this.handleExit(null, null));
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      // Handle the exit once the worker's last output is forwarded (it explains crashes), but do not let
      // a grandchild holding the pipes open delay it for long.
      const late = setTimeout(() => this.handleExit(code, signal), OUTPUT_GRACE_MS);
      worker.process.once('close', () => {
        clearTimeout(late);
        this.handleExit(code, signal);
      });
    });
    this.readyTimer = setTimeout(() => {
      this.failure = `not ready within ${formatDuration(app.readyTimeout)} (readiness: ${app.readiness})`;
      worker.process.kill('SIGKILL');
    }, app.readyTimeout);
  }

  get pid(): number | null {
    return this.worker.process.pid ?? null;
  }

  get alive(): boolean {
    return !this.exited;
  }

  transition(to: WorkerState, extra: Partial<WorkerTransition> = {}): void {
    const from = this.state;
    if (from) assertWorkerTransition(from, to);
    this.state = to;
    this.ctx.send({ type: 'worker', transition: { worker: this.slot, pid: this.pid, from, to, ...extra } });
  }

  private markReady(address?: string): void {
    if (this.state !== 'starting') return;
    this.clearReadyTimer();
    this.transition('ready', address ? { address } : {});
    this.ctx.onReady(this);
  }

  private clearReadyTimer(): void {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
  }

  private handleExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.clearReadyTimer();
    this.ctx.onExit(this, code, signal);
  }

  /** Graceful stop: stop accepting, finish in flight, then the stop signal, then SIGKILL. */
  drain(reason: string): void {
    if (this.exited || this.state === 'draining') return;
    this.clearReadyTimer();
    this.transition('draining', { reason });
    stopWorker(this.worker, this.ctx.app.shutdown, this.ctx.app.balancing === 'kernel');
  }

  kill(): void {
    if (!this.exited) this.worker.process.kill('SIGKILL');
  }
}
