// The root's side of one app: forks its primary, relays and logs what the primary reports, restarts a
// primary that dies (same backoff and crash-loop rules as workers), and kills a dead primary's
// leftover workers so none outlives it.
import { type ChildProcess, fork } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { ResolvedApp } from '../config/resolved.js';
import { decideRestart, describeExit, EMPTY_HISTORY, type RestartHistory } from '../lifecycle/policy.js';
import type { AppState, WorkerState } from '../lifecycle/states.js';
import { reportLogFile } from '../log/faults.js';
import type { Logger } from '../log/logger.js';
import { relayLines } from '../log/relay.js';
import {
  isPrimaryMessage,
  type LogFormat,
  PROTOCOL_VERSION,
  type PrimaryMessage,
  type RootMessage,
} from '../protocol.js';

const PRIMARY_ENTRY = new URL('../primary/main.js', import.meta.url);

export interface WorkerInfo {
  pid: number | null;
  state: WorkerState;
  /** When this worker process started (ms). */
  since: number;
  /** Restarts of this slot so far. */
  restarts: number;
}

/** Recent output kept per app for `clusterd logs`. */
const RECENT_BYTES = 256 * 1024;

type ReloadResult = { ok: true; replaced: number; ms: number } | { ok: false; reason: string };

/** The environment a worker gets: the supervisor's own, plus the app's, minus what the app removes. */
export function workerEnv(base: NodeJS.ProcessEnv, app: ResolvedApp): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  for (const [key, value] of Object.entries(app.env)) {
    if (value === null) delete env[key];
    else env[key] = value;
  }
  return env;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class AppRunner {
  state: AppState = 'starting';
  readonly workers = new Map<number, WorkerInfo>();
  private primary: ChildProcess | null = null;
  private primaryStartedAt = 0;
  private primaryHistory: RestartHistory = EMPTY_HISTORY;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly restartsBySlot = new Map<number, number>();
  private recent: Buffer[] = [];
  private recentBytes = 0;
  /** `logs --follow` listeners. */
  readonly followers = new Set<(chunk: Buffer) => void>();
  // Reload requests not yet picked up by the primary, and those its current reload answers.
  private reloadWaiting: ((r: ReloadResult) => void)[] = [];
  private reloadRunning: ((r: ReloadResult) => void)[] = [];
  private scaleWaiting: (() => void)[] = [];
  private stopping = false;
  private leaving = false;
  /** Removed from the config by a reload: stopping, and not to be matched by name again. */
  leavingConfig = false;
  /** True once `done` has resolved. */
  settled = false;
  private settle: (() => void) | null = null;
  /** Resolves when the app is stopped or errored and its primary has exited. */
  readonly done: Promise<void>;

  /** Stopped by `clusterd stop <app>`: the supervisor keeps running without it. */
  stoppedByCommand = false;

  constructor(
    public app: ResolvedApp,
    private readonly log: Logger,
    private readonly logFormat: LogFormat,
    private readonly output: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = {
      out: process.stdout,
      err: process.stderr,
    },
  ) {
    this.done = new Promise((resolve) => {
      this.settle = () => {
        this.settled = true;
        resolve();
      };
    });
  }

  start(): void {
    this.leaving = false;
    this.primaryStartedAt = Date.now();
    const child = fork(PRIMARY_ENTRY, [], {
      // The primary gets the supervisor's plain environment; the workers' one travels in 'start'.
      env: process.env,
      // A primary holds little but allocates steadily (every line of its workers' output): V8 would grow
      // its young generation to 16 MiB per semi-space and keep it; 1 MiB keeps its RSS flat (measured
      // in test/reliability/crash-loop.test.ts and bench/supervisor-memory.ts).
      execArgv: ['--max-semi-space-size=1'],
      // Its output comes back through the root, which writes whole lines (see log/relay.ts).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a terminal's Ctrl-C reaches the root only, which then stops gracefully.
      detached: true,
      serialization: 'json',
    });
    this.primary = child;
    const tap = (chunk: Buffer) => this.keep(chunk);
    if (child.stdout) relayLines(child.stdout, this.output.out as Writable, tap);
    if (child.stderr) relayLines(child.stderr, this.output.err as Writable, tap);
    child.on('message', (message: unknown) => this.onMessage(child, message));
    child.on('error', (error) =>
      this.log.error({ app: this.app.name, err: error }, `primary: ${error.message}`),
    );
    child.on('exit', (code, signal) => this.onPrimaryExit(child, code, signal));
    this.log.info({ app: this.app.name, primary: child.pid ?? null }, `primary started (pid ${child.pid})`);
  }

  private keep(chunk: Buffer): void {
    this.recent.push(chunk);
    this.recentBytes += chunk.length;
    while (this.recentBytes > RECENT_BYTES && this.recent.length > 1)
      this.recentBytes -= this.recent.shift()?.length ?? 0;
    for (const follower of this.followers) follower(chunk);
  }

  /** The last `count` lines of the app's output. */
  recentLines(count: number): string[] {
    const lines = Buffer.concat(this.recent).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return count > 0 ? lines.slice(-count) : [];
  }

  get primaryPid(): number | null {
    return this.primary?.pid ?? null;
  }

  private send(message: RootMessage): void {
    if (this.primary?.connected) this.primary.send(message);
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.primary) return;
    if (!isPrimaryMessage(raw)) {
      this.log.warn({ app: this.app.name }, 'ignored an unknown message from the primary');
      return;
    }
    const message: PrimaryMessage = raw;
    const app = this.app.name;
    switch (message.type) {
      case 'hello':
        if (message.version !== PROTOCOL_VERSION) {
          this.log.error({ app }, `primary speaks protocol ${message.version}, expected ${PROTOCOL_VERSION}`);
          child.kill('SIGKILL');
          return;
        }
        if (this.stopping) {
          this.send({ type: 'stop' });
          return;
        }
        this.send({
          type: 'start',
          app: this.app,
          env: workerEnv(process.env, this.app),
          logFormat: this.logFormat,
        });
        return;
      case 'worker': {
        const t = message.transition;
        const known = this.workers.get(t.worker);
        // A slot's successor and its predecessor overlap during a reload: the status shows the newest.
        if (!known || known.pid === t.pid || t.to === 'starting') {
          const since = t.to === 'starting' || !known ? Date.now() : known.since;
          this.workers.set(t.worker, {
            pid: t.pid,
            state: t.to,
            since,
            restarts: this.restartsBySlot.get(t.worker) ?? 0,
          });
        }
        const level = t.to === 'crashed' ? 'warn' : 'info';
        const what = t.to === 'ready' && t.address ? `ready on ${t.address}` : t.to;
        this.log[level]({ app, ...t, pid: t.pid }, `worker ${what}${t.reason ? `: ${t.reason}` : ''}`);
        return;
      }
      case 'backoff':
        this.restartsBySlot.set(message.worker, (this.restartsBySlot.get(message.worker) ?? 0) + 1);
        this.log.info(
          { app, worker: message.worker, delay: message.delay, attempt: message.attempt },
          `worker restarts in ${message.delay} ms (attempt ${message.attempt})`,
        );
        return;
      case 'app': {
        this.state = message.to;
        const level = message.to === 'errored' ? 'error' : 'info';
        const fields = {
          app,
          from: message.from,
          to: message.to,
          reason: message.reason,
          lastExits: message.lastExits,
        };
        this.log[level](fields, `app ${message.to}${message.reason ? `: ${message.reason}` : ''}`);
        return;
      }
      case 'reload':
        if (message.phase === 'started') {
          this.reloadRunning.push(...this.reloadWaiting.splice(0));
          this.log.info({ app, reload: 'started' }, 'reload started');
        } else if (message.phase === 'done') {
          for (const resolve of this.reloadRunning.splice(0))
            resolve({ ok: true, replaced: message.replaced, ms: message.ms });
          this.log.info(
            { app, reload: 'done', replaced: message.replaced, ms: message.ms },
            `reloaded: ${message.replaced} workers replaced in ${message.ms} ms`,
          );
        } else {
          for (const resolve of this.reloadRunning.splice(0)) resolve({ ok: false, reason: message.reason });
          this.log.error(
            { app, reload: 'failed', reason: message.reason },
            `reload failed: ${message.reason}`,
          );
        }
        return;
      case 'watch': {
        const more =
          message.count > message.files.length ? ` and ${message.count - message.files.length} more` : '';
        this.log.info(
          { app, files: message.files, count: message.count },
          `${message.files.join(', ')}${more} changed: rolling reload`,
        );
        return;
      }
      case 'watching':
        this.log.info({ app, watching: message.paths }, `watching ${message.paths.join(', ')} for changes`);
        return;
      case 'scaled':
        for (const resolve of this.scaleWaiting.splice(0)) resolve();
        if (message.from !== message.to) {
          this.log.info(
            { app, from: message.from, to: message.to },
            `scaled from ${message.from} to ${message.to} workers`,
          );
        }
        return;
      case 'error':
        this.log.error({ app }, message.message);
        return;
      case 'logfile':
        reportLogFile(this.log, message, app);
        return;
      case 'bye':
        this.leaving = true;
        return;
    }
  }

  private onPrimaryExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.primary) return;
    this.primary = null;
    // Workers of a dead primary notice its IPC channel close and exit; one that is stuck does not.
    for (const [slot, info] of this.workers) {
      if (info.pid !== null && info.state !== 'stopped' && info.state !== 'crashed' && alive(info.pid)) {
        this.log.warn(
          { app: this.app.name, worker: slot, pid: info.pid },
          'killing a worker left by its primary',
        );
        try {
          process.kill(info.pid, 'SIGKILL');
        } catch {}
      }
    }
    this.workers.clear();
    if (this.leaving || this.stopping || this.state === 'errored' || this.state === 'stopped') {
      if (this.stopping && this.state !== 'errored') this.state = 'stopped';
      this.settle?.();
      return;
    }
    const exit = { code, signal, uptime: Date.now() - this.primaryStartedAt };
    // A primary never ends on its own unless its app is done: any other exit is a failure.
    const decision = decideRestart(
      { ...this.app.restart, policy: 'always', noRestartExitCodes: [] },
      exit,
      this.primaryHistory,
      Date.now(),
    );
    if (decision.action === 'restart') {
      this.primaryHistory = decision.history;
      this.log.error(
        { app: this.app.name, code, signal, delay: decision.delay },
        `primary exited unexpectedly (${describeExit(exit)}), restarting in ${decision.delay} ms`,
      );
      this.state = 'backoff';
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start();
      }, decision.delay);
      return;
    }
    this.log.error(
      { app: this.app.name, from: this.state, to: 'errored', reason: decision.reason },
      `app errored: primary ${decision.reason}`,
    );
    this.state = 'errored';
    this.settle?.();
  }

  /**
   * Rolling reload of the app's workers: new code from disk, the current settings and environment.
   * Resolves with how it went (a reload queued behind a running one shares the next one's result).
   */
  reload(): Promise<ReloadResult> {
    if (this.stopping) return Promise.resolve({ ok: false, reason: 'the app is stopping' });
    if (!this.primary?.connected) {
      this.log.warn({ app: this.app.name }, 'reload skipped: the primary is not running');
      return Promise.resolve({ ok: false, reason: 'the app has no running primary' });
    }
    const result = new Promise<ReloadResult>((resolve) => this.reloadWaiting.push(resolve));
    this.send({ type: 'reload', app: this.app, env: workerEnv(process.env, this.app) });
    return result;
  }

  /** Runs this many workers; resolves once the primary has applied it. */
  scale(instances: number): Promise<void> {
    this.app = { ...this.app, instances };
    if (!this.primary?.connected) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.scaleWaiting.push(resolve));
    this.send({ type: 'scale', instances });
    return done;
  }

  /** New settings from a config reload: roll the workers onto them (then scale, if the count changed). */
  update(app: ResolvedApp): void {
    const instances = app.instances;
    this.app = { ...app, instances: this.app.instances };
    void this.reload();
    if (instances !== this.app.instances) void this.scale(instances);
  }

  /** Graceful stop; resolves when the primary has stopped its workers and exited. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.restartTimer) {
        clearTimeout(this.restartTimer);
        this.restartTimer = null;
        this.settle?.();
      } else if (!this.primary) {
        this.settle?.();
      } else {
        this.send({ type: 'stop' });
      }
    }
    return this.done;
  }

  /** Immediate stop: the primary SIGKILLs its workers; a primary that does not answer is killed too. */
  kill(): Promise<void> {
    void this.stop();
    this.send({ type: 'kill' });
    const primary = this.primary;
    if (primary) setTimeout(() => primary.kill('SIGKILL'), 1_000).unref();
    return this.done;
  }
}
