// Throughput and latency of a 2-worker "hello" app, keep-alive and `Connection: close` loads
// (autocannon, 50 connections, loopback), under clusterd (round-robin and kernel balancing), the same
// clusterd build with `requestMetrics: false` (what counting the requests costs), bare node:cluster and
// PM2. Rounds interleaved; medians; ratios clusterd / other.
// Run: npm run build && node bench/throughput.ts [rounds] [seconds] [targets]
// `targets`: all (default), or `metrics` for clusterd with and without request metrics alone.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, mainThreadCpuNs, median, ROOT, table, writeResult } from './lib.ts';
import { answering, bare, clusterd, pm2Target, type Target } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 5);
const APP = join(ROOT, 'bench/apps/hello.cjs');
const WITHOUT_METRICS = 'clusterd (requestMetrics: false)';
const withoutMetrics = clusterd('round-robin', { name: WITHOUT_METRICS, app: { requestMetrics: false } });
const targets: Target[] =
  process.argv[4] === 'metrics'
    ? [clusterd(), withoutMetrics]
    : [clusterd(), withoutMetrics, clusterd('kernel'), bare, pm2Target()];
type Load = 'keep-alive' | 'connection: close';

async function measure(target: Target, load: Load) {
  const port = await freePort();
  const running = await target.start(APP, port, 2);
  await answering(port, 2);
  // The workers' CPU per request: unlike req/s, hardly moved by what else runs on the machine, so it
  // shows a cost of a few hundred ns per request that the rounds' spread of req/s hides.
  const cpu = () => (running.workers ?? []).reduce((sum, pid) => sum + mainThreadCpuNs(pid), 0);
  const cpuBefore = cpu();
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: 50,
    duration: SECONDS,
    ...(load === 'connection: close' ? { headers: { connection: 'close' } } : {}),
  });
  const cpuNs = cpu() - cpuBefore;
  await running.stop();
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    // µs of the workers' main threads per request answered; null where the target does not tell its workers.
    cpuUs: running.workers?.length && r.requests.total ? cpuNs / 1000 / r.requests.total : null,
  };
}

const results = new Map<string, Awaited<ReturnType<typeof measure>>[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const load of ['keep-alive', 'connection: close'] as Load[]) {
    // Each round starts with another target: a `Connection: close` load leaves thousands of sockets in
    // TIME_WAIT behind, which slow down whoever runs next.
    for (const target of [
      ...targets.slice(round % targets.length),
      ...targets.slice(0, round % targets.length),
    ]) {
      const key = `${load} | ${target.name}`;
      const r = await measure(target, load);
      results.set(key, [...(results.get(key) ?? []), r]);
      console.error(
        `round ${round + 1}: ${key}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, ${r.errors} errors${r.cpuUs === null ? '' : `, worker CPU ${r.cpuUs.toFixed(2)} µs/req`}`,
      );
    }
  }
}
const summary: Record<
  string,
  { rps: number; p50: number; p99: number; errors: number; cpuUs: number | null }
> = {};
for (const [key, runs] of results) {
  const cpu = runs.map((r) => r.cpuUs).filter((us) => us !== null);
  summary[key] = {
    rps: Math.round(median(runs.map((r) => r.rps))),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    cpuUs: cpu.length ? Math.round(median(cpu) * 100) / 100 : null,
  };
}
const rows: (string | number)[][] = [
  ['load', 'target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'worker CPU µs/req', 'clusterd / this (req/s)'],
];
for (const [key, s] of Object.entries(summary)) {
  const [load, name] = key.split(' | ') as [string, string];
  const ours = summary[`${load} | clusterd`]?.rps ?? 0;
  rows.push([load, name, s.rps, s.p50, s.p99, s.errors, s.cpuUs ?? '-', (ours / s.rps).toFixed(2)]);
}
console.log(table(rows));
// The request metrics' cost: the same build and app with and without them.
for (const load of ['keep-alive', 'connection: close']) {
  const on = results.get(`${load} | clusterd`) ?? [];
  const off = results.get(`${load} | ${WITHOUT_METRICS}`) ?? [];
  if (!on.length || !off.length) continue;
  const ratios = on.map((r, i) => r.rps / (off[i]?.rps ?? Number.NaN)).filter(Number.isFinite);
  const withMetrics = summary[`${load} | clusterd`];
  const without = summary[`${load} | ${WITHOUT_METRICS}`];
  const cpu =
    withMetrics?.cpuUs && without?.cpuUs
      ? `; worker CPU per request ${withMetrics.cpuUs} / ${without.cpuUs} µs = ${(withMetrics.cpuUs / without.cpuUs).toFixed(3)}`
      : '';
  console.log(
    `${load}: with / without request metrics, req/s ${((withMetrics?.rps ?? 0) / (without?.rps ?? 1)).toFixed(3)} (medians; per round ${ratios.map((r) => r.toFixed(2)).join(' ')})${cpu}`,
  );
}
console.log(
  `\n${ROUNDS} rounds of ${SECONDS} s, 50 connections; written to ${writeResult('throughput', summary)}`,
);
