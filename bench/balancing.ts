// Balancing (issue 15): what least-connections and sticky buy and what they cost, next to round-robin,
// kernel, bare node:cluster and PM2, on bench/apps/slow-fast.cjs, loopback only.
// 1. The seed scenario: 4 workers, two CPU-bound /slow requests (1.5 s) always in flight, each on its
//    own connection; FAST /fast requests one after another, each on a new connection: p50/p99/max.
// 2. 2 workers, 50 connections: keep-alive req/s (autocannon, KEEP_ALIVE_ROUNDS samples of SECONDS), then
//    CLOSES requests with `Connection: close` (the connection rate), over which the primary's CPU time is
//    read from /proc. Variants interleaved (a, b, c, a, b, c), medians.
// Run: npm run build && node bench/balancing.ts [fast requests] [keep-alive rounds] [seconds]
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
  type Started,
  seed,
  spreadClients,
  workersAnswer,
} from './balancing-lib.ts';
import { freePort, median, table, writeResult } from './lib.ts';
import { bare, pm2Target, type Target } from './targets.ts';

const FAST = Number(process.argv[2] ?? 50);
const KEEP_ALIVE_ROUNDS = Number(process.argv[3] ?? 10);
const SECONDS = Number(process.argv[4] ?? 1);
const CLOSES = 10_000;
const CLOSE_ROUNDS = 5;

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

/** Keep-alive req/s of `seconds` on `port`, from `clients` addresses. */
async function keepAlive(port: number, clients: number, seconds: number) {
  const restore = clients > 1 ? spreadClients(clients) : () => {};
  try {
    const r = await autocannon({
      url: `http://127.0.0.1:${port}/fast`,
      connections: CONNECTIONS,
      duration: seconds,
    });
    return { rps: r.requests.average, errors: r.errors + r.non2xx };
  } finally {
    restore();
  }
}

// All the variants run at once (idle workers cost nothing) and take turns in short samples, the first
// one rotating every round: other work on this shared machine comes in bursts of seconds, which then
// fall on every variant alike instead of on whichever ran a long load at that moment.
async function loadScenario() {
  const variants: Variant[] = [
    { name: 'clusterd round-robin', target: clusterd('round-robin'), clients: CONNECTIONS },
    { name: 'clusterd least-connections', target: clusterd('least-connections'), clients: CONNECTIONS },
    { name: 'clusterd sticky', target: clusterd('sticky'), clients: CONNECTIONS },
    { name: 'clusterd sticky, one client address', target: clusterd('sticky'), clients: 1 },
    { name: 'bare node:cluster (round-robin)', target: bareCluster, clients: CONNECTIONS },
  ];
  const running: { v: Variant; port: number; started: Started }[] = [];
  try {
    for (const v of variants) {
      const port = await freePort();
      running.push({ v, port, started: await v.target.start(APP, port, 2) });
      await workersAnswer(port, 2);
    }
    const turns = (round: number) => [
      ...running.slice(round % running.length),
      ...running.slice(0, round % running.length),
    ];
    // autocannon runs in this process: its first second runs cold, and is dropped.
    await keepAlive(running[0]?.port as number, CONNECTIONS, 1);
    const rps = new Map<string, number[]>();
    let errors = 0;
    for (let round = 0; round < KEEP_ALIVE_ROUNDS; round++) {
      for (const { v, port } of turns(round)) {
        const r = await keepAlive(port, v.clients, SECONDS);
        rps.set(v.name, [...(rps.get(v.name) ?? []), r.rps]);
        errors += r.errors;
      }
    }
    // The connection rate, and the primary's CPU time over exactly CLOSES connections per variant.
    const close = new Map<string, { rps: number[]; p99: number[]; cpuMs: number }>();
    for (let round = 0; round < CLOSE_ROUNDS; round++) {
      for (const { v, port, started } of turns(round)) {
        const primary = started.primary();
        const cpu0 = cpuMs(primary);
        const r = await closeLoad(port, CLOSES / CLOSE_ROUNDS, v.clients);
        const c = close.get(v.name) ?? { rps: [], p99: [], cpuMs: 0 };
        c.rps.push(r.rps);
        c.p99.push(r.p99);
        c.cpuMs += cpuMs(primary) - cpu0;
        close.set(v.name, c);
        errors += r.errors;
      }
    }
    const summary: Record<
      string,
      {
        keepAlive: number;
        close: number;
        closeP99: number;
        cpuMsPer10k: number;
        keepAliveSamples: number[];
        closeSamples: number[];
      }
    > = {};
    for (const { v } of running) {
      const c = close.get(v.name);
      summary[v.name] = {
        keepAlive: Math.round(median(rps.get(v.name) ?? [])),
        close: Math.round(median(c?.rps ?? [])),
        closeP99: round1(median(c?.p99 ?? [])),
        cpuMsPer10k: Math.round(((c?.cpuMs ?? Number.NaN) * 10_000) / CLOSES),
        keepAliveSamples: (rps.get(v.name) ?? []).map(Math.round),
        closeSamples: (c?.rps ?? []).map(Math.round),
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
          'close p99 ms',
          'primary CPU ms / 10k',
        ],
        ...Object.entries(summary).map(([name, s]) => [
          name,
          s.keepAlive,
          (s.keepAlive / (rr?.keepAlive ?? Number.NaN)).toFixed(2),
          s.close,
          (s.close / (rr?.close ?? Number.NaN)).toFixed(2),
          s.closeP99,
          s.cpuMsPer10k,
        ]),
      ]),
    );
    console.log(`${errors} errors`);
    return { ...summary, errors };
  } finally {
    for (const { started } of running) await started.stop();
  }
}

const started = Date.now();
const seedResult = await seedScenario();
console.log('');
const loadResult = await loadScenario();
console.log(
  `\nseed: ${FAST} /fast requests, /slow ${SLOW_MS} ms, 4 workers; load: ${KEEP_ALIVE_ROUNDS} rounds of ${SECONDS} s keep-alive, ${CLOSES} Connection: close requests in ${CLOSE_ROUNDS} rounds; ${Math.round((Date.now() - started) / 1000)} s`,
);
// Other work on the machine shows in every figure: the load average says how much there was.
const load1 = loadavg().map((x) => x.toFixed(2));
console.log(`load average at the end: ${load1.join(' ')}`);
console.log(
  `written to ${writeResult('balancing', { seed: seedResult, load: loadResult, fast: FAST, rounds: KEEP_ALIVE_ROUNDS, seconds: SECONDS, closes: CLOSES, loadavg: load1 })}`,
);
