// Balancing (issue 15): what least-connections and sticky buy and what they cost, next to round-robin,
// kernel, bare node:cluster and PM2, on bench/apps/slow-fast.cjs, loopback only.
// 1. The seed scenario: 4 workers, two CPU-bound /slow requests (1.5 s) always in flight, each on its
//    own connection; FAST /fast requests one after another, each on a new connection: p50/p99/max.
// 2. 2 workers, 50 connections (autocannon): keep-alive req/s for SECONDS, then CLOSES requests with
//    `Connection: close` (the connection rate), during which the primary's CPU time is read from /proc.
//    Variants interleaved (a, b, c, a, b, c), ROUNDS rounds, medians.
// Run: npm run build && node bench/balancing.ts [fast requests] [rounds] [seconds]
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, median, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';
import { bare, pm2Target, type Running, type Target } from './targets.ts';

const FAST = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 3);
const SECONDS = Number(process.argv[4] ?? 3);
const CLOSES = 10_000;
const CONNECTIONS = 50;
const SLOW_MS = 1500;
const APP = join(ROOT, 'bench/apps/slow-fast.cjs');
const TICKS_PER_SECOND = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these

type Balancing = 'round-robin' | 'kernel' | 'least-connections' | 'sticky';

/** A started target and the pid of its process on the accept path (the primary). */
interface Started extends Running {
  primary(): number;
}
interface Measured extends Target {
  start(app: string, port: number, workers: number): Promise<Started>;
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, state.
function stat(pid: number | string): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(stat(d)[1]) === ppid;
      } catch {
        return false; // gone since readdir
      }
    })
    .map(Number);
}

function only(pids: number[], what: string): number {
  if (pids.length !== 1) throw new Error(`expected one ${what}, found ${pids.length}: ${pids.join(' ')}`);
  return pids[0] as number;
}

/** User + system CPU time of `pid`, in ms. */
function cpuMs(pid: number): number {
  const f = stat(pid);
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
}

const clusterd = (balancing: Balancing): Measured => ({
  name: `clusterd ${balancing}`,
  async start(app, port, workers) {
    const { file } = tempConfig({
      apps: [{ name: 'app', script: app, instances: workers, balancing, env: { PORT: port } }],
    });
    const { child } = await startClusterd(file, (e) => e.to === 'running');
    // The root supervisor runs one primary per app, as its only child.
    return { stop: () => stop(child), primary: () => only(childrenOf(child.pid as number), 'primary') };
  },
});

const bareCluster: Measured = {
  name: 'bare node:cluster',
  async start(app, port, workers) {
    const running = await bare.start(app, port, workers);
    const primary = () =>
      only(
        childrenOf(process.pid).filter((pid) =>
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bare-cluster.cjs'),
        ),
        'bare primary',
      );
    return { ...running, primary };
  },
};

// --- 1. the seed scenario

/** One GET on a new connection (no keep-alive): `started` when its headers arrive, `done` with its ms. */
function request(port: number, path: string, localAddress?: string) {
  const t0 = performance.now();
  const req = http.get({ host: '127.0.0.1', port, path, agent: false, localAddress });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  const done = response.then(
    (res) =>
      new Promise<{ ms: number; body: string }>((resolve, reject) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ ms: performance.now() - t0, body }));
        res.on('error', reject);
      }),
  );
  done.catch(() => {}); // an aborted /slow; callers that care await `done`
  return { started: response.then(() => {}), done, abort: () => req.destroy() };
}

/** Keeps one /slow request in flight (the next starts when one ends) until `stopped()`. */
async function slowLane(port: number, stopped: () => boolean, onStart: () => void, live: Set<() => void>) {
  while (!stopped()) {
    const slow = request(port, `/slow?ms=${SLOW_MS}`);
    live.add(slow.abort);
    try {
      await slow.started;
      onStart();
      await slow.done;
    } catch {
      // aborted at the end of the run
    }
    live.delete(slow.abort);
  }
}

/** /fast latencies, in ms, of FAST sequential requests, with two /slow in flight when `busy`. */
async function seed(port: number, busy: boolean): Promise<number[]> {
  let stopped = false;
  const live = new Set<() => void>();
  const lanes: Promise<void>[] = [];
  if (busy) {
    // Both /slow requests have begun (their headers came) before the first /fast is sent.
    await Promise.all(
      [0, 1].map(
        () =>
          new Promise<void>((resolve) => {
            lanes.push(slowLane(port, () => stopped, resolve, live));
          }),
      ),
    );
  }
  const ms: number[] = [];
  for (let i = 0; i < FAST; i++) ms.push((await request(port, '/fast').done).ms);
  stopped = true;
  for (const abort of live) abort();
  await Promise.all(lanes);
  return ms;
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

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
      const ms = await seed(port, c.busy);
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

// --- 2. keep-alive, connection rate and the primary's CPU

// Loopback traffic all comes from 127.0.0.1, which a sticky primary maps to one worker, as it would any
// single client. Many clients are simulated by binding each autocannon connection to another address
// of 127.0.0.0/8 (autocannon has no option for it; it calls net.connect(port, host)). The other
// variants get the same spread, so the comparison is fair, and it also keeps the server's TIME_WAIT
// sockets of a `Connection: close` load from colliding with new connections (one 4-tuple per port).
function spreadClients(count: number): () => void {
  const connect = net.connect;
  let next = 0;
  net.connect = ((port: number, host: string) =>
    connect({ port, host, localAddress: `127.0.0.${2 + (next++ % count)}` })) as typeof net.connect;
  return () => {
    net.connect = connect;
  };
}

/**
 * Resolves once `count` workers have answered /fast (with their pids). Requests go in concurrent batches, from rotating
 * client addresses: least-connections gives a lone sequential client the worker heard from last, again
 * and again, and sticky gives one address one worker.
 */
async function workersAnswer(port: number, count: number): Promise<void> {
  const pids = new Set<string>();
  const deadline = Date.now() + 30_000;
  for (let batch = 0; pids.size < count; batch++) {
    if (Date.now() > deadline) throw new Error(`only ${pids.size} of ${count} workers answered on ${port}`);
    const answers = await Promise.all(
      Array.from({ length: 2 * count }, (_, i) =>
        request(port, '/fast', `127.0.0.${2 + ((batch * 2 * count + i) % CONNECTIONS)}`).done.catch(
          () => null,
        ),
      ),
    );
    for (const answer of answers) if (answer) pids.add(answer.body.trim());
  }
}

const CLOSE_REQUEST = 'GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

/**
 * `total` requests, each on a new connection that the server closes (`Connection: close`), `CONNECTIONS`
 * at a time, from `clients` addresses. Not autocannon: with `Connection: close` and `amount`, autocannon 9
 * counted 5,000 of 10,000 requests, ended on whole seconds and reported a 700 ms mean latency at 5,000
 * req/s over 50 connections; this counts each response and times it from connect to close.
 */
async function closeLoad(port: number, total: number, clients: number) {
  let sent = 0;
  let errors = 0;
  const ms: number[] = [];
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const socket = net.connect({
        port,
        host: '127.0.0.1',
        ...(clients > 1 ? { localAddress: `127.0.0.${2 + (i % clients)}` } : {}),
      });
      let head = '';
      socket.setEncoding('latin1');
      socket.on('connect', () => socket.write(CLOSE_REQUEST));
      socket.on('data', (chunk: string) => {
        if (head.length < 12) head += chunk;
      });
      socket.on('error', () => {}); // counted at close: no 200 came
      socket.on('close', () => {
        if (head.startsWith('HTTP/1.1 200')) ms.push(performance.now() - t0);
        else errors++;
        resolve();
      });
    });
  const loop = async () => {
    while (sent < total) await one(sent++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  return { rps: total / ((performance.now() - t0) / 1000), p99: percentile(ms, 99), errors };
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
