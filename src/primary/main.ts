// Entry of an app's primary process, forked by the root supervisor: one per app, owning node:cluster
// for that app only. It answers each of the root's requests exactly once, and lives exactly as long as
// its root: if the IPC channel to the root closes (the root died, even by SIGKILL), every worker is
// killed and the primary exits. A fault of its own (an uncaught exception) is reported to the root,
// which restarts this primary: other apps are not touched.
import cluster from 'node:cluster';
import type { ResolvedApp } from '../config/resolved.js';
import { MEASURE_MS } from '../control/timeouts.js';
import { ErrorCode, ExitCode } from '../errors.js';
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
import { clusterEffects } from './process/cluster-worker.js';
import { ListenSockets } from './process/listen-sockets.js';
import { AppLogFiles } from './process/log-files.js';
import { killPrograms } from './process/program.js';
import { pinRelease } from './process/release.js';
import { type Scraped, scrapeWorkers } from './process/scrape.js';
import { scrapeCounts } from './process/scrape-counts.js';
import { workerChannel } from './process/worker-channel.js';
import { Profiles } from './profile/profiles.js';
import { relaySocketIo } from './relay/socketio.js';
import type { AppWatcher } from './reload/watch.js';
import { RequestHistory } from './requests/history.js';
import { linuxProc, ProcessTrees } from './stop/descendants-proc.js';

// The supervisor's environment, as the root gave it: each worker's is built from it, per fork.
const baseEnv: Readonly<NodeJS.ProcessEnv> = Object.freeze({ ...process.env });

/** How long a worker gets to answer a metrics scrape before it is left out of it. */
const SCRAPE_MS = 1_000;

let pool: Pool | null = null;
/** The app's name (its metrics' `app` label), once started. */
let appName = '';

const timer = (ms: number, fn: () => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};
/** The app's node:cluster workers (a program has none). */
const clusterWorkers = (): Scraped[] => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
// Every worker's request counts every 2 s, kept for a minute (`status`, reloads); a Node.js app's only.
let history: RequestHistory | null = null;
// What node:cluster libraries expect of a primary of the app's own (primary/relay/).
relaySocketIo(cluster, workerChannel);
// clusterd/worker's broadcast, request, publish, and `clusterd send` (primary/messages/).
const messaging = new WorkerMessaging(cluster, {
  tally: workerChannel,
  report: (message) => send(message),
  timer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  now: Date.now,
});
// What the app's workers start is stopped with them (see descendants-proc.ts).
const trees = new ProcessTrees({
  sys: linuxProc(),
  timer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  self: process.pid,
});
// Worker output goes to the root; with `logs.file` (and `logs.errorFile`), to those files as well. One
// that cannot be written is reported to the root (once), and its lines dropped: see log/file.ts.
const logFiles = new AppLogFiles((file, logs, owner) =>
  openLogFile(file, logs.maxSize, logs.maxFiles, (report) => send({ type: 'logfile', ...report }), owner),
);
// `clusterd profile` and `clusterd heap` (primary/profile/): a Node.js app's workers only.
const profiles = new Profiles({
  workers: () => {
    if (isProgram) return 'program';
    if (!pool) return null;
    const p = pool;
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
  channel: (pid) => Object.values(cluster.workers ?? {}).find((w) => w?.process.pid === pid),
  send: (message) => send(message),
});
let isProgram = false;
let watcher: AppWatcher | null = null;
let watching = '';
// A program's listening sockets (`listen`): opened before the instances that use them start.
const sockets = new ListenSockets();
// Requests are handled one after another (see the message handler).
let gate: Promise<void> = Promise.resolve();

// (Re)starts the app's file watcher when its watch settings changed; a change reloads the app.
function updateWatcher(app: ResolvedApp): void {
  const wanted = app.watch.enabled
    ? JSON.stringify([app.watch, app.cwd, app.logs.file, app.logs.errorFile])
    : '';
  if (wanted === watching) return;
  watching = wanted;
  void watcher?.close();
  watcher = null;
  if (!wanted) return;
  // Loaded on demand: chokidar and picomatch cost every primary ~20 ms of start-up otherwise.
  void import('./reload/watch.js').then(({ watchApp }) => {
    if (watching !== wanted) return;
    watcher = watchApp(app, {
      change: (files) => {
        if (!pool) return;
        send({ type: 'watch', files: files.slice(0, 10), count: files.length });
        // The reload reports how it went ('reload' messages); no one waits for this one. Development:
        // never a canary.
        pool.watchReload(() => {});
      },
      ready: () => send({ type: 'watching', paths: [...app.watch.paths] }),
      error: (error) => send({ type: 'error', message: `watching ${app.name}: ${error.message}` }),
    });
  });
}

function send(message: PrimaryMessage, then?: () => void): void {
  if (!process.connected) {
    then?.();
    return;
  }
  process.send?.(message, undefined, undefined, () => then?.());
}

// Writes to a pipe are asynchronous: exiting before they complete would lose workers' last lines.
function flushStdio(): Promise<unknown> {
  return Promise.all(
    [process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))),
  );
}

// A log file's last lines are written before the exit; one stuck on a slow disk gets a second, no more.
function closeLogFiles(): Promise<unknown> {
  return Promise.race([logFiles.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
}

async function finish(stopping: Promise<void>): Promise<never> {
  await stopping;
  history?.stop();
  // What the workers left behind ends (or gets its SIGKILL) before the primary does.
  await trees.idle();
  await watcher?.close();
  await flushStdio();
  await closeLogFiles();
  // Exit once the last report has left, so the root sees the final state before the exit.
  await new Promise<void>((resolve) => send({ type: 'bye' }, resolve));
  process.exit(0);
}

type Answer = (outcome: Outcome, then?: () => void) => void;

let starting = false;

function start(app: ResolvedApp, logFormat: LogFormat, answer: Answer): void {
  appName = app.name;
  logFiles.update(app);
  sockets.settings(app);
  isProgram = app.program !== null;
  const sinks = { stdout: process.stdout, stderr: process.stderr };
  pool = new Pool(
    app,
    // One leader among the workers that ask (clusterd/worker's onLeadership): primary/leader/.
    messaging.wrap(
      withLeadership(
        clusterEffects({
          baseEnv,
          logFormat,
          sinks,
          files: logFiles,
          send,
          trees,
          sockets,
          // A canary's windows (primary/reload/canary.ts): every live worker's counts, now.
          measure: () => scrapeCounts(clusterWorkers(), MEASURE_MS, timer),
        }),
        clusterChannel(),
      ),
    ),
    // The log files, the watcher and the listen socket follow the settings in force: a reload's when it
    // starts, the previous ones again when it fails (pool.ts, endReload).
    (settings) => {
      if (settings.release) send({ type: 'release', ...settings.release });
      updateWatcher(settings);
      logFiles.update(settings);
      sockets.settings(settings);
    },
  );
  if (app.release) send({ type: 'release', ...app.release });
  pool.start(answer);
  if (app.program === null) {
    history = new RequestHistory({
      scrape: () => scrapeCounts(clusterWorkers(), SCRAPE_MS, timer),
      timer,
      now: Date.now,
    });
    history.start();
    const h = history;
    cluster.on('exit', (worker) => {
      if (worker.process.pid !== undefined) h.exited(worker.process.pid);
    });
  }
  updateWatcher(app);
  void finish(pool.done);
}

// The app could not start at all (its listen socket): errored, as a pool that gives up is, and the
// primary ends once the root has heard it.
function cannotStart(reason: string, answer: Answer): void {
  send({ type: 'app', from: 'starting', to: 'errored', reason, lastExits: [] });
  answer(failed(ErrorCode.START_FAILED, reason));
  void finish(Promise.resolve());
}

/** Handles one request; a promise while what it needs first (a listen socket) is being opened. */
function handle(id: number, request: PrimaryRequest, answer: Answer): Promise<void> | undefined {
  // The root asks in order (start first, once): anything else is a fault of the root's.
  const notStarted = () => answer(failed(ErrorCode.INTERNAL, 'the primary has not started its app'));
  switch (request.op) {
    case 'start': {
      if (pool || starting) {
        answer(failed(ErrorCode.INTERNAL, 'the app is already started'));
        return;
      }
      starting = true;
      // A release given is the one to run (the root's after a failed reload); else it is resolved now.
      const app = request.app.release ? request.app : pinRelease(request.app);
      return sockets.ensure(app).then((problem) => {
        if (problem) cannotStart(problem, answer);
        else start(app, request.logFormat, answer);
      });
    }
    case 'reload': {
      if (!pool) {
        notStarted();
        return;
      }
      const app = request.app;
      return sockets.ensure(app).then((problem) => {
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
      if (!pool) {
        notStarted();
        return;
      }
      pool.scale(request.instances, answer);
      return;
    case 'ping':
      answer({ ok: true, result: {} });
      return;
    case 'send':
      return messaging
        .deliver(request.topic, request.data, request.worker)
        .then((outcome) => answer(outcome));
    case 'metrics':
      // One question per worker, its request counts in the answer (worker/metrics.cts).
      void scrapeWorkers(clusterWorkers(), SCRAPE_MS, timer, appName).then((result) =>
        answer({ ok: true, result }),
      );
      return;
    case 'profile':
      // Answered once its last chunk went out; the requests after it do not wait for it.
      profiles.start(id, request, answer);
      return;
    case 'requests':
      answer({ ok: true, result: history ? history.report(request.windowMs) : { workers: [], app: null } });
      return;
    case 'stop':
    case 'kill':
      if (!pool) {
        // Nothing to stop: the answer goes out, then the primary exits.
        answer({ ok: true, result: {} }, () => process.exit(0));
        return;
      }
      if (request.op === 'stop') pool.stop(answer);
      else {
        trees.hurry();
        pool.kill(answer);
      }
      return;
  }
}

// The last resort: a fault of clusterd's own code in this primary. Its workers cannot be trusted to a
// pool in an unknown state: they are killed, the root is told why, and it restarts this primary.
let failing = false;
function fatal(error: unknown): void {
  if (failing) return;
  failing = true;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  trees.hurry();
  killPrograms();
  for (const worker of Object.values(cluster.workers ?? {}))
    if (worker) trees.killTree(worker.process.pid, () => worker.process.kill('SIGKILL'));
  const exit = () => process.exit(ExitCode.INTERNAL);
  setTimeout(exit, 1_000).unref();
  send({ type: 'error', code: ErrorCode.INTERNAL, message: `internal error in the primary: ${text}` }, exit);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Output goes to the root through pipes; once the root is gone, writing fails with EPIPE, which
// must not crash the primary while it is killing its workers.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

if (!process.send) {
  process.stderr.write('clusterd: the primary runs under the clusterd supervisor, not on its own\n');
  process.exit(1);
}

process.on('message', (message: unknown) => {
  if (!isRootMessage(message)) {
    const id = (message as { id?: unknown } | null)?.id;
    const text = `unknown message from the root: ${JSON.stringify(message)?.slice(0, 200)}`;
    if (Number.isSafeInteger(id))
      send({ type: 'reply', id: id as number, outcome: failed(ErrorCode.INTERNAL, text) });
    else send({ type: 'error', message: text });
    return;
  }
  // A profile's acknowledgements and cancel go at once: they wait for nothing.
  if (message.type === 'ack') return profiles.ack(message.id, message.seq);
  if (message.type === 'cancel') return profiles.cancel(message.id);
  const { id } = message;
  let answered = false;
  const answer: Answer = (outcome, then) => {
    if (answered) return;
    answered = true;
    send({ type: 'reply', id, outcome }, then);
  };
  // In the order they came: a request that waits for a socket to open holds back those after it (a
  // reload's scale must not run first on the old settings).
  gate = gate.then(() => handle(id, message.request, answer)).catch(fatal);
});

process.on('disconnect', () => {
  // The root is gone: nothing may outlive it.
  if (!pool) process.exit(0);
  trees.hurry();
  pool.kill();
  void pool.done
    .then(() => trees.idle())
    .then(flushStdio)
    .then(() => process.exit(0));
});

// The primary runs in its own process group, so a terminal's Ctrl-C does not reach it; a signal sent
// to it directly stops its workers gracefully.
const stopOnSignal = () => (pool ? pool.stop() : process.exit(0));
process.on('SIGTERM', stopOnSignal);
process.on('SIGINT', stopOnSignal);

send({ type: 'hello', version: PROTOCOL_VERSION, pid: process.pid });
