// Stopping one worker gracefully: it stops accepting and finishes in-flight requests (cluster
// disconnect closes its servers), then gets the configured signal, and SIGKILL once the timeout is up.
import type { Worker } from 'node:cluster';

export function stopWorker(
  worker: Worker,
  shutdown: { signal: NodeJS.Signals | string; timeout: number },
): void {
  const signal = shutdown.signal as NodeJS.Signals;
  const kill = setTimeout(() => worker.process.kill('SIGKILL'), shutdown.timeout);
  worker.once('exit', () => clearTimeout(kill));
  if (worker.isConnected()) {
    worker.once('disconnect', () => {
      if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill(signal);
    });
    worker.disconnect();
  } else {
    worker.process.kill(signal);
  }
}
