// Entry of an app's primary process, forked by the root supervisor: one per app, owning node:cluster
// for that app only. It lives exactly as long as its root: if the IPC channel to the root closes
// (the root died, even by SIGKILL), every worker is killed and the primary exits.
import type { Writable } from 'node:stream';
import type { ResolvedApp } from '../config/resolved.js';
import { openLogFile } from '../log/file.js';
import { isRootMessage, PROTOCOL_VERSION, type PrimaryMessage } from '../protocol.js';
import { type Sink, teeSink } from './output.js';
import { Pool } from './pool.js';
import type { AppWatcher } from './watch.js';

let pool: Pool | null = null;
const logFiles: Writable[] = [];

// Worker output goes to the root; with `logs.file`, to that file as well.
function sinks(app: ResolvedApp): { stdout: Sink; stderr: Sink } {
  if (!app.logs.file) return { stdout: process.stdout, stderr: process.stderr };
  // One that cannot be written is reported to the root (once), and its lines dropped: see log/file.ts.
  const file = openLogFile(app.logs.file, app.logs.maxSize, app.logs.maxFiles, (report) =>
    send({ type: 'logfile', ...report }),
  );
  logFiles.push(file);
  return { stdout: teeSink(process.stdout, file), stderr: teeSink(process.stderr, file) };
}
let env: Record<string, string> = {};
let watcher: AppWatcher | null = null;
let watching = '';

// (Re)starts the app's file watcher when its watch settings changed; a change reloads the app.
function updateWatcher(app: ResolvedApp): void {
  const wanted = app.watch.enabled ? JSON.stringify([app.watch, app.cwd, app.logs.file]) : '';
  if (wanted === watching) return;
  watching = wanted;
  void watcher?.close();
  watcher = null;
  if (!wanted) return;
  // Loaded on demand: chokidar and picomatch cost every primary ~20 ms of start-up otherwise.
  void import('./watch.js').then(({ watchApp }) => {
    if (watching !== wanted) return;
    watcher = watchApp(app, {
      change: (files) => {
        if (!pool) return;
        send({ type: 'watch', files: files.slice(0, 10), count: files.length });
        void pool.reload(pool.settings, env);
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
  return Promise.race([
    Promise.all(logFiles.map((f) => new Promise((resolve) => f.end(resolve)))),
    new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
  ]);
}

async function finish(stopping: Promise<void>): Promise<never> {
  await stopping;
  await watcher?.close();
  await flushStdio();
  await closeLogFiles();
  // Exit once the last report has left, so the root sees the final state before the exit.
  await new Promise<void>((resolve) => send({ type: 'bye' }, resolve));
  process.exit(0);
}

function stop(): void {
  void watcher?.close();
  if (!pool) process.exit(0);
  void finish(pool.stop());
}

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
    send({
      type: 'error',
      message: `unknown message from the root: ${JSON.stringify(message)?.slice(0, 200)}`,
    });
    return;
  }
  switch (message.type) {
    case 'start':
      if (pool) return;
      env = message.env;
      pool = new Pool({
        app: message.app,
        env,
        logFormat: message.logFormat,
        send,
        sinks: sinks(message.app),
      });
      pool.start();
      updateWatcher(message.app);
      void finish(pool.done);
      return;
    case 'stop':
      stop();
      return;
    case 'kill':
      if (!pool) process.exit(0);
      void finish(pool.kill());
      return;
    case 'reload':
      // The pool reports how it went ('reload' messages); nothing to wait for here.
      env = message.env;
      updateWatcher(message.app);
      void pool?.reload(message.app, message.env);
      return;
    case 'scale':
      void pool?.scale(message.instances);
      return;
  }
});

process.on('disconnect', () => {
  // The root is gone: nothing may outlive it.
  if (!pool) process.exit(0);
  void pool
    .kill()
    .then(flushStdio)
    .then(() => process.exit(0));
});

// The primary runs in its own process group, so a terminal's Ctrl-C does not reach it; a signal sent
// to it directly stops its workers gracefully.
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

send({ type: 'hello', version: PROTOCOL_VERSION, pid: process.pid });
