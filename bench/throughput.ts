// Throughput and latency of a 2-worker "hello" app, keep-alive and `Connection: close` loads
// (autocannon, 50 connections, loopback), under clusterd (round-robin and kernel balancing), bare
// node:cluster and PM2. Rounds interleaved; medians; ratios clusterd / other.
// Run: npm run build && node bench/throughput.ts [rounds] [seconds]
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, median, ROOT, table, writeResult } from './lib.ts';
import { answering, bare, clusterd, pm2Target, type Target } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 5);
const APP = join(ROOT, 'bench/apps/hello.cjs');
const targets: Target[] = [clusterd(), clusterd('kernel'), bare, pm2Target()];
type Load = 'keep-alive' | 'connection: close';

async function measure(target: Target, load: Load) {
  const port = await freePort();
  const running = await target.start(APP, port, 2);
  await answering(port, 2);
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: 50,
    duration: SECONDS,
    ...(load === 'connection: close' ? { headers: { connection: 'close' } } : {}),
  });
  await running.stop();
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
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
        `round ${round + 1}: ${key}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, ${r.errors} errors`,
      );
    }
  }
}
const summary: Record<string, { rps: number; p50: number; p99: number; errors: number }> = {};
for (const [key, runs] of results) {
  summary[key] = {
    rps: Math.round(median(runs.map((r) => r.rps))),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}
const rows: (string | number)[][] = [
  ['load', 'target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'clusterd / this (req/s)'],
];
for (const [key, s] of Object.entries(summary)) {
  const [load, name] = key.split(' | ') as [string, string];
  const ours = summary[`${load} | clusterd`]?.rps ?? 0;
  rows.push([load, name, s.rps, s.p50, s.p99, s.errors, (ours / s.rps).toFixed(2)]);
}
console.log(table(rows));
console.log(
  `\n${ROUNDS} rounds of ${SECONDS} s, 50 connections; written to ${writeResult('throughput', summary)}`,
);
