// A metrics scrape of the app's workers: each connected worker is asked once for a sample, its request
// counts in it (worker/metrics.cts), and gets `timeoutMs` to answer; one that does not (a blocked event
// loop, a worker exiting) is left out and counted, so that a scrape never waits on a stuck worker longer than that. The answer also carries
// the count of malformed messages the app's workers have sent (worker-channel.ts), and the app's own
// prom-client metrics summed over the workers that answered, rendered once (app-metrics.ts). `askWorkers`
// is the asking and waiting, shared with the request counts' scrape (scrape-counts.ts).
import type { CountsSample } from '../../health/request-stats.js';
import type { OpResults, WorkerSample } from '../../protocol.js';
import { isWorkerSample, workerMetricsRequest } from '../../protocol.js';
import { sumAppMetrics } from './app-metrics.js';
import { type ChannelTally, workerChannel } from './worker-channel.js';

/** What the scrape needs of a node:cluster worker. */
export interface Scraped {
  isConnected(): boolean;
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

let seq = 0;

/**
 * Sends `ask(seq)` to each connected worker and collects what `answer` takes from each one's messages
 * (undefined: not its answer to this `seq`), one per worker; resolves once all have answered or at
 * `timeoutMs`, with the answers and how many workers did not answer in time. Every listener is removed.
 */
export function askWorkers<T>(
  workers: Iterable<Scraped>,
  timeoutMs: number,
  timer: (ms: number, fn: () => void) => () => void,
  ask: (seq: number) => unknown,
  answer: (message: unknown, seq: number) => T | undefined,
): Promise<{ answers: T[]; unanswered: number }> {
  const id = ++seq;
  const asked = [...workers].filter((w) => w.isConnected());
  const answers: T[] = [];
  return new Promise((resolve) => {
    let pending = asked.length;
    const listeners = new Map<Scraped, (message: unknown) => void>();
    const finish = () => {
      for (const [worker, listener] of listeners) worker.off('message', listener);
      listeners.clear();
      cancel();
      resolve({ answers, unanswered: pending });
    };
    const cancel = asked.length ? timer(timeoutMs, finish) : () => {};
    for (const worker of asked) {
      const listener = (message: unknown) => {
        const got = answer(message, id);
        if (got === undefined) return;
        worker.off('message', listener);
        listeners.delete(worker);
        answers.push(got);
        pending -= 1;
        if (pending === 0) finish();
      };
      listeners.set(worker, listener);
      worker.on('message', listener);
      worker.send(ask(id));
    }
    if (asked.length === 0) finish();
  });
}

export async function scrapeWorkers(
  workers: Iterable<Scraped>,
  timeoutMs: number,
  timer: (ms: number, fn: () => void) => () => void,
  /** The app's name, the `app` label of its own metrics. */
  app: string,
  /** The count of malformed messages reported with the samples (the primary's own by default). */
  tally: ChannelTally = workerChannel,
): Promise<OpResults['metrics']> {
  const { answers, unanswered } = await askWorkers<WorkerSample>(
    workers,
    timeoutMs,
    timer,
    workerMetricsRequest,
    (message, id) => (isWorkerSample(message) && message.seq === id ? message.sample : undefined),
  );
  answers.sort((a, b) => a.worker - b.worker || a.pid - b.pid);
  const own: unknown[][] = [];
  const requests: CountsSample[] = [];
  const samples = answers.map(({ app: metrics, requests: counted, ...sample }) => {
    if (metrics) own.push(metrics);
    const { worker, pid, rss } = sample;
    requests.push({ worker, pid, at: counted.at, rss, counts: counted.counts });
    return sample;
  });
  return {
    workers: samples,
    requests,
    app: own.length ? sumAppMetrics(app, own) : null,
    unanswered,
    malformedMessages: tally.malformed,
    relayedMessages: tally.relayed,
    relayDropped: tally.relayDropped,
    messagesDropped: { ...tally.messagesDropped },
  };
}
