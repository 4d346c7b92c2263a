// One app's pool of node:cluster workers: forks `instances` workers, tracks each through its states,
// restarts crashes per the restart policy, and stops them gracefully. Runs inside the app's primary.
import cluster, { type Address, type Worker } from 'node:cluster';
import type { ResolvedApp } from '../config/resolved.js';
import { formatDuration } from '../config/units.js';
import { decideRestart, describeExit } from '../lifecycle/policy.js';
import {
  type AppState,
  assertAppTransition,
  assertWorkerTransition,
  type WorkerState,
} from '../lifecycle/states.js';
import type { ExitRecord, LogFormat, PrimaryMessage, WorkerTransition } from '../protocol.js';
import { isWorkerReady } from '../protocol.js';
import { crashLine, forwardLines, type Sink } from './output.js';
import { stopWorker } from './stop.js';

interface Slot {
  readonly id: number;
  worker: Worker | null;
  state: WorkerState | null;
  startedAt: number;
  /** Consecutive restarts since this slot was last stable. */
  attempts: number;
  /** Pending restart (backoff). */
  restartTimer: NodeJS.Timeout | null;
  readyTimer: NodeJS.Timeout | null;
  /** Why the current worker is failing, when clusterd decided it (readiness timeout). */
  failure: string | null;
  /** The policy said not to restart this slot. */
  finished: boolean;
  tail: () => string[];
}

export interface PoolOptions {
  app: ResolvedApp;
  env: Record<string, string>;
  logFormat: LogFormat;
  send: (message: PrimaryMessage) => void;
  /** Where worker output goes (default: this process's stdout/stderr). */
  write?: { stdout: Sink; stderr: Sink };
}

const LAST_EXITS = 5;
/** How long an exited worker's output may take to drain before its exit is handled anyway. */
const OUTPUT_GRACE_MS = 1_000;

const STDIO: NonNullable<PoolOptions['write']> = { stdout: process.stdout, stderr: process.stderr };

function formatAddress(address: Address): string {
  const host = address.address ?? (address.addressType === 6 ? '::' : '0.0.0.0');
  return address.port === undefined || address.port < 0 ? String(host) : `${host}:${address.port}`;
}

// cluster.fork() copies process.env; making it exactly the workers' environment drops removed keys.
function applyEnv(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
}

export class Pool {
  private readonly app: ResolvedApp;
  private readonly slots: Slot[];
  private appState: AppState = 'starting';
  private restarts: number[] = [];
  private readonly lastExits: ExitRecord[] = [];
  private stopping = false;
  private erroredReason: string | null = null;
  private settle: (() => void) | null = null;
  /** Resolves once no worker is alive and none will be started again. */
  readonly done: Promise<void>;

  constructor(private readonly options: PoolOptions) {
    this.app = options.app;
    this.slots = Array.from({ length: this.app.instances }, (_, id) => ({
      id,
      worker: null,
      state: null,
      startedAt: 0,
      attempts: 0,
      restartTimer: null,
      readyTimer: null,
      failure: null,
      finished: false,
      tail: () => [],
    }));
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  start(): void {
    applyEnv(this.options.env);
    cluster.setupPrimary({
      exec: this.app.script,
      args: [...this.app.args],
      execArgv: [...this.app.nodeArgs],
      cwd: this.app.cwd,
      silent: true,
    });
    for (const slot of this.slots) this.spawn(slot);
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = null;
    slot.failure = null;
    slot.state = null;
    const id = String(slot.id);
    const worker = cluster.fork({
      NODE_APP_INSTANCE: id,
      CLUSTERD_WORKER_ID: id,
      CLUSTERD_APP: this.app.name,
    });
    slot.worker = worker;
    slot.startedAt = Date.now();
    this.setWorkerState(slot, 'starting');
    const write = this.options.write ?? STDIO;
    const base = {
      app: this.app.name,
      worker: slot.id,
      pid: worker.process.pid ?? 0,
      format: this.options.logFormat,
    };
    if (worker.process.stdout)
      forwardLines(worker.process.stdout, { ...base, stream: 'stdout', sink: write.stdout });
    if (worker.process.stderr) {
      slot.tail = forwardLines(worker.process.stderr, { ...base, stream: 'stderr', sink: write.stderr }).tail;
    }
    if (this.app.readiness === 'listening') {
      worker.on('listening', (address: Address) => this.markReady(slot, worker, formatAddress(address)));
    } else {
      worker.on('message', (message: unknown) => {
        if (isWorkerReady(message)) this.markReady(slot, worker);
      });
    }
    worker.on('error', (error: Error) => {
      slot.failure ??= `could not start: ${error.message}`;
      // A worker that never got a pid will not emit 'exit'.
      if (worker.process.pid === undefined) setImmediate(() => this.onExit(slot, worker, null, null));
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      // Handle the exit once the worker's last output is forwarded (it explains crashes), but do not let
      // a grandchild holding the pipes open delay the restart for long.
      const handle = () => this.onExit(slot, worker, code, signal);
      const late = setTimeout(handle, OUTPUT_GRACE_MS);
      worker.process.once('close', () => {
        clearTimeout(late);
        handle();
      });
    });
    slot.readyTimer = setTimeout(() => {
      slot.failure = `not ready within ${formatDuration(this.app.readyTimeout)} (readiness: ${this.app.readiness})`;
      worker.process.kill('SIGKILL');
    }, this.app.readyTimeout);
  }

  private markReady(slot: Slot, worker: Worker, address?: string): void {
    if (slot.worker !== worker || slot.state !== 'starting') return;
    if (slot.readyTimer) clearTimeout(slot.readyTimer);
    slot.readyTimer = null;
    this.setWorkerState(slot, 'ready', address ? { address } : {});
    this.updateAppState();
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    if (slot.readyTimer) clearTimeout(slot.readyTimer);
    slot.readyTimer = null;
    const now = Date.now();
    if (slot.state === 'draining') {
      this.setWorkerState(slot, 'stopped', { code, signal, pid: worker.process.pid ?? null });
      this.updateAppState();
      return;
    }
    const exit = {
      code,
      signal,
      uptime: now - slot.startedAt,
      ...(slot.failure ? { reason: slot.failure } : {}),
    };
    const detail = exit.reason ? undefined : crashLine(slot.tail());
    const reason = detail && (code !== 0 || signal) ? `${describeExit(exit)}: ${detail}` : describeExit(exit);
    this.setWorkerState(slot, 'crashed', { code, signal, reason, pid: worker.process.pid ?? null });
    this.lastExits.push({
      worker: slot.id,
      pid: worker.process.pid ?? null,
      at: new Date(now).toISOString(),
      reason,
    });
    if (this.lastExits.length > LAST_EXITS) this.lastExits.shift();

    if (this.stopping || this.erroredReason) {
      slot.finished = true;
    } else {
      const decision = decideRestart(
        this.app.restart,
        exit,
        { attempts: slot.attempts, restarts: this.restarts },
        now,
      );
      if (decision.action === 'restart') {
        slot.attempts = decision.history.attempts;
        this.restarts = [...decision.history.restarts];
        this.options.send({
          type: 'backoff',
          worker: slot.id,
          delay: decision.delay,
          attempt: slot.attempts,
        });
        slot.restartTimer = setTimeout(() => this.spawn(slot), decision.delay);
      } else if (decision.action === 'errored') {
        slot.finished = true;
        this.erroredReason = decision.reason;
        // No more restarts for this app; workers still serving keep serving.
        for (const s of this.slots) {
          if (s.restartTimer) clearTimeout(s.restartTimer);
          s.restartTimer = null;
        }
      } else {
        slot.finished = true;
      }
    }
    this.updateAppState(this.erroredReason ?? reason);
  }

  private setWorkerState(slot: Slot, to: WorkerState, extra: Partial<WorkerTransition> = {}): void {
    const from = slot.state;
    if (from) assertWorkerTransition(from, to);
    slot.state = to;
    this.options.send({
      type: 'worker',
      transition: { worker: slot.id, pid: slot.worker?.process.pid ?? null, from, to, ...extra },
    });
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.worker !== null);
  }

  // The app state follows from the slots; this is the only place it is set.
  private deriveAppState(): AppState {
    const live = this.live();
    const waiting = this.slots.some((s) => s.restartTimer !== null);
    if (this.stopping) return live.length ? 'stopping' : 'stopped';
    if (this.erroredReason) return 'errored';
    if (!live.length && !waiting) return 'stopped';
    if (waiting) return 'backoff';
    const serving = this.slots.filter((s) => !s.finished);
    if (serving.every((s) => s.state === 'ready')) return 'running';
    return this.appState === 'running' ? 'backoff' : this.appState;
  }

  private updateAppState(reason?: string): void {
    const to = this.deriveAppState();
    const from = this.appState;
    if (to !== from) {
      assertAppTransition(from, to);
      this.appState = to;
      this.options.send({
        type: 'app',
        from,
        to,
        ...(reason && to !== 'running' ? { reason } : {}),
        ...(to === 'errored' ? { lastExits: [...this.lastExits] } : {}),
      });
    }
    const terminal = to === 'stopped' || (to === 'errored' && this.live().length === 0);
    if (terminal) this.settle?.();
  }

  /** Drains and stops every worker; resolves when all have exited. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const slot of this.slots) {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
        if (slot.worker && slot.state !== 'draining') {
          this.setWorkerState(slot, 'draining', { reason: 'stop requested' });
          stopWorker(slot.worker, this.app.shutdown);
        }
      }
      this.updateAppState('stop requested');
    }
    return this.done;
  }

  /** Kills every worker at once (SIGKILL). */
  kill(): Promise<void> {
    void this.stop();
    for (const slot of this.live()) slot.worker?.process.kill('SIGKILL');
    return this.done;
  }
}
