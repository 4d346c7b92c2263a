// The leader driver's channel in a primary: node:cluster's workers, by pid. The primary's `message`
// event on `cluster` sees what every worker sends, so no worker's own listeners are touched.
import cluster, { type Worker } from 'node:cluster';
import type { PrimaryToWorker } from '../../protocol.js';
import type { LeaderChannel } from './leadership.js';

export function clusterChannel(): LeaderChannel {
  const byPid = (pid: number): Worker | undefined =>
    Object.values(cluster.workers ?? {}).find((w) => w?.process.pid === pid);
  return {
    listen(fn) {
      cluster.on('message', (worker: Worker, message: unknown) => {
        const pid = worker.process.pid;
        if (pid !== undefined) fn(pid, message);
      });
    },
    send(pid, message: PrimaryToWorker) {
      const worker = byPid(pid);
      // Its channel closed (it is exiting): its exit is the fence, no message is needed.
      if (worker?.isConnected()) worker.send(message);
    },
  };
}
