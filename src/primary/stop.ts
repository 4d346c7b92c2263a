// Stopping one worker gracefully: it is told to drain (the preload marks responses `Connection: close`
// and keeps idle keep-alive sockets from being reset), cluster's disconnect closes its servers and waits
// for requests in flight, then it gets the configured signal, and SIGKILL once the timeout is up.
import type { Worker } from 'node:cluster';
import { DRAIN, isWorkerDrained } from '../protocol.js';

export function stopWorker(
  worker: Worker,
  shutdown: { signal: NodeJS.Signals | string; timeout: number },
  /** `balancing: "kernel"`: the worker closes its own servers and says `drained` before the disconnect. */
  ownServers = false,
): void {
  const signal = shutdown.signal as NodeJS.Signals;
  const kill = setTimeout(() => worker.process.kill('SIGKILL'), shutdown.timeout);
  worker.once('exit', () => clearTimeout(kill));
  if (!worker.isConnected()) {
    worker.process.kill(signal);
    return;
  }
  worker.once('disconnect', () => {
    if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill(signal);
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
