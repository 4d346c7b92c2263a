// Entry of a primary process, forked by the root supervisor. By default it is one app's primary, owning
// node:cluster for that app only (app-context.ts). It answers each of the root's requests exactly once,
// and lives exactly as long as its root: if the IPC channel to the root closes (the root died, even by
// SIGKILL), every worker is killed and the primary exits. A fault of its own (an uncaught exception) is
// reported to the root, which restarts this primary: other apps are not touched.
//
// Forked with `--group <name>`, it is a shared primary (host.ts, docs/shared-primaries.md): the primary
// of every app of that `primaryGroup`, one context each, which the root attaches and detaches.
import { ErrorCode, ExitCode } from '../errors.js';
import { isHostRootMessage, type PrimaryMessage } from '../protocol.js';
import { AppContext } from './app-context.js';
import { SharedHost } from './host.js';
import { killPrograms } from './process/program.js';

// The supervisor's environment, as the root gave it: each worker's is built from it, per fork.
const baseEnv: Readonly<NodeJS.ProcessEnv> = Object.freeze({ ...process.env });

const groupAt = process.argv.indexOf('--group');
const group = groupAt >= 2 ? (process.argv[groupAt + 1] ?? null) : null;

/** Sends to the root; `then` once it has left, or at once when the root is gone. */
function post(message: object, then?: () => void): void {
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

/** Every app context of this process: one, or a shared primary's. */
let contexts: () => Iterable<AppContext> = () => [];
/** Tells the root of a fault, as each app's primary would. */
let tellFault: (message: PrimaryMessage, then: () => void) => void = (message, then) => post(message, then);

// The last resort: a fault of clusterd's own code in this primary. Its workers cannot be trusted to a
// pool in an unknown state: they are killed, the root is told why, and it restarts this primary (a shared
// primary: every app of its group).
let failing = false;
function fatal(error: unknown): void {
  if (failing) return;
  failing = true;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  killPrograms();
  for (const context of contexts()) context.killWorkers();
  const exit = () => process.exit(ExitCode.INTERNAL);
  setTimeout(exit, 1_000).unref();
  tellFault(
    { type: 'error', code: ErrorCode.INTERNAL, message: `internal error in the primary: ${text}` },
    exit,
  );
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

if (group === null) {
  const context = new AppContext({
    baseEnv,
    send: (message, then) => post(message, then),
    sinks: { stdout: process.stdout, stderr: process.stderr },
    flush: flushStdio,
    end: (code) => process.exit(code),
    fatal,
  });
  contexts = () => [context];
  process.on('message', (message: unknown) => context.receive(message));
  process.on('disconnect', () => {
    // The root is gone: nothing may outlive it.
    if (!context.running) process.exit(0);
    void context
      .abandon()
      .then(flushStdio)
      .then(() => process.exit(0));
  });
  // The primary runs in its own process group, so a terminal's Ctrl-C does not reach it; a signal sent
  // to it directly stops its workers gracefully.
  process.on('SIGTERM', () => context.stopGracefully());
  process.on('SIGINT', () => context.stopGracefully());
  context.hello();
} else {
  const host = new SharedHost({ baseEnv, post, flushStdio, fatal, exit: (code) => process.exit(code) });
  contexts = () => host.contexts();
  tellFault = (message, then) => host.tellAll(message, then);
  process.on('message', (message: unknown) => {
    if (isHostRootMessage(message)) host.receive(message);
  });
  process.on('disconnect', () => void host.abandon());
  process.on('SIGTERM', () => host.stopAll());
  process.on('SIGINT', () => host.stopAll());
  host.hello();
}
