// One app's primary: its pool, request history, worker messaging, process trees, log files, profiles,
// watcher and listen sockets, and the order its requests are handled in. A primary of its own
// (main.ts) runs one of these; a shared primary (host.ts, docs/shared-primaries.md) runs one per app of
// its group. What belongs to the process (the IPC channel to the root, signals, the root's death,
// clusterd's own faults) is the host's: it hands each context how to reach the root (`send`), where its
// workers' output goes (`sinks`, `flush`) and how the context ends (`end`).

import cluster from 'node:cluster';
import { getHeapStatistics } from 'node:v8';
import type { ResolvedApp } from '../config/resolved.js';
import { MEASURE_MS } from '../control/timeouts.js';
import { ErrorCode } from '../errors.js';
import { openLogFile } from '../log/file.js';
import {
  failed,
  isRootMessage,
  type LogFormat,
  type Outcome,
  PROTOCOL_VERSION,
  type PrimaryMessage,
  type PrimaryRequest,
} from '../protocol.js';
import { clusterChannel } from './leader/cluster-channel.js';
import { withLeadership } from './leader/leadership.js';
import { WorkerMessaging } from './messages/relay.js';
import { Pool } from './pool/pool.js';
import { ClusterViews } from './process/cluster-view.js';
import { clusterEffects } from './process/cluster-worker.js';
import { ListenSockets } from './process/listen-sockets.js';
import { AppLogFiles } from './process/log-files.js';
import type { Sink } from './process/output.js';
import { pinRelease } from './process/release.js';
import { scrapeWorkers } from './process/scrape.js';
import { scrapeCounts } from './process/scrape-counts.js';
import { ChannelTally } from './process/worker-channel.js';
import { Profiles } from './profile/profiles.js';
import { relaySocketIo } from './relay/socketio.js';
import type { AppWatcher } from './reload/watch.js';
import { RequestHistory } from './requests/history.js';
import { linuxProc, ProcessTrees } from './stop/descendants-proc.js';

/**
 * The primary's own memory for a scrape: two cheap reads (no GC, no snapshot), done as it answers. A
 * shared primary's is the process's, the same for each of its apps.
 */
const ownMemory = () => ({ rss: process.memoryUsage.rss(), heapUsed: getHeapStatistics().used_heap_size });

/** node:cluster is one per process: each app's context sees it through a view of its own. */
const views = new ClusterViews(cluster);

/** How long a worker gets to answer a metrics scrape before it is left out of it. */
const SCRAPE_MS = 1_000;

const timer = (ms: number, fn: () => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

type Answer = (outcome: Outcome, then?: () => void) => void;

/** What the process gives an app's context. */
export interface ContextHost {
  /** The supervisor's environment, as the root gave it: each worker's is built from it, per fork. */
  readonly baseEnv: Readonly<NodeJS.ProcessEnv>;
  /** A message to the root about this app; `then` once it has left (or could not: the root is gone). */
  send(message: PrimaryMessage, then?: () => void): void;
  /** Where the app's workers' output goes, whole lines at a time. */
  readonly sinks: { stdout: Sink; stderr: Sink };
  /** Resolves once what was written to `sinks` has left the process. */
  flush(): Promise<unknown>;
  /** The app's primary has ended: a primary of its own exits with `code`. Called once. */
  end(code: number, signal?: NodeJS.Signals): void;
  /** A fault of clusterd's own code: the whole process's (host.ts, main.ts). */
  fatal(error: unknown): void;
}

export class AppContext {
  /** The app's workers in node:cluster: only those its own pool forked. */
  readonly view = views.view();
  private pool: Pool | null = null;
  private starting = false;
  private ended = false;
  // Every worker's request counts every 2 s, kept for a minute (`status`, reloads); a Node.js app's only.
  private history: RequestHistory | null = null;
  private readonly tally = new ChannelTally();
  private readonly stopRelay: () => void;
  // clusterd/worker's broadcast, request, publish, and `clusterd send` (primary/messages/).
  private readonly messaging: WorkerMessaging;
  // What the app's workers start is stopped with them (see descendants-proc.ts).
  readonly trees = new ProcessTrees({ sys: linuxProc(), timer, self: process.pid });
  // Worker output goes to the root; with `logs.file` (and `logs.errorFile`), to those files as well. One
  // that cannot be written is reported to the root (once), and its lines dropped: see log/file.ts.
  private readonly logFiles: AppLogFiles;
  // `clusterd profile` and `clusterd heap` (primary/profile/): a Node.js app's workers only.
  private readonly profiles: Profiles;
  private isProgram = false;
  /** The app's name (its metrics' `app` label), once started. */
  private appName = '';
  private watcher: AppWatcher | null = null;
  private watching = '';
  // A program's listening sockets (`listen`): opened before the instances that use them start.
  private readonly sockets = new ListenSockets();
  // Requests are handled one after another (see `receive`).
  private gate: Promise<void> = Promise.resolve();

  constructor(private readonly host: ContextHost) {
    const send = (message: PrimaryMessage, then?: () => void) => host.send(message, then);
    // What node:cluster libraries expect of a primary of the app's own (primary/relay/).
    this.stopRelay = relaySocketIo(this.view, this.tally);
    this.messaging = new WorkerMessaging(this.view, {
      tally: this.tally,
      report: (message) => send(message),
      timer,
      now: Date.now,
    });
    this.logFiles = new AppLogFiles((file, logs, owner) =>
      openLogFile(file, logs.maxSize, logs.maxFiles, (report) => send({ type: 'logfile', ...report }), owner),
    );
    this.profiles = new Profiles({
      workers: () => {
        if (this.isProgram) return 'program';
        if (!this.pool) return null;
        const p = this.pool;
        const { slots, workers } = p.view();
        return {
          slots: slots.map((s) => s.id),
          workers: workers.map((w) => ({
            slot: w.slot,
            pid: w.pid,
            state: w.lifecycle.state,
            pauseHeartbeat: () => p.pauseHeartbeat(w),
          })),
        };
      },
      channel: (pid) => this.view.list().find((w) => w.process.pid === pid),
      send: (message) => send(message),
    });
  }

  /** The first message of a primary to the root. */
  hello(): void {
    this.host.send({ type: 'hello', version: PROTOCOL_VERSION, pid: process.pid });
  }

  /** Whether the app has workers to stop (its pool started). */
  get running(): boolean {
    return this.pool !== null;
  }

  // (Re)starts the app's file watcher when its watch settings changed; a change reloads the app.
  private updateWatcher(app: ResolvedApp): void {
    const wanted = app.watch.enabled
      ? JSON.stringify([app.watch, app.cwd, app.logs.file, app.logs.errorFile])
      : '';
    if (wanted === this.watching) return;
    this.watching = wanted;
    void this.watcher?.close();
    this.watcher = null;
    if (!wanted) return;
    // Loaded on demand: chokidar and picomatch cost every primary ~20 ms of start-up otherwise.
    void import('./reload/watch.js').then(({ watchApp }) => {
      if (this.watching !== wanted || this.ended) return;
      this.watcher = watchApp(app, {
        change: (files) => {
          if (!this.pool) return;
          this.host.send({ type: 'watch', files: files.slice(0, 10), count: files.length });
          // The reload reports how it went ('reload' messages); no one waits for this one. Development:
          // never a canary.
          this.pool.watchReload(() => {});
        },
        ready: () => this.host.send({ type: 'watching', paths: [...app.watch.paths] }),
        error: (error) =>
          this.host.send({ type: 'error', message: `watching ${app.name}: ${error.message}` }),
      });
    });
  }

  // A log file's last lines are written before the exit; one stuck on a slow disk gets a second, no more.
  private closeLogFiles(): Promise<unknown> {
    return Promise.race([
      this.logFiles.close(),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
  }

  private async finish(stopping: Promise<void>): Promise<void> {
    await stopping;
    if (this.ended) return;
    this.history?.stop();
    // What the workers left behind ends (or gets its SIGKILL) before the primary does.
    await this.trees.idle();
    this.watching = '';
    await this.watcher?.close();
    // Writes to a pipe are asynchronous: exiting before they complete would lose workers' last lines.
    await this.host.flush();
    await this.closeLogFiles();
    // End once the last report has left, so the root sees the final state before the exit.
    await new Promise<void>((resolve) => this.host.send({ type: 'bye' }, resolve));
    this.end(0);
  }

  /** The context is over: it stops listening to node:cluster, and the host hears it (once). */
  private end(code: number, signal?: NodeJS.Signals): void {
    if (this.ended) return;
    this.ended = true;
    this.history?.stop();
    this.stopRelay();
    this.view.close();
    this.watching = '';
    void this.watcher?.close();
    this.host.end(code, signal);
  }

  private start(app: ResolvedApp, logFormat: LogFormat, answer: Answer): void {
    this.appName = app.name;
    this.logFiles.update(app);
    this.sockets.settings(app);
    this.isProgram = app.program !== null;
    const send = (message: PrimaryMessage, then?: () => void) => this.host.send(message, then);
    const workers = () => this.view.list();
    const pool = new Pool(
      app,
      // One leader among the workers that ask (clusterd/worker's onLeadership): primary/leader/.
      this.messaging.wrap(
        withLeadership(
          clusterEffects({
            baseEnv: this.host.baseEnv,
            logFormat,
            sinks: this.host.sinks,
            files: this.logFiles,
            send,
            trees: this.trees,
            sockets: this.sockets,
            tally: this.tally,
            view: this.view,
            // A canary's windows (primary/reload/canary.ts): every live worker's counts, now.
            measure: () => scrapeCounts(workers(), MEASURE_MS, timer),
          }),
          clusterChannel(this.view),
        ),
      ),
      // The log files, the watcher and the listen socket follow the settings in force: a reload's when it
      // starts, the previous ones again when it fails (pool.ts, endReload).
      (settings) => {
        if (settings.release) send({ type: 'release', ...settings.release });
        this.updateWatcher(settings);
        this.logFiles.update(settings);
        this.sockets.settings(settings);
      },
    );
    this.pool = pool;
    if (app.release) send({ type: 'release', ...app.release });
    pool.start(answer);
    if (app.program === null) {
      const history = new RequestHistory({
        scrape: () => scrapeCounts(workers(), SCRAPE_MS, timer),
        timer,
        now: Date.now,
      });
      this.history = history;
      history.start();
      // `status` reads these from the root, with no round trip to this primary (protocol.ts, `figures`).
      history.onSample(() => send({ type: 'figures', ...history.report() }));
      this.view.on('exit', (worker) => {
        if (worker.process.pid !== undefined) history.exited(worker.process.pid);
      });
    }
    this.updateWatcher(app);
    void this.finish(pool.done);
  }

  // The app could not start at all (its listen socket): errored, as a pool that gives up is, and the
  // primary ends once the root has heard it.
  private cannotStart(reason: string, answer: Answer): void {
    this.host.send({ type: 'app', from: 'starting', to: 'errored', reason, lastExits: [] });
    answer(failed(ErrorCode.START_FAILED, reason));
    void this.finish(Promise.resolve());
  }

  /** Handles one request; a promise while what it needs first (a listen socket) is being opened. */
  private handle(id: number, request: PrimaryRequest, answer: Answer): Promise<void> | undefined {
    // The root asks in order (start first, once): anything else is a fault of the root's.
    const notStarted = () => answer(failed(ErrorCode.INTERNAL, 'the primary has not started its app'));
    const { sockets } = this;
    switch (request.op) {
      case 'start': {
        if (this.pool || this.starting) {
          answer(failed(ErrorCode.INTERNAL, 'the app is already started'));
          return;
        }
        this.starting = true;
        // A release given is the one to run (the root's after a failed reload); else it is resolved now.
        const app = request.app.release ? request.app : pinRelease(request.app);
        return sockets.ensure(app).then((problem) => {
          if (problem) this.cannotStart(problem, answer);
          else this.start(app, request.logFormat, answer);
        });
      }
      case 'reload': {
        if (!this.pool) {
          notStarted();
          return;
        }
        const app = request.app;
        return sockets.ensure(app).then((problem) => {
          const pool = this.pool;
          if (!pool) return notStarted();
          if (problem) return answer(failed(ErrorCode.RELOAD_FAILED, problem));
          // Its socket stays open while the reload may still fork on it; then only if its settings are
          // in force (a failed reload's, or one a later reload moved on from, is closed).
          const { release } = sockets.hold(app);
          pool.reload(
            pinRelease(app),
            (outcome) => {
              release();
              answer(outcome);
            },
            request.canary,
          );
        });
      }
      case 'scale':
        if (!this.pool) {
          notStarted();
          return;
        }
        this.pool.scale(request.instances, answer);
        return;
      case 'ping':
        answer({ ok: true, result: {} });
        return;
      case 'send':
        return this.messaging
          .deliver(request.topic, request.data, request.worker)
          .then((outcome) => answer(outcome));
      case 'metrics': {
        // One question per worker, its request counts in the answer (worker/metrics.cts).
        void scrapeWorkers(this.view.list(), SCRAPE_MS, timer, this.appName, this.tally).then((result) =>
          answer({ ok: true, result: { ...result, primary: ownMemory() } }),
        );
        return;
      }
      case 'profile':
        // Answered once its last chunk went out; the requests after it do not wait for it.
        this.profiles.start(id, request, answer);
        return;
      case 'requests':
        answer({
          ok: true,
          result: this.history ? this.history.report(request.windowMs) : { workers: [], app: null },
        });
        return;
      case 'stop':
      case 'kill':
        if (!this.pool) {
          // Nothing to stop: the answer goes out, then the primary ends.
          answer({ ok: true, result: {} }, () => this.end(0));
          return;
        }
        if (request.op === 'stop') this.pool.stop(answer);
        else {
          this.trees.hurry();
          this.pool.kill(answer);
        }
        return;
    }
  }

  /** A message of the root's to this app's primary. */
  receive(message: unknown): void {
    if (!isRootMessage(message)) {
      const id = (message as { id?: unknown } | null)?.id;
      const text = `unknown message from the root: ${JSON.stringify(message)?.slice(0, 200)}`;
      if (Number.isSafeInteger(id))
        this.host.send({ type: 'reply', id: id as number, outcome: failed(ErrorCode.INTERNAL, text) });
      else this.host.send({ type: 'error', message: text });
      return;
    }
    // A profile's acknowledgements and cancel go at once: they wait for nothing.
    if (message.type === 'ack') {
      this.profiles.ack(message.id, message.seq);
      return;
    }
    if (message.type === 'cancel') {
      this.profiles.cancel(message.id);
      return;
    }
    const { id } = message;
    let answered = false;
    const answer: Answer = (outcome, then) => {
      if (answered) return;
      answered = true;
      this.host.send({ type: 'reply', id, outcome }, then);
    };
    // In the order they came: a request that waits for a socket to open holds back those after it (a
    // reload's scale must not run first on the old settings).
    this.gate = this.gate.then(() => this.handle(id, message.request, answer)).catch(this.host.fatal);
  }

  /** A signal meant for this app's primary (SIGTERM, SIGINT): its workers stop gracefully. */
  stopGracefully(): void {
    if (this.pool) this.pool.stop();
    else this.end(0);
  }

  /**
   * SIGKILL for this app's primary: its workers (and what they started) are killed now, and the
   * context ends at once, as a SIGKILLed process would.
   */
  killNow(): void {
    this.killWorkers();
    this.pool?.kill();
    this.end(0, 'SIGKILL');
    // Its log files are closed once its killed workers' last lines are in (finish() no longer runs once
    // ended): in a shared primary that lives on, they would stay open, and the app's next context would
    // rotate the same files beside them.
    void (this.pool?.done ?? Promise.resolve()).then(() => this.closeLogFiles());
  }

  /** The root is gone: nothing of the app may outlive it. Resolves once its workers are gone. */
  async abandon(): Promise<void> {
    if (!this.pool) return;
    this.trees.hurry();
    this.pool.kill();
    await this.pool.done;
    await this.trees.idle();
  }

  /** The last resort (a fault of clusterd's): every worker of the app and what it started, SIGKILLed. */
  killWorkers(): void {
    this.trees.hurry();
    for (const worker of this.view.list())
      this.trees.killTree(worker.process.pid, () => worker.process.kill('SIGKILL'));
  }
}
