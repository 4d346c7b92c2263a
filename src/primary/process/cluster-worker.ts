// One worker process with node:cluster: the effects the pool asks for (fork, drain, kill) carried out,
// and the process's events (ready, exit) turned into the pool's. Its output goes to the primary's sinks,
// tagged with the app and slot.
import cluster, { type Address, type ClusterSettings, type Worker as ClusterWorker } from 'node:cluster';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ResolvedApp } from '../../config/resolved.js';
import type { LogFormat, PrimaryMessage } from '../../protocol.js';
import {
  describeWorkerMessage,
  HEARTBEAT,
  isMalformedWorkerMessage,
  isWorkerAlive,
  isWorkerKeepAlive,
  isWorkerListening,
  isWorkerLoaded,
  isWorkerOpen,
  isWorkerReady,
} from '../../protocol.js';
import drain from '../../worker/drain.cjs';
import { Handoff } from '../balance/handoff.js';
import { readMainThread, readRss } from '../guards/proc-sample.js';
import type { PoolEffects, ThreadSample, WorkerEvents, WorkerProcess } from '../pool/tracked-worker.js';
import { linuxProc, type ProcessTrees, type ProcSystem } from '../stop/descendants-proc.js';
import { stopWorker } from '../stop/stop.js';
import { accessProblem } from './access.js';
import type { ClusterView } from './cluster-view.js';
import { envFileVars, workerEnv } from './env.js';
import { keepAliveWarning } from './keep-alive-warning.js';
import { readinessListen } from './listen-readiness.js';
import type { ListenSockets } from './listen-sockets.js';
import { type AppFiles, crashLine, forwardLines, type Sink } from './output.js';

export type { AppFiles } from './output.js';

import { ProgramProcess } from './program.js';
import { resolveRelease } from './release.js';
import { type ChannelTally, workerChannel } from './worker-channel.js';

/** Loaded into every worker before the app (see worker/preload.cts). */
export const PRELOAD = fileURLToPath(new URL('../../worker/preload.cjs', import.meta.url));

/** How long an exited worker's output may take to drain before its exit is handled anyway. */
const OUTPUT_GRACE_MS = 1_000;

function formatAddress(address: Address): string {
  const host = address.address ?? (address.addressType === 6 ? '::' : '0.0.0.0');
  return address.port === undefined || address.port < 0 ? String(host) : `${host}:${address.port}`;
}

// node:cluster builds a worker's environment from `process.env` plus the variables given to fork(),
// so a variable the app removes could not be removed. For the fork, and only for it, `process.env` is
// the worker's exact environment; the primary's own environment (and so its TZ) never changes.
function forkWith(env: Record<string, string>): ClusterWorker {
  const own = process.env;
  process.env = env;
  try {
    return cluster.fork();
  } finally {
    process.env = own;
  }
}

export class ClusterWorkerProcess implements WorkerProcess {
  readonly worker: ClusterWorker;
  readonly script: string;
  private readonly cwd: string;
  private tail: () => string[] = () => [];
  private exited = false;
  private readonly trees: ProcessTrees | undefined;
  private readonly handoff: Handoff | undefined;

  constructor(
    slot: number,
    private readonly app: ResolvedApp,
    options: {
      baseEnv: Readonly<NodeJS.ProcessEnv>;
      logFormat: LogFormat;
      sinks: { stdout: Sink; stderr: Sink };
      /** The app's log files (log-files.ts), when it has any. */
      files?: AppFiles | undefined;
      /** Logs a warning through the primary, once per key. */
      warnOnce?: (key: string, message: Extract<PrimaryMessage, { type: 'warning' }>) => void;
      trees?: ProcessTrees;
      /** Reports to the root (a draining worker's open connections). */
      send?: (message: PrimaryMessage) => void;
      /** With `least-connections` or `sticky` balancing: the primary's listens and handoffs. */
      handoff?: Handoff;
      /** Where malformed messages from the worker are counted (the primary's own by default). */
      tally?: ChannelTally;
      /** The app's view of node:cluster: the worker is its own from its fork on. */
      view?: ClusterView;
    },
    private readonly events: WorkerEvents,
  ) {
    // Read before anything else of the fork: a file gone or unreadable since the load throws here, and
    // that is a failed start of the slot (worker.ts), never a change to what runs.
    const fileVars = envFileVars(app);
    const release = resolveRelease(app);
    this.script = release.script;
    this.cwd = release.cwd;
    cluster.setupPrimary({
      exec: release.script,
      args: [...app.args],
      execArgv: ['--require', PRELOAD, ...app.nodeArgs],
      cwd: release.cwd,
      silent: true,
      serialization: app.serialization,
      // setupPrimary keeps keys it is not given: a worker of an app without `user` must not inherit them.
      uid: app.runAs?.uid,
      gid: app.runAs?.gid,
    } as ClusterSettings);
    const env = workerEnv(options.baseEnv, app, slot, fileVars);
    const worker = forkWith(env);
    options.view?.own(worker);
    this.worker = worker;
    this.trees = options.trees;
    this.handoff = options.handoff;
    this.handoff?.attach(worker, slot);
    const base = { app: app.name, worker: slot, pid: this.pid ?? 0, format: options.logFormat };
    const { sinks, files } = options;
    const file = (stream: 'stdout' | 'stderr') => (files ? () => files.output(stream) : undefined);
    if (worker.process.stdout)
      forwardLines(worker.process.stdout, {
        ...base,
        stream: 'stdout',
        sink: sinks.stdout,
        file: file('stdout'),
      });
    if (worker.process.stderr)
      this.tail = forwardLines(worker.process.stderr, {
        ...base,
        stream: 'stderr',
        sink: sinks.stderr,
        file: file('stderr'),
      }).tail;
    if (app.readiness === 'listening') {
      // A worker may run more servers than the app's (metrics, admin): the listen on PORT decides
      // (listen-readiness.ts). With kernel balancing (SO_REUSEPORT) or a handoff balancing (the primary's
      // own listen) node:cluster does not see a TCP listen, and the preload reports it; a Unix socket or
      // an fd is node:cluster's as usual.
      // A PORT from the app's env files is the app's own too (its `env` still wins, `null` included);
      // counted up by incrementVar, this worker's own value.
      const own = Object.hasOwn(app.env, 'PORT') ? app.env.PORT : fileVars.PORT;
      const port = app.incrementVar === 'PORT' ? env.PORT : own;
      const decides = readinessListen(port ?? undefined);
      const listened = (address: string) => {
        if (decides(address)) events.ready(address);
      };
      worker.on('listening', (address: Address) => listened(formatAddress(address)));
      if (app.balancing !== 'round-robin')
        worker.on('message', (message: unknown) => {
          if (isWorkerListening(message)) listened(message.address);
        });
    } else if (app.readiness === 'loaded') {
      worker.on('message', (message: unknown) => {
        if (isWorkerLoaded(message)) events.ready();
      });
    } else {
      worker.on('message', (message: unknown) => {
        if (isWorkerReady(message)) events.ready();
      });
    }
    worker.on('message', (message: unknown) => {
      if (!isWorkerKeepAlive(message)) return;
      const { timeout } = app.shutdown;
      const warning = keepAliveWarning(message.timeout, timeout, drain.graceMs(timeout));
      options.warnOnce?.('keep-alive', { type: 'warning', ...warning });
    });
    // Every message is checked here once for the count; each handler below (and the handoff's, the
    // scrape's) reads only the messages its guard passes, so a malformed one reaches none of them.
    const tally = options.tally ?? workerChannel;
    worker.on('message', (message: unknown) => {
      if (!isMalformedWorkerMessage(message)) return;
      tally.malformed += 1;
      options.warnOnce?.('malformed-message', {
        type: 'warning',
        message: `a worker sent a malformed clusterd message (clusterd: ${describeWorkerMessage(message)}): it is ignored, and such messages are counted (clusterd_worker_messages_malformed_total)`,
        fields: { worker: slot, pid: this.pid ?? 0 },
      });
    });
    worker.on('message', (message: unknown) => {
      if (isWorkerAlive(message)) events.alive();
      else if (isWorkerOpen(message) && this.pid !== null)
        options.send?.({ type: 'connections', worker: slot, pid: this.pid, open: message.count });
    });
    worker.on('error', (error: Error) => {
      // A worker that never got a pid will not emit 'exit'.
      if (worker.process.pid === undefined)
        setImmediate(() =>
          this.exit({
            code: null,
            signal: null,
            failure: `could not start: ${this.accessProblem() ?? error.message}`,
          }),
        );
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      this.handoff?.detach(worker);
      // What the app started and left behind is stopped now, whatever ended the worker.
      this.trees?.sweep(app.shutdown.signal as NodeJS.Signals, app.shutdown.timeout);
      // Handle the exit once the worker's last output is forwarded (it explains crashes), but do not let
      // a grandchild holding the pipes open delay it for long.
      const late = setTimeout(() => this.exitWithOutput(code, signal), OUTPUT_GRACE_MS);
      worker.process.once('close', () => {
        clearTimeout(late);
        this.exitWithOutput(code, signal);
      });
    });
  }

  get pid(): number | null {
    return this.worker.process.pid ?? null;
  }

  private exitWithOutput(code: number | null, signal: NodeJS.Signals | null): void {
    const clean = code === 0 && signal === null;
    // A worker run as another user that cannot reach its files: that is the explanation, not Node's
    // EACCES stack line.
    const detail = clean ? undefined : (this.accessProblem() ?? crashLine(this.tail()));
    this.exit({ code, signal, ...(detail ? { detail } : {}) });
  }

  // A worker run as another user that failed: whether that user may reach its files at all.
  private accessProblem(): string | null {
    const { runAs } = this.app;
    return runAs ? accessProblem({ script: this.script, cwd: this.cwd, preload: PRELOAD }, runAs) : null;
  }

  private exit(exit: Parameters<WorkerEvents['exit']>[0]): void {
    if (this.exited) return;
    this.exited = true;
    this.events.exit(exit);
  }

  drain(): void {
    // Exited already (its exit waits for the last output): nothing to stop, no SIGKILL timer to arm.
    const { exitCode, signalCode } = this.worker.process;
    if (exitCode !== null || signalCode !== null) return;
    // Before the drain message: every connection handed over until now comes before it on the channel.
    this.handoff?.stopAccepting(this.worker);
    stopWorker(this.worker, this.app.shutdown, this.app.balancing !== 'round-robin', this.trees);
  }

  kill(): void {
    const kill = () => this.worker.process.kill('SIGKILL');
    if (this.trees) this.trees.killTree(this.pid ?? undefined, kill);
    else kill();
  }

  rss(): number | null {
    return this.pid === null ? null : readRss(this.pid);
  }

  beat(): boolean {
    if (!this.worker.isConnected()) return false;
    this.worker.send(HEARTBEAT);
    return true;
  }

  mainThread(): ThreadSample | null {
    return this.pid === null ? null : readMainThread(this.pid);
  }
}

const require = createRequire(import.meta.url);

// croner is loaded for the first app that recycles on a schedule, not by every primary.
function cronJob(pattern: string, timezone: string | null, fn: () => void): () => void {
  const { Cron } = require('croner') as typeof import('croner');
  const job = new Cron(pattern, { ...(timezone ? { timezone } : {}), protect: true }, fn);
  return () => job.stop();
}

/**
 * The pool's effects in a primary: node:cluster workers (or a program's plain child processes), real
 * timers, and messages to the root.
 */
export function clusterEffects(options: {
  baseEnv: Readonly<NodeJS.ProcessEnv>;
  logFormat: LogFormat;
  sinks: { stdout: Sink; stderr: Sink };
  files?: AppFiles;
  send: PoolEffects['send'];
  /** The worker's descendants and the app's orphans, stopped with the worker. */
  trees?: ProcessTrees;
  /** A program's listening sockets (`listen`), opened before its instances are forked. */
  sockets?: ListenSockets;
  sys?: ProcSystem;
  /** Every live worker's request counts (primary/process/scrape-counts.ts); none without. */
  measure?: PoolEffects['measure'];
  /** Where malformed messages from the workers are counted (the app's). */
  tally?: ChannelTally;
  /** The app's view of node:cluster (cluster-view.ts): each worker forked is registered in it. */
  view?: ClusterView;
}): PoolEffects {
  const sys = options.sys ?? linuxProc();
  // A warning about the app's settings is logged once per primary (once per app), not per worker.
  const warned = new Set<string>();
  const warnOnce = (key: string, message: PrimaryMessage) => {
    if (warned.has(key)) return;
    warned.add(key);
    options.send(message);
  };
  // One per primary, made at the first fork that needs it: old and new workers of a reload share its
  // listens, whichever of the two handoff balancings each was forked with.
  let handoff: Handoff | undefined;
  const handoffFor = (app: ResolvedApp): Handoff | undefined => {
    if (app.balancing !== 'least-connections' && app.balancing !== 'sticky') return undefined;
    handoff ??= new Handoff(app.balancing);
    handoff.balancing = app.balancing;
    handoff.header = app.stickyHeader;
    return handoff;
  };
  return {
    fork: (slot, app, events) =>
      app.program
        ? new ProgramProcess(
            slot,
            app,
            { ...options, sys, listen: (a) => options.sockets?.hold(a) ?? { fd: null, release: () => {} } },
            events,
          )
        : new ClusterWorkerProcess(slot, app, { ...options, warnOnce, handoff: handoffFor(app) }, events),
    send: options.send,
    timer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    now: Date.now,
    random: Math.random,
    cron: cronJob,
    measure: options.measure ?? (() => Promise.resolve([])),
    // Only the handoff balancings choose a worker per connection; round-robin and kernel cannot weigh
    // (the config refuses a weight there).
    weigh: (pids, weight) => handoff?.weigh(pids, weight),
  };
}
