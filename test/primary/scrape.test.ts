// The metrics scrape of an app's workers against fake workers on fake time: one question per worker, whose
// answer carries its request counts too; the app's own metrics summed into one text (app-metrics.ts),
// the samples without them; a worker that does not answer is left out and counted.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { emptyCounts } from '../../src/health/request-stats.js';
import { scrapeWorkers } from '../../src/primary/process/scrape.js';
import type { WorkerSample } from '../../src/protocol.js';
import messages from '../../src/worker/messages.cjs';
import { fakeTime } from '../helpers/fake-time.js';

const tally = { malformed: 2, relayed: 3, relayDropped: 1, messagesDropped: { size: 4, rate: 5 } };

const hits = (n: number) => [
  {
    name: 'hits_total',
    help: 'Hits.',
    type: 'counter',
    aggregator: 'sum',
    values: [{ value: n, labels: {} }],
  },
];

function sampleOf(worker: number, pid: number, app: unknown[] | null): WorkerSample {
  const counts = emptyCounts();
  counts.classes[1] = worker + 10;
  return {
    worker,
    pid,
    elu: 0.5,
    delay: null,
    rss: 1_000 + worker,
    cpu: { user: 1, system: 2 },
    app,
    requests: { at: 5_000, counts },
  };
}

/** A worker that answers each `metrics` with `reply(seq)`, on the next microtask (nothing: never). */
class FakeWorker extends EventEmitter {
  readonly asked: unknown[] = [];
  constructor(private readonly reply: (seq: number) => unknown[]) {
    super();
  }
  isConnected(): boolean {
    return true;
  }
  send(message: unknown): void {
    this.asked.push(message);
    if (!messages.isMetrics(message)) return;
    const answers = this.reply(message.seq);
    queueMicrotask(() => {
      for (const a of answers) this.emit('message', a);
    });
  }
}

describe('scrapeWorkers', () => {
  it('asks each worker once, and gives the samples, their request counts and the app metrics summed', async () => {
    const time = fakeTime();
    const workers = [
      new FakeWorker((seq) => [messages.sample(seq, sampleOf(1, 11, hits(3)))]),
      new FakeWorker((seq) => [messages.sample(seq, sampleOf(0, 10, hits(4)))]),
      new FakeWorker((seq) => [messages.sample(seq, sampleOf(2, 12, null))]),
    ];
    const result = await scrapeWorkers(workers, 1_000, time.fx.timer, 'web', tally);
    // One question each: the counts come in the same answer.
    for (const w of workers) expect(w.asked).toHaveLength(1);
    expect(result.workers).toEqual([
      { worker: 0, pid: 10, elu: 0.5, delay: null, rss: 1_000, cpu: { user: 1, system: 2 } },
      { worker: 1, pid: 11, elu: 0.5, delay: null, rss: 1_001, cpu: { user: 1, system: 2 } },
      { worker: 2, pid: 12, elu: 0.5, delay: null, rss: 1_002, cpu: { user: 1, system: 2 } },
    ]);
    expect(result.requests.map((r) => [r.worker, r.pid, r.at, r.rss, r.counts.classes[1]])).toEqual([
      [0, 10, 5_000, 1_000, 10],
      [1, 11, 5_000, 1_001, 11],
      [2, 12, 5_000, 1_002, 12],
    ]);
    expect(result.app?.families).toEqual([
      {
        name: 'hits_total',
        head: '# HELP hits_total Hits.\n# TYPE hits_total counter',
        lines: 'hits_total{app="web"} 7',
      },
    ]);
    expect(result).toMatchObject({
      unanswered: 0,
      malformedMessages: 2,
      relayedMessages: 3,
      relayDropped: 1,
    });
    expect(time.pending()).toBe(0);
  });

  it('has no app metrics when no worker has prom-client, and leaves out who does not answer in time', async () => {
    const time = fakeTime();
    const silent = new FakeWorker(() => []);
    const done = scrapeWorkers(
      [new FakeWorker((seq) => [messages.sample(seq, sampleOf(0, 10, null))]), silent],
      500,
      time.fx.timer,
      'web',
      tally,
    );
    await new Promise((r) => setImmediate(r));
    time.advance(500);
    const result = await done;
    expect(result.app).toBeNull();
    expect(result.unanswered).toBe(1);
    expect(result.requests.map((r) => r.pid)).toEqual([10]);
    expect(silent.listenerCount('message')).toBe(0);
  });
});
