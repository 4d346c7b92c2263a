// The primary's request history on fake time, with made-up samples: when it samples, what it keeps, and
// the figures `status` shows (req/s, 5xx share, p99 over the last 10 s), per worker and for the app.
import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  type CountsSample,
  emptyCounts,
  type RequestCounts,
} from '../../src/health/request-stats.js';
import { KEEP_MS, RequestHistory, SAMPLE_EVERY_MS } from '../../src/primary/requests/history.js';
import { fakeTime } from '../helpers/fake-time.js';

const T0 = 1_700_000_000_000;

/** One worker process's cumulative counts, served by hand. */
class Counter {
  readonly counts: RequestCounts = emptyCounts();
  constructor(
    readonly worker: number,
    readonly pid: number,
  ) {}
  /** `n` responses of `status`, each taking `ms`. */
  serve(n: number, status: number, ms: number): this {
    const c = Math.floor(status / 100) - 1;
    this.counts.classes[c as 0] += n;
    this.counts.latency.counts[bucketOf(ms)] = (this.counts.latency.counts[bucketOf(ms)] ?? 0) + n;
    this.counts.latency.sum += n * ms;
    return this;
  }
  abort(n: number): this {
    this.counts.aborted += n;
    return this;
  }
  sample(at: number): CountsSample {
    return { worker: this.worker, pid: this.pid, at, rss: 50e6, counts: structuredClone(this.counts) };
  }
}

/** A history whose scrape is answered by hand (`answer`), on fake time starting at T0. */
function harness() {
  const time = fakeTime();
  time.advance(T0);
  const asked: ((samples: CountsSample[]) => void)[] = [];
  const history = new RequestHistory({
    scrape: () => new Promise((resolve) => asked.push(resolve)),
    timer: time.fx.timer,
    now: time.fx.now,
  });
  return {
    time,
    history,
    asked,
    /** Answers the pending scrape and lets the history take it. */
    async answer(samples: CountsSample[]) {
      const resolve = asked.shift();
      if (!resolve) throw new Error('no scrape pending');
      resolve(samples);
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** A history fed directly: `feed(at, ...samples)` records at fake time `at`. */
function fed() {
  const time = fakeTime();
  time.advance(T0);
  const history = new RequestHistory({
    scrape: () => Promise.resolve([]),
    timer: time.fx.timer,
    now: time.fx.now,
  });
  return {
    history,
    feed(at: number, samples: CountsSample[]) {
      time.advance(at - time.now());
      history.record(samples);
    },
  };
}

describe('request history: sampling', () => {
  it('samples at once, then every 2 s after each scrape has ended, never two at a time; stop ends it', async () => {
    const h = harness();
    h.history.start();
    h.history.start();
    expect(h.asked).toHaveLength(1);
    // A slow scrape: nothing else is asked while it runs.
    h.time.advance(5_000);
    expect(h.asked).toHaveLength(1);
    await h.answer([]);
    h.time.advance(SAMPLE_EVERY_MS - 1);
    expect(h.asked).toHaveLength(0);
    h.time.advance(1);
    expect(h.asked).toHaveLength(1);
    await h.answer([]);
    h.history.stop();
    h.time.advance(10 * SAMPLE_EVERY_MS);
    expect(h.asked).toHaveLength(0);
    expect(h.time.pending()).toBe(0);
  });

  it('keeps sampling after a scrape that failed', async () => {
    const time = fakeTime();
    let calls = 0;
    const history = new RequestHistory({
      scrape: () => (++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve([])),
      timer: time.fx.timer,
      now: time.fx.now,
    });
    history.start();
    await new Promise((r) => setImmediate(r));
    time.advance(SAMPLE_EVERY_MS);
    expect(calls).toBe(2);
    history.stop();
  });

  it('records what a scrape answered, and tells whoever listens', async () => {
    const h = harness();
    const heard: number[][] = [];
    const off = h.history.onSample((samples) => heard.push(samples.map((s) => s.pid)));
    h.history.start();
    await h.answer([new Counter(0, 10).sample(T0), new Counter(1, 11).sample(T0)]);
    expect(h.history.pids()).toEqual([10, 11]);
    expect(h.history.samples(10)).toHaveLength(1);
    off();
    h.time.advance(SAMPLE_EVERY_MS);
    await h.answer([new Counter(0, 10).sample(T0 + 2_000)]);
    expect(heard).toEqual([[10, 11]]);
    h.history.stop();
  });
});

describe('request history: figures', () => {
  it("gives each worker's req/s, 5xx share and p99 over the last 10 s, and the app's", () => {
    const { history, feed } = fed();
    const a = new Counter(0, 100);
    const b = new Counter(1, 101);
    // Before the window: traffic that must not count (slow and failing).
    a.serve(1_000, 500, 2_000);
    b.serve(1_000, 500, 2_000);
    for (let t = 0; t <= 20_000; t += 2_000) {
      if (t > 10_000) {
        // In the window: a serves 200 a second (2 % 5xx, 5 ms), b 50 a second (all 2xx, 40 ms).
        a.serve(392, 200, 5).serve(8, 503, 5);
        b.serve(100, 200, 40);
      }
      feed(T0 + t, [a.sample(T0 + t), b.sample(T0 + t)]);
    }
    const { workers, app } = history.figures();
    const [fa, fb] = workers;
    expect(fa).toMatchObject({ worker: 0, pid: 100, rate: 200, serverErrors: 0.02 });
    expect(fa?.p99).toBeGreaterThan(4);
    expect(fa?.p99).toBeLessThanOrEqual(5);
    expect(fb).toMatchObject({ worker: 1, pid: 101, rate: 50, serverErrors: 0 });
    expect(fb?.p99).toBeGreaterThan(30);
    expect(fb?.p99).toBeLessThanOrEqual(40);
    expect(fa?.window).toMatchObject({ from: T0 + 10_000, to: T0 + 20_000 });
    // The app: the rates added, the counts summed (40 of the window's 2,500 responses were 5xx).
    expect(app?.rate).toBe(250);
    expect(app?.serverErrors).toBeCloseTo(40 / 2_500, 10);
    // p99 of the sum: 1 % of 2,500 is 25, inside b's 500 slow ones.
    expect(app?.p99).toBeGreaterThan(30);
  });

  it('counts aborted responses as requests, not as answers', () => {
    const { history, feed } = fed();
    const w = new Counter(0, 7);
    feed(T0, [w.sample(T0)]);
    w.abort(20);
    feed(T0 + 2_000, [w.sample(T0 + 2_000)]);
    expect(history.figures().workers[0]).toMatchObject({ rate: 10, serverErrors: null, p99: null });
  });

  it('knows nothing of a worker with one sample, nor of one that stopped answering a window ago', () => {
    const { history, feed } = fed();
    const old = new Counter(0, 1);
    feed(T0, [old.sample(T0)]);
    feed(T0 + 2_000, [old.serve(10, 200, 1).sample(T0 + 2_000)]);
    const young = new Counter(1, 2);
    feed(T0 + 4_000, [young.sample(T0 + 4_000)]);
    const now = history.figures();
    expect(now.workers.map((w) => [w.pid, w.rate])).toEqual([
      [1, 5],
      [2, null],
    ]);
    expect(now.workers[1]).toMatchObject({ serverErrors: null, p99: null, window: null });
    // 10 s later old has said nothing since T0 + 2 s: no figures, and no app figures either.
    feed(T0 + 12_001, []);
    const later = history.figures();
    expect(later.workers.map((w) => w.rate)).toEqual([null, null]);
    expect(later.app).toBeNull();
  });

  it('with a window longer than a young worker has lived, divides by the time it has', () => {
    const { history, feed } = fed();
    const w = new Counter(0, 3);
    feed(T0, [w.sample(T0)]);
    feed(T0 + 4_000, [w.serve(40, 200, 1).sample(T0 + 4_000)]);
    expect(history.figures().workers[0]).toMatchObject({ rate: 10, window: { from: T0, to: T0 + 4_000 } });
  });

  it('reports figures without their counts, for the root', () => {
    const { history, feed } = fed();
    const w = new Counter(2, 9);
    feed(T0, [w.sample(T0)]);
    feed(T0 + 2_000, [w.serve(4, 200, 1).sample(T0 + 2_000)]);
    const report = history.report();
    // The median latency and the event loop's delay (none sampled here) for the live views.
    const figures = {
      rate: 2,
      serverErrors: 0,
      p99: expect.any(Number),
      p50: expect.any(Number),
      loopDelay: null,
    };
    expect(report.workers).toEqual([{ worker: 2, pid: 9, ...figures }]);
    expect(report.app).toEqual(figures);
    expect(report.workers[0]?.p50).toBeLessThanOrEqual(report.workers[0]?.p99 ?? 0);
    // A window is kept between one sampling interval and what is kept.
    expect(history.report(1).workers[0]?.rate).toBe(2);
    expect(history.report(Number.NaN).workers[0]?.rate).toBe(2);
    expect(JSON.stringify(report)).not.toContain('counts');
  });
});

describe('request history: windows and what is kept', () => {
  it('gives the counts between two times, from the samples at or before each', () => {
    const { history, feed } = fed();
    const w = new Counter(0, 5);
    for (let t = 0; t <= 10_000; t += 2_000) feed(T0 + t, [w.serve(10, 200, 1).sample(T0 + t)]);
    const window = history.between(5, T0 + 3_000, T0 + 9_000);
    expect(window).toMatchObject({ from: T0 + 2_000, to: T0 + 8_000 });
    expect(window?.counts.classes[1]).toBe(30);
    // To the last sample by default; before the first: from the first.
    expect(history.between(5, T0 - 50_000)).toMatchObject({ from: T0, to: T0 + 10_000 });
    expect(history.between(5, T0 - 50_000, T0 - 1)).toBeNull();
    expect(history.between(404, T0)).toBeNull();
  });

  it('keeps about a minute per process: the older samples go but the one a minute-long window starts from', () => {
    const { history, feed } = fed();
    const w = new Counter(0, 5);
    for (let t = 0; t <= 100_000; t += 2_000) feed(T0 + t, [w.sample(T0 + t)]);
    const kept = history.samples(5).map((s) => s.at - T0);
    expect(kept[0]).toBe(100_000 - KEEP_MS);
    expect(kept.at(-1)).toBe(100_000);
    expect(kept).toHaveLength(KEEP_MS / 2_000 + 1);
  });

  it('forgets a process that exited, and one not heard of for a minute', () => {
    const { history, feed } = fed();
    const a = new Counter(0, 1);
    const b = new Counter(1, 2);
    feed(T0, [a.sample(T0), b.sample(T0)]);
    history.exited(1);
    expect(history.pids()).toEqual([2]);
    expect(history.samples(1)).toEqual([]);
    feed(T0 + KEEP_MS, []);
    expect(history.pids()).toEqual([2]);
    feed(T0 + KEEP_MS + 1, []);
    expect(history.pids()).toEqual([]);
  });

  it('drops a sample no newer than the last of its process (a clock set back): windows never run backwards', () => {
    const { history, feed } = fed();
    const w = new Counter(0, 5);
    feed(T0, [w.sample(T0)]);
    feed(T0 + 2_000, [w.serve(5, 200, 1).sample(T0 + 2_000)]);
    feed(T0 + 4_000, [w.serve(5, 200, 1).sample(T0 + 1_000)]);
    expect(history.samples(5).map((s) => s.at - T0)).toEqual([0, 2_000]);
  });

  it('orders processes by slot, then pid (a reload puts two in one slot)', () => {
    const { history, feed } = fed();
    feed(T0, [new Counter(1, 50).sample(T0), new Counter(0, 70).sample(T0), new Counter(0, 60).sample(T0)]);
    expect(history.pids()).toEqual([60, 70, 50]);
  });
});
