// A worker's answer to its primary's metrics scrape (primary/process/scrape.ts): measured here, on the worker's
// own event loop, so that what it says of that loop is true, and nothing runs between scrapes:
// - event-loop utilization since the previous scrape (libuv's own counters: free to read);
// - event-loop delay since the previous scrape, from a histogram started by the first scrape (a worker
//   that is never scraped pays nothing for it), so the first sample has none: a 20 ms timer records how
//   late it fires (an idle loop has no delay, not 20 ms);
// - its RSS and CPU time, from process (no /proc read, no subprocess);
// - the app's own prom-client metrics: the default registry of each copy of prom-client the app has
//   loaded (found in require.cache: an ES module import of it is loaded there too), as JSON, for the root
//   to sum over the app's workers with prom-client's own aggregators. Nothing is loaded that the app did
//   not load itself.
import perfHooks = require('node:perf_hooks');

import messages = require('./messages.cjs');

type Elu = ReturnType<typeof perfHooks.performance.eventLoopUtilization>;
type WorkerSample = Parameters<typeof messages.sample>[1];
type Registry = { getMetricsAsJSON(): unknown[] | Promise<unknown[]> };

/** The delay timer's interval (ms): what it records is how much later than this it fired. */
const RESOLUTION_MS = 20;

const PROM_CLIENT = /[\\/]node_modules[\\/]prom-client[\\/]index\.js$/;

function appRegistries(): Registry[] {
  const found: Registry[] = [];
  for (const [file, module] of Object.entries(require.cache)) {
    if (!PROM_CLIENT.test(file)) continue;
    const register = (module?.exports as { register?: Partial<Registry> } | undefined)?.register;
    if (typeof register?.getMetricsAsJSON === 'function') found.push(register as Registry);
  }
  return found;
}

function installMetrics(): void {
  let lastElu: Elu | undefined;
  let histogram: ReturnType<typeof perfHooks.createHistogram> | null = null;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;

  // How late a 20 ms timer fires, each time: the delay. Not monitorEventLoopDelay, whose reset() also
  // forgets when it last ticked, so that a block right after a scrape (before its next tick) was lost.
  function measureDelay(): ReturnType<typeof perfHooks.createHistogram> {
    const recorded = perfHooks.createHistogram();
    let last = perfHooks.performance.now();
    setInterval(() => {
      const now = perfHooks.performance.now();
      // In ns, at least 1 (a histogram records positive integers).
      recorded.record(Math.max(1, Math.round((now - last - RESOLUTION_MS) * 1e6)));
      last = now;
    }, RESOLUTION_MS).unref();
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
    return {
      worker: Number(process.env.NODE_APP_INSTANCE),
      pid: process.pid,
      elu: Math.round(elu.utilization * 1e4) / 1e4,
      delay,
      rss: process.memoryUsage.rss(),
      cpu: { user: cpu.user, system: cpu.system },
      app,
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
