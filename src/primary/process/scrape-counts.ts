// The request counts of the app's workers (worker/requests.cts): each connected worker is asked
// (`counts`) and gets `timeoutMs` to answer (`counted`); whoever has not answered by then (a blocked
// event loop, a worker exiting) is left out of this scrape. For the primary's request history
// (primary/requests/history.ts) and for /metrics.
import type { CountsSample } from '../../health/request-stats.js';
import { isWorkerCounted, workerCountsRequest } from '../../protocol.js';
import { askWorkers, type Scraped } from './scrape.js';

/** Every answer, by slot, then pid (a slot has two processes during a reload). */
export async function scrapeCounts(
  workers: Iterable<Scraped>,
  timeoutMs: number,
  timer: (ms: number, fn: () => void) => () => void,
): Promise<CountsSample[]> {
  const { answers } = await askWorkers<CountsSample>(
    workers,
    timeoutMs,
    timer,
    workerCountsRequest,
    (message, id) => (isWorkerCounted(message) && message.seq === id ? message.sample : undefined),
  );
  return answers.sort((a, b) => a.worker - b.worker || a.pid - b.pid);
}
