// Balancing (issue 15): what least-connections and sticky buy and what they cost, next to round-robin,
// kernel, bare node:cluster and PM2, on bench/apps/slow-fast.cjs, loopback only.
// 1. The seed scenario: 4 workers, two CPU-bound /slow requests (1.5 s) always in flight, each on its
//    own connection; FAST /fast requests one after another, each on a new connection: p50/p99/max.
// 2. 2 workers, 50 connections (autocannon): keep-alive req/s for SECONDS, then CLOSES requests with
//    `Connection: close` (the connection rate), during which the primary's CPU time is read from /proc.
//    Variants interleaved (a, b, c, a, b, c), ROUNDS rounds, medians.
// Run: npm run build && node bench/balancing.ts [fast requests] [rounds] [seconds]
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import {
  APP,
  bareCluster,
  CONNECTIONS,
  closeLoad,
  clusterd,
  cpuMs,
  type Measured,
  percentile,
  round1,
  SLOW_MS,
  seed,
  spreadClients,
  workersAnswer,
} from './balancing-lib.ts';
import { freePort, median, table, writeResult } from './lib.ts';
import { bare, pm2Target, type Target } from './targets.ts';

const FAST = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 4);
const SECONDS = Number(process.argv[4] ?? 2);
const CLOSES = 10_000;

async function seedScenario() {
  const cases: { name: string; target: Target; busy: boolean }[] = [
    { name: 'idle server (clusterd least-connections)', target: clusterd('least-connections'), busy: false },
    { name: 'idle server (clusterd round-robin)', target: clusterd('round-robin'), busy: false },
    { name: 'clusterd round-robin', target: clusterd('round-robin'), busy: true },
    { name: 'clusterd kernel', target: clusterd('kernel'), busy: true },
    { name: 'clusterd least-connections', target: clusterd('least-connections'), busy: true },
    { name: 'bare node:cluster (round-robin)', target: bare, busy: true },
    { name: 'PM2 (cluster mode)', target: pm2Target(), busy: true },
  ];
  const summary: Record<string, { p50: number; p99: number; max: number; n: number; waited: number }> = {};
  for (const c of cases) {
    const port = await freePort();
    const running = await c.target.start(APP, port, 4);
    try {
      await workersAnswer(port, 4);
      const started = Date.now();
      const ms = await seed(port, c.busy, FAST);
      summary[c.name] = {
        p50: round1(percentile(ms, 50)),
        p99: round1(percentile(ms, 99)),
        max: round1(Math.max(...ms)),
        n: ms.length,
        // Only a /slow explains a wait of a third of one: the /fast was handed to its busy worker.
        waited: ms.filter((x) => x > SLOW_MS / 3).length,
      };
      console.error(
        `seed: ${c.name}: p99 ${summary[c.name]?.p99} ms, ${Math.round((Date.now() - started) / 1000)} s`,
      );
    } finally {
      await running.stop();
    }
  }
  const idle = summary['idle server (clusterd least-connections)']?.p99 ?? Number.NaN;
  console.log(
    table([
      ['seed scenario (/fast)', 'p50 ms', 'p99 ms', 'max ms', 'p99 / idle', `waited > ${SLOW_MS / 3} ms`],
      ...Object.entries(summary).map(([name, s]) => [
        name,
        s.p50,
        s.p99,
        s.max,
        (s.p99 / idle).toFixed(1),
        `${s.waited} of ${s.n}`,
      ]),
    ]),
  );
  return summary;
}

interface Variant {
  name: string;
  target: Measured;
  /** Client addresses; 1: all from 127.0.0.1. */
  clients: number;
}

async function load(v: Variant, seconds = SECONDS, closes = CLOSES) {
  const port = await freePort();
  const running = await v.target.start(APP, port, 2);
  const restore = v.clients > 1 ? spreadClients(v.clients) : () => {};
  try {
    await workersAnswer(port, 2);
    const url = `http://127.0.0.1:${port}/fast`;
    const keepAlive = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
    restore(); // the keep-alive load alone goes through net.connect with spread addresses
    const primary = running.primary();
    const cpu0 = cpuMs(primary);
    const close = await closeLoad(port, closes, v.clients);
    return {
      keepAlive: keepAlive.requests.average,
      close: close.rps,
      cpuMsPer10k: ((cpuMs(primary) - cpu0) * 10_000) / closes,
      closeP99: close.p99,
      errors: keepAlive.errors + keepAlive.non2xx + close.errors,
    };
  } finally {
    restore();
    await running.stop();
  }
}

async function loadScenario() {
  const variants: Variant[] = [
    { name: 'clusterd round-robin', target: clusterd('round-robin'), clients: CONNECTIONS },
    { name: 'clusterd least-connections', target: clusterd('least-connections'), clients: CONNECTIONS },
    { name: 'clusterd sticky', target: clusterd('sticky'), clients: CONNECTIONS },
    { name: 'clusterd sticky, one client address', target: clusterd('sticky'), clients: 1 },
    { name: 'bare node:cluster (round-robin)', target: bareCluster, clients: CONNECTIONS },
  ];
  // A first load runs autocannon's code cold (it runs in this process): its figures are dropped.
  await load(variants[0] as Variant, 1, 1000);
  const runs = new Map<string, Awaited<ReturnType<typeof load>>[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const r = await load(v);
      runs.set(v.name, [...(runs.get(v.name) ?? []), r]);
      console.error(
        `round ${round + 1}: ${v.name}: keep-alive ${Math.round(r.keepAlive)} req/s, close ${Math.round(r.close)} req/s, primary ${Math.round(r.cpuMsPer10k)} ms CPU / 10k, ${r.errors} errors`,
      );
    }
  }
  const summary: Record<
    string,
    { keepAlive: number; close: number; closeP99: number; cpuMsPer10k: number; errors: number }
  > = {};
  for (const [name, rs] of runs) {
    summary[name] = {
      keepAlive: Math.round(median(rs.map((r) => r.keepAlive))),
      close: Math.round(median(rs.map((r) => r.close))),
      closeP99: round1(median(rs.map((r) => r.closeP99))),
      cpuMsPer10k: Math.round(median(rs.map((r) => r.cpuMsPer10k))),
      errors: rs.reduce((a, r) => a + r.errors, 0),
    };
  }
  const rr = summary['clusterd round-robin'];
  console.log(
    table([
      [
        '2 workers, 50 connections',
        'keep-alive req/s',
        '/ rr',
        'close req/s',
        '/ rr',
        'primary CPU ms / 10k',
        'errors',
      ],
      ...Object.entries(summary).map(([name, s]) => [
        name,
        s.keepAlive,
        (s.keepAlive / (rr?.keepAlive ?? Number.NaN)).toFixed(2),
        s.close,
        (s.close / (rr?.close ?? Number.NaN)).toFixed(2),
        s.closeP99,
        s.cpuMsPer10k,
        s.errors,
      ]),
    ]),
  );
  return summary;
}

const started = Date.now();
const seedResult = await seedScenario();
console.log('');
const loadResult = await loadScenario();
console.log(
  `\nseed: ${FAST} /fast requests, /slow ${SLOW_MS} ms, 4 workers; load: ${ROUNDS} rounds, keep-alive ${SECONDS} s, ${CLOSES} Connection: close requests; ${Math.round((Date.now() - started) / 1000)} s`,
);
// Other work on the machine shows in every figure: the load average says how much there was.
const load1 = loadavg().map((x) => x.toFixed(2));
console.log(`load average at the end: ${load1.join(' ')}`);
console.log(
  `written to ${writeResult('balancing', { seed: seedResult, load: loadResult, fast: FAST, rounds: ROUNDS, seconds: SECONDS, loadavg: load1 })}`,
);
