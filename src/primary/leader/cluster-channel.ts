// The leader driver's channel in a primary: the app's node:cluster workers, by pid. The primary's
// `message` event on `cluster` (the app's view of it, process/cluster-view.ts) sees what every worker of
// the app sends, so no worker's own listeners are touched.
import type { Worker } from 'node:cluster';
import type { PrimaryToWorker } from '../../protocol.js';
import type { ClusterEvents } from '../process/cluster-view.js';
import type { LeaderChannel } from './leadership.js';

export function clusterChannel(cluster: ClusterEvents): LeaderChannel {
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
