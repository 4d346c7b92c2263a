// A worker's answer to its primary's metrics scrape (primary/process/scrape.ts): measured here, on the worker's
// own event loop, so that what it says of that loop is true, and nothing runs between scrapes:
// - event-loop utilization since the previous scrape (libuv's own counters: free to read);
// - event-loop delay since the previous scrape, from a histogram started by the first scrape, so the first
//   sample has none: it records how late each tick of the worker's 20 ms timer fires (requests.cts's: one
//   timer for both, an idle loop has no delay, not 20 ms); a worker never scraped records nothing in it;
// - its RSS and CPU time, from process (no /proc read, no subprocess);
// - its request counts (requests.cts), in the same answer: one message per worker and scrape;
// - the app's own prom-client metrics: the default registry of each copy of prom-client the app has
//   loaded (found in require.cache: an ES module import of it is loaded there too), as JSON, for its
//   primary to sum over the app's workers with prom-client's aggregators. Nothing is loaded that the app
//   did not load itself.
import perfHooks = require('node:perf_hooks');

import messages = require('./messages.cjs');

type Elu = ReturnType<typeof perfHooks.performance.eventLoopUtilization>;
type WorkerSample = Parameters<typeof messages.sample>[1];
type CountsSample = Parameters<typeof messages.counted>[1];
type Registry = { getMetricsAsJSON(): unknown[] | Promise<unknown[]> };

const PROM_CLIENT = /[\\/]node_modules[\\/]prom-client[\\/]index\.js$/;

// The copies of prom-client the app has loaded, looked for again only when require.cache has changed
// size (a module loaded, or taken out): a scrape does not search a few hundred paths each time.
let registriesFound: Registry[] = [];
let cacheSize = -1;
function appRegistries(): Registry[] {
  const files = Object.keys(require.cache);
  if (files.length === cacheSize) return registriesFound;
  cacheSize = files.length;
  registriesFound = [];
  for (const file of files) {
    if (!PROM_CLIENT.test(file)) continue;
    const register = (require.cache[file]?.exports as { register?: Partial<Registry> } | undefined)?.register;
    if (typeof register?.getMetricsAsJSON === 'function') registriesFound.push(register as Registry);
  }
  return registriesFound;
}

/** What it takes of requests.cts: the request counts, and the delay timer's ticks. */
interface Counting {
  sample(): CountsSample;
  onDelay(listener: (lateMs: number) => void): void;
}

function installMetrics(counting: Counting): void {
  let lastElu: Elu | undefined;
  let histogram: ReturnType<typeof perfHooks.createHistogram> | null = null;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;

  // How late each tick of the 20 ms timer fires: the delay. Not monitorEventLoopDelay, whose reset() also
  // forgets when it last ticked, so that a block right after a scrape (before its next tick) was lost.
  function measureDelay(): ReturnType<typeof perfHooks.createHistogram> {
    const recorded = perfHooks.createHistogram();
    // In ns, at least 1 (a histogram records positive integers).
    counting.onDelay((late) => recorded.record(Math.max(1, Math.round(late * 1e6))));
    return recorded;
  }

  async function sample(): Promise<WorkerSample> {
    const elu = perfHooks.performance.eventLoopUtilization(lastElu);
    lastElu = perfHooks.performance.eventLoopUtilization();
    let delay: { p50: number; p99: number; max: number } | null = null;
    if (histogram) {
      delay = histogram.count
        ? { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
        : null;
      histogram.reset();
    } else {
      histogram = measureDelay();
    }
    let app: unknown[] | null = null;
    const registries = appRegistries();
    if (registries.length) {
      app = [];
      for (const registry of registries) {
        try {
          app.push(...(await registry.getMetricsAsJSON()));
        } catch {
          // A collect callback of the app's that throws: its metrics are left out of this scrape.
        }
      }
    }
    const cpu = process.cpuUsage();
    const { worker, pid, at, rss, counts } = counting.sample();
    return {
      worker,
      pid,
      elu: Math.round(elu.utilization * 1e4) / 1e4,
      delay,
      rss,
      cpu: { user: cpu.user, system: cpu.system },
      app,
      requests: { at, counts },
    };
  }

  process.on('message', (message: unknown) => {
    if (!messages.isMetrics(message)) return;
    const { seq } = message;
    void sample().then((s) => {
      if (process.connected) process.send?.(messages.sample(seq, s));
    });
  });
}

export = installMetrics;
