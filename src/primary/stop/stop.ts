// Stopping one worker gracefully: it is told to drain (the preload marks responses `Connection: close`
// and keeps idle keep-alive sockets from being reset), cluster's disconnect closes its servers and waits
// for requests in flight, then it gets the configured signal, and SIGKILL once the timeout is up.
// What the worker started (its descendants, seen in /proc while it lives) gets the same signal at the
// same moment, and SIGKILL at the same deadline, even if the worker itself has ended by then.
import type { Worker } from 'node:cluster';
import { DRAIN, isWorkerDrained } from '../../protocol.js';
import type { ProcEntry } from './descendants.js';
import type { ProcessTrees } from './descendants-proc.js';

export function stopWorker(
  worker: Worker,
  shutdown: { signal: NodeJS.Signals | string; timeout: number; spread?: number },
  /** `balancing` other than round-robin: the worker closes its own servers and says `drained` before the disconnect. */
  ownServers = false,
  trees?: ProcessTrees,
): void {
  const signal = shutdown.signal as NodeJS.Signals;
  // The app's long-lived connections get `spread` to close (its onDrain handlers), then the usual timeout.
  const budget = (shutdown.spread ?? 0) + shutdown.timeout;
  const deadline = Date.now() + budget;
  const pid = worker.process.pid;
  // Seen at the start too: a worker that ends by itself during its drain leaves these behind, and one
  // that left the process group (setsid) cannot be found afterwards.
  const seen = new Map<string, ProcEntry>();
  const look = () => {
    for (const e of trees?.descendants(pid) ?? []) seen.set(`${e.pid}:${e.start}`, e);
    return [...seen.values()];
  };
  look();
  let signalled = false;
  const signalAll = () => {
    if (signalled) return;
    signalled = true;
    worker.process.kill(signal);
    trees?.stop(look(), signal, Math.max(0, deadline - Date.now()));
  };
  const kill = setTimeout(() => {
    if (trees) trees.killTree(pid, () => worker.process.kill('SIGKILL'));
    else worker.process.kill('SIGKILL');
  }, budget);
  worker.once('exit', () => {
    clearTimeout(kill);
    if (!signalled) trees?.stop([...seen.values()], signal, Math.max(0, deadline - Date.now()));
  });
  if (!worker.isConnected()) {
    signalAll();
    return;
  }
  worker.once('disconnect', () => {
    if (worker.process.exitCode === null && worker.process.signalCode === null) signalAll();
  });
  const disconnect = () => {
    if (worker.isConnected()) worker.disconnect();
  };
  if (ownServers) {
    worker.on('message', (message: unknown) => {
      if (isWorkerDrained(message)) disconnect();
    });
    worker.send(DRAIN);
    return;
  }
  // Sent first on the same channel, so the worker knows it is draining before its servers close.
  worker.send(DRAIN, disconnect);
}
