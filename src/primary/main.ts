// Entry of an app's primary process, forked by the root supervisor: one per app, owning node:cluster
// for that app only. It lives exactly as long as its root: if the IPC channel to the root closes
// (the root died, even by SIGKILL), every worker is killed and the primary exits.
import { isRootMessage, PROTOCOL_VERSION, type PrimaryMessage } from '../protocol.js';
import { Pool } from './pool.js';

let pool: Pool | null = null;

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

async function finish(stopping: Promise<void>): Promise<never> {
  await stopping;
  await flushStdio();
  // Exit once the last report has left, so the root sees the final state before the exit.
  await new Promise<void>((resolve) => send({ type: 'bye' }, resolve));
  process.exit(0);
}

function stop(): void {
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
      pool = new Pool({ app: message.app, env: message.env, logFormat: message.logFormat, send });
      pool.start();
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
      void pool?.reload(message.app, message.env);
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
