// The request counts' scrape against fake workers on fake time: every connected worker is asked, the
// answers to this scrape (and only those) are taken, whoever has not answered by the timeout is left out,
// and no listener stays behind on any worker.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type CountsSample, emptyCounts } from '../../src/health/request-stats.js';
import { scrapeCounts } from '../../src/primary/process/scrape-counts.js';
import messages from '../../src/worker/messages.cjs';
import { fakeTime } from '../helpers/fake-time.js';

const sampleOf = (worker: number, pid: number): CountsSample => ({
  worker,
  pid,
  at: 1_000,
  rss: 1,
  counts: emptyCounts(),
});

/** A worker that answers each `counts` as `reply` says (nothing: it never answers). */
class FakeWorker extends EventEmitter {
  readonly asked: unknown[] = [];
  constructor(
    private readonly reply: (seq: number) => unknown[],
    private readonly connected = true,
  ) {
    super();
  }
  isConnected(): boolean {
    return this.connected;
  }
  send(message: unknown): void {
    this.asked.push(message);
    if (!messages.isCounts(message)) return;
    // Asynchronously, as node:cluster's channel delivers.
    const answers = this.reply(message.seq);
    queueMicrotask(() => {
      for (const a of answers) this.emit('message', a);
    });
  }
}

const answering = (worker: number, pid: number) =>
  new FakeWorker((seq) => [messages.counted(seq, sampleOf(worker, pid))]);

describe('scrapeCounts', () => {
  it('asks every connected worker and gives their samples by slot, then pid', async () => {
    const time = fakeTime();
    const workers = [answering(1, 30), answering(0, 20), answering(0, 10), new FakeWorker(() => [], false)];
    const samples = await scrapeCounts(workers, 1_000, time.fx.timer);
    expect(samples.map((s) => [s.worker, s.pid])).toEqual([
      [0, 10],
      [0, 20],
      [1, 30],
    ]);
    // The disconnected one was not asked.
    expect(workers[3]?.asked).toEqual([]);
    for (const w of workers) expect(w.listenerCount('message')).toBe(0);
    // All answered: the timeout is cancelled.
    expect(time.pending()).toBe(0);
  });

  it("takes only this scrape's answers: another seq, a metrics sample, a malformed one are not", async () => {
    const { fx } = fakeTime();
    const worker = new FakeWorker((seq) => [
      messages.counted(seq + 1, sampleOf(0, 99)),
      { clusterd: 'counted', seq, sample: { ...sampleOf(0, 98), rss: -1 } },
      messages.sample(seq, {
        worker: 0,
        pid: 97,
        elu: 0,
        delay: null,
        rss: 1,
        cpu: { user: 0, system: 0 },
        app: null,
        requests: { at: 1_000, counts: emptyCounts() },
      }),
      messages.counted(seq, sampleOf(0, 11)),
      // A second answer to the same scrape is not taken twice.
      messages.counted(seq, sampleOf(0, 12)),
    ]);
    const samples = await scrapeCounts([worker], 1_000, fx.timer);
    expect(samples.map((s) => s.pid)).toEqual([11]);
  });

  it('leaves out a worker that has not answered by the timeout, and does not wait longer', async () => {
    const time = fakeTime();
    const silent = new FakeWorker(() => []);
    const done = scrapeCounts([answering(0, 10), silent], 500, time.fx.timer);
    await new Promise((r) => setImmediate(r));
    let settled = false;
    void done.then(() => {
      settled = true;
    });
    time.advance(499);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    time.advance(1);
    expect((await done).map((s) => s.pid)).toEqual([10]);
    expect(silent.listenerCount('message')).toBe(0);
  });

  it('answers at once, with no timer, when there is no worker to ask', async () => {
    const time = fakeTime();
    expect(await scrapeCounts([], 500, time.fx.timer)).toEqual([]);
    expect(time.pending()).toBe(0);
  });
});
