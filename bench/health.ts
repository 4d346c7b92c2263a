// Health and metrics (docs/health.md): what a /metrics scrape takes, and what scraping costs the requests,
// on bench/apps/hello-metrics.cjs (prom-client's default metrics and a request counter), loopback only.
// 1. Scrape time at 16 workers (on this 2-core machine too): SCRAPES sequential scrapes, p50/p99/max, and
//    the CPU time they took in every process of the tree (root, primary, workers), for clusterd's
//    /metrics (the apps' metrics included) and for what users have today, bare node:cluster with
//    prom-client's cluster mode (AggregatorRegistry.clusterMetrics() in the primary). Both trees run at
//    once and their scrapes take turns in 10 blocks (the first alternating), so that the machine's other
//    load falls on both alike; the ratio row is clusterd's p50 and p99 over the bare tree's. PM2 has no
//    Prometheus endpoint: its row is `pm2 jlist` over 16 processes, what PM2's exporters read, which is
//    not the same thing (no app metrics, a CLI process per call).
// 2. 4 workers, 50 keep-alive connections (autocannon): req/s, request latency and the CPU time of the
//    target's processes per request, for clusterd without health, with health scraped every 1 s and
//    every 100 ms during the load, bare node:cluster not scraped, and bare node:cluster with prom-client's
//    cluster mode scraped every 1 s (the scraper runs in this process, next to autocannon, and only during
//    its variant's samples). All variants run at once and take turns in samples of SECONDS, the first
//    rotating every round (as bench/balancing.ts); the req/s ratio is the median of per-round ratios.
// Run: npm run build && node bench/health.ts [scrapes] [rounds] [seconds]
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { cpuMs, percentile, round1 } from './balancing-lib.ts';
import { freePort, lines, median, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const SCRAPES = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 10);
const SECONDS = Number(process.argv[4] ?? 1);
const APP = join(ROOT, 'bench/apps/hello-metrics.cjs');
const MANY = 16;
const FEW = 4;
const CONNECTIONS = 50;
/** Requests sent to `/` before the scrapes of part 1: the summed counter must say exactly this. */
const COUNTED = 160;
const JLISTS = 10;
const IDLE_MS = 1_000;

interface Started {
  stop(): Promise<void>;
  /** The process at the top of the tree: clusterd's root, the bare primary. */
  pid: number;
  /** Where its metrics are scraped; null: not served. */
  metrics: string | null;
}

async function clusterd(port: number, workers: number, health: boolean): Promise<Started> {
  const healthPort = health ? await freePort() : null;
  const { file } = tempConfig({
    ...(healthPort ? { health: { port: healthPort } } : {}),
    apps: [{ name: 'app', script: APP, instances: workers, env: { PORT: port } }],
  });
  const { child } = await startClusterd(file, (e) => e.to === 'running', 60_000);
  return {
    stop: () => stop(child),
    pid: child.pid as number,
    metrics: healthPort ? `http://127.0.0.1:${healthPort}/metrics` : null,
  };
}

/** bench/apps/bare-cluster.cjs, or with `prom`, bare-prom-cluster.cjs (prom-client's cluster mode). */
async function bare(port: number, workers: number, prom: boolean): Promise<Started> {
  const metricsPort = prom ? await freePort() : null;
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'bench/apps', prom ? 'bare-prom-cluster.cjs' : 'bare-cluster.cjs')],
    {
      env: {
        ...process.env,
        SCRIPT: APP,
        WORKERS: String(workers),
        PORT: String(port),
        ...(prom ? { METRICS_PORT: String(metricsPort), PROM_CLUSTER: '1' } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    lines(child, (l) => l.includes('"ready":true') && resolve());
    child.on('exit', () => reject(new Error('the bare primary exited early')));
  });
  return {
    stop: () => stop(child),
    pid: child.pid as number,
    metrics: metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : null,
  };
}

/** `pid` and every process below it, read from /proc; `workers`: those with no child (the leaves). */
function tree(pid: number): { all: number[]; workers: number[] } {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {} // gone since readdir
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i] as number) ?? []));
  return { all, workers: all.filter((p) => !children.has(p)) };
}

/** User + system CPU time of the processes of `pids` that are still there, in ms. */
function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuMs(pid);
    } catch {}
  }
  return sum;
}

/** One scrape, timed from the request to the last byte of the body (keep-alive, as Prometheus). */
async function scrape(url: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
  return { ms, body };
}

async function get(port: number, path: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } }).then((r) =>
      r.text(),
    );
}

const stats = (ms: number[]) => ({
  p50: round1(percentile(ms, 50)),
  p99: round1(percentile(ms, 99)),
  max: round1(Math.max(...ms)),
  n: ms.length,
});

// Part 1

/** Part 1's scrapes, in blocks: clusterd's and the bare tree's blocks alternate, the first changing each block. */
const BLOCKS = 10;

async function scrapeTime() {
  const cases: { name: string; start: (port: number) => Promise<Started> }[] = [
    { name: 'clusterd /metrics', start: (port) => clusterd(port, MANY, true) },
    {
      name: 'bare node:cluster + prom-client clusterMetrics()',
      start: (port) => bare(port, MANY, true),
    },
  ];
  const summary: Record<string, object> = {};
  const running: {
    name: string;
    started: Started;
    url: string;
    pids: ReturnType<typeof tree>;
    body: string;
    counted: number;
    idleMsPerS: number;
    ms: number[];
    cpu: number;
    workersCpu: number;
    wall: number;
  }[] = [];
  try {
    // Both trees run at once, and their scrapes take turns in blocks: the other engineers' load on this
    // shared machine falls on both alike, and the ratio is taken side by side.
    for (const c of cases) {
      const port = await freePort();
      const startedAt = Date.now();
      const started = await c.start(port);
      running.push({ name: c.name, started, url: started.metrics as string } as (typeof running)[number]);
      await answering(port, MANY, 60_000);
      await get(port, '/', COUNTED);
      console.error(`scrape: ${c.name}: started in ${Math.round((Date.now() - startedAt) / 1000)} s`);
    }
    for (const r of running) {
      let body = '';
      for (let i = 0; i < 5; i++) body = (await scrape(r.url)).body; // warm-up; the first starts clusterd's delay histograms
      // The app's counter, summed over the 16 workers: proof that the apps' metrics are in the scrape.
      const counted = Number(/^http_requests_total\{[^}]*route="\/"[^}]*\} (\d+)/m.exec(body)?.[1]);
      if (counted !== COUNTED) throw new Error(`${r.name}: http_requests_total{route="/"} is ${counted}`);
      const pids = tree(r.started.pid);
      if (pids.workers.length !== MANY) throw new Error(`${r.name}: ${pids.workers.length} workers`);
      // What the tree uses idle (timers: prom-client's event-loop monitor in every worker, clusterd's
      // delay timer), over IDLE_MS, to set the scrapes' CPU time against.
      const cpu0 = cpuOf(pids.all);
      await sleep(IDLE_MS);
      const idleMsPerS = ((cpuOf(pids.all) - cpu0) * 1000) / IDLE_MS;
      Object.assign(r, { body, counted, pids, idleMsPerS, ms: [], cpu: 0, workersCpu: 0, wall: 0 });
    }
    for (let block = 0; block < BLOCKS; block++) {
      const turn = block % 2 ? [...running].reverse() : running;
      for (const r of turn) {
        const cpu0 = cpuOf(r.pids.all);
        const workers0 = cpuOf(r.pids.workers);
        const t0 = performance.now();
        for (let i = 0; i < SCRAPES / BLOCKS; i++) r.ms.push((await scrape(r.url)).ms);
        r.wall += performance.now() - t0;
        r.cpu += cpuOf(r.pids.all) - cpu0;
        r.workersCpu += cpuOf(r.pids.workers) - workers0;
      }
    }
    for (const r of running) {
      const n = r.ms.length;
      summary[r.name] = {
        ...stats(r.ms),
        cpuMsPerScrape: round1(r.cpu / n),
        workersCpuMsPerScrape: round1(r.workersCpu / n),
        idleCpuMsPerScrape: round1((r.idleMsPerS * r.wall) / 1000 / n),
        processes: r.pids.all.length,
        bytes: Buffer.byteLength(r.body),
        samples: r.body.split('\n').filter((l) => l && !l.startsWith('#')).length,
        counted: r.counted,
      };
      console.error(`scrape: ${r.name}: p99 ${round1(percentile(r.ms, 99))} ms`);
    }
  } finally {
    for (const r of running) await r.started.stop();
  }
  const [ours, theirs] = running.map((r) => summary[r.name] as ReturnType<typeof stats>);
  const ratio =
    ours && theirs
      ? { p50: +(ours.p50 / theirs.p50).toFixed(2), p99: +(ours.p99 / theirs.p99).toFixed(2) }
      : null;
  summary['PM2: pm2 jlist (not equivalent)'] = await jlist();
  const rows = Object.entries(summary).map(([name, s]) => {
    const x = s as Record<string, number | string>;
    return [
      name,
      x.p50 ?? '-',
      x.p99 ?? '-',
      x.max ?? '-',
      x.cpuMsPerScrape === undefined
        ? '-'
        : `${x.cpuMsPerScrape} (workers ${x.workersCpuMsPerScrape}, idle ${x.idleCpuMsPerScrape})`,
      x.bytes ?? '-',
      x.samples ?? '-',
    ];
  });
  if (ratio) rows.splice(2, 0, ['clusterd / prom-client cluster mode', ratio.p50, ratio.p99, '', '', '', '']);
  console.log(
    table([
      [
        `${MANY} workers, ${SCRAPES} sequential scrapes`,
        'p50 ms',
        'p99 ms',
        'max ms',
        'CPU ms / scrape (of it: workers, idle)',
        'bytes',
        'samples',
      ],
      ...rows,
    ]),
  );
  return { ...summary, ratio };
}

/** PM2's row: the wall time of `pm2 jlist` over 16 processes of the app, JLISTS times. */
async function jlist(): Promise<object> {
  let cli: ReturnType<typeof pm2>;
  try {
    cli = pm2();
  } catch (error) {
    return { error: `PM2 not available: ${(error as Error).message}` };
  }
  const port = await freePort();
  try {
    cli.run(['start', APP, '-i', String(MANY), '--name', 'app'], { PORT: String(port) });
    await answering(port, MANY, 60_000);
    cli.run(['jlist']);
    const ms: number[] = [];
    let bytes = 0;
    for (let i = 0; i < JLISTS; i++) {
      const t0 = performance.now();
      const out = cli.run(['jlist']);
      ms.push(performance.now() - t0);
      const listed = JSON.parse(out.slice(out.indexOf('['))) as unknown[];
      if (listed.length !== MANY) throw new Error(`pm2 jlist listed ${listed.length} processes`);
      bytes = Buffer.byteLength(out);
    }
    return { ...stats(ms), bytes, version: cli.version() };
  } finally {
    cli.kill();
  }
}

// Part 2

interface Variant {
  name: string;
  start: (port: number) => Promise<Started>;
  /** Scrape every this many ms during its samples; null: never. */
  every: number | null;
}

interface Sample {
  /** CPU time of the target's processes (root, primary, workers) over the sample. */
  cpuMs: number;
  requests: number;
  rps: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  scrapes: number[];
}

/** SECONDS of keep-alive load on `port`, with a scrape of `metrics` every `every` ms from halfway into the first. */
async function sample(
  port: number,
  metrics: string | null,
  every: number | null,
  seconds: number,
  pids: number[],
) {
  const scrapes: number[] = [];
  let scrapeErrors = 0;
  const scraper =
    metrics && every
      ? (async () => {
          const t0 = performance.now();
          for (let k = 0; k < Math.floor((seconds * 1000) / every); k++) {
            const wait = t0 + (k + 0.5) * every - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            await scrape(metrics).then(
              (s) => scrapes.push(s.ms),
              () => scrapeErrors++,
            );
          }
        })()
      : Promise.resolve();
  const cpu0 = cpuOf(pids);
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: seconds,
  });
  await scraper;
  return {
    cpuMs: cpuOf(pids) - cpu0,
    requests: r.requests.total,
    rps: r.requests.average,
    p99: r.latency.p99,
    p999: r.latency.p99_9,
    max: r.latency.max,
    errors: r.errors + r.non2xx + scrapeErrors,
    scrapes,
  } satisfies Sample;
}

async function throughputCost() {
  const variants: Variant[] = [
    { name: 'clusterd, no health', start: (port) => clusterd(port, FEW, false), every: null },
    { name: 'clusterd, health scraped every 1 s', start: (port) => clusterd(port, FEW, true), every: 1000 },
    { name: 'clusterd, health scraped every 100 ms', start: (port) => clusterd(port, FEW, true), every: 100 },
    { name: 'bare node:cluster, not scraped', start: (port) => bare(port, FEW, false), every: null },
    {
      name: 'bare + prom-client cluster mode, scraped every 1 s',
      start: (port) => bare(port, FEW, true),
      every: 1000,
    },
  ];
  const running: { v: Variant; port: number; started: Started; pids: number[] }[] = [];
  try {
    for (const v of variants) {
      const port = await freePort();
      const started = await v.start(port);
      await answering(port, FEW);
      running.push({ v, port, started, pids: tree(started.pid).all });
    }
    // autocannon runs in this process: its first second runs cold, and is dropped; every variant gets a
    // short warm-up, with a scrape (the first starts clusterd's delay histograms).
    await autocannon({ url: `http://127.0.0.1:${running[0]?.port}/`, connections: CONNECTIONS, duration: 1 });
    for (const { v, port, started } of running) {
      await autocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, amount: 5_000 });
      if (v.every && started.metrics) await scrape(started.metrics);
    }
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const turn = [...running.slice(round % running.length), ...running.slice(0, round % running.length)];
      for (const { v, port, started, pids } of turn) {
        const s = await sample(port, started.metrics, v.every, SECONDS, pids);
        samples.set(v.name, [...(samples.get(v.name) ?? []), s]);
      }
    }
    const summary: Record<
      string,
      {
        rps: number;
        p99: number;
        p999: number;
        max: number;
        errors: number;
        /** The median over rounds of this variant's req/s over no-health's in the same round. */
        ratio: number;
        /** CPU time of its processes per request, over all its samples. */
        cpuUsPerRequest: number;
        scrape: ReturnType<typeof stats> | null;
        rpsSamples: number[];
      }
    > = {};
    const base = samples.get('clusterd, no health') ?? [];
    for (const { v } of running) {
      const s = samples.get(v.name) ?? [];
      const scrapes = s.flatMap((x) => x.scrapes);
      summary[v.name] = {
        rps: Math.round(median(s.map((x) => x.rps))),
        p99: median(s.map((x) => x.p99)),
        p999: median(s.map((x) => x.p999)),
        max: median(s.map((x) => x.max)),
        errors: s.reduce((a, x) => a + x.errors, 0),
        cpuUsPerRequest: round1(
          (s.reduce((a, x) => a + x.cpuMs, 0) * 1000) / s.reduce((a, x) => a + x.requests, 0),
        ),
        ratio: +median(s.map((x, i) => x.rps / (base[i]?.rps ?? Number.NaN))).toFixed(3),
        scrape: scrapes.length ? stats(scrapes) : null,
        rpsSamples: s.map((x) => Math.round(x.rps)),
      };
    }
    console.log(
      table([
        [
          `${FEW} workers, ${CONNECTIONS} keep-alive connections`,
          'req/s',
          '/ no health, per round',
          'CPU µs / request',
          'p99 ms',
          'p99.9 ms',
          'max ms',
          'errors',
          'scrape p50 / p99 / max ms',
        ],
        ...Object.entries(summary).map(([name, s]) => [
          name,
          s.rps,
          s.ratio.toFixed(2),
          s.cpuUsPerRequest,
          s.p99,
          s.p999,
          s.max,
          s.errors,
          s.scrape ? `${s.scrape.p50} / ${s.scrape.p99} / ${s.scrape.max} (${s.scrape.n})` : '-',
        ]),
      ]),
    );
    return summary;
  } finally {
    for (const { started } of running) await started.stop();
  }
}

const started = Date.now();
const scrapeResult = await scrapeTime();
console.log('');
const loadResult = await throughputCost();
console.log(
  `\nscrapes: ${SCRAPES} sequential at ${MANY} workers; load: ${ROUNDS} rounds of ${SECONDS} s per variant at ${FEW} workers; ${Math.round((Date.now() - started) / 1000)} s`,
);
// Other work on the machine shows in every figure: the load average says how much there was.
const load = loadavg().map((x) => x.toFixed(2));
console.log(`load average at the end: ${load.join(' ')}`);
console.log(
  `written to ${writeResult('health', { scrape: scrapeResult, load: loadResult, scrapes: SCRAPES, rounds: ROUNDS, seconds: SECONDS, workers: { scrape: MANY, load: FEW }, loadavg: load })}`,
);
