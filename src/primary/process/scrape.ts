// A metrics scrape of the app's workers: each connected worker is asked for a sample (worker/metrics.cts)
// and gets `timeoutMs` to answer; one that does not (a blocked event loop, a worker exiting) is left out
// and counted, so that a scrape never waits on a stuck worker longer than that. The answer also carries
// the count of malformed messages the app's workers have sent (worker-channel.ts).
import type { OpResults, WorkerSample } from '../../protocol.js';
import { isWorkerSample, workerMetricsRequest } from '../../protocol.js';
import { type ChannelTally, workerChannel } from './worker-channel.js';

/** What the scrape needs of a node:cluster worker. */
export interface Scraped {
  isConnected(): boolean;
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

let seq = 0;

export function scrapeWorkers(
  workers: Iterable<Scraped>,
  timeoutMs: number,
  timer: (ms: number, fn: () => void) => () => void,
  /** The count of malformed messages reported with the samples (the primary's own by default). */
  tally: ChannelTally = workerChannel,
): Promise<OpResults['metrics']> {
  const id = ++seq;
  const asked = [...workers].filter((w) => w.isConnected());
  const samples: WorkerSample[] = [];
  return new Promise((resolve) => {
    let pending = asked.length;
    const listeners = new Map<Scraped, (message: unknown) => void>();
    const finish = () => {
      for (const [worker, listener] of listeners) worker.off('message', listener);
      listeners.clear();
      cancel();
      resolve({
        workers: samples.sort((a, b) => a.worker - b.worker || a.pid - b.pid),
        unanswered: pending,
        malformedMessages: tally.malformed,
        relayedMessages: tally.relayed,
        relayDropped: tally.relayDropped,
        messagesDropped: { ...tally.messagesDropped },
      });
    };
    const cancel = asked.length ? timer(timeoutMs, finish) : () => {};
    for (const worker of asked) {
      const listener = (message: unknown) => {
        if (!isWorkerSample(message) || message.seq !== id) return;
        worker.off('message', listener);
        listeners.delete(worker);
        samples.push(message.sample);
        pending -= 1;
        if (pending === 0) finish();
      };
      listeners.set(worker, listener);
      worker.on('message', listener);
      worker.send(workerMetricsRequest(id));
    }
    if (asked.length === 0) finish();
  });
}
