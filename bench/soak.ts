// Soak (issue 33): days of uptime in minutes. One root runs three small apps: `web` (2 workers of
// bench/apps/soak-web.cjs: reloaded, and its workers crashed, over and over), `other` (1 worker of
// bench/apps/hello.cjs: hard-restarted over and over, a new primary each time) and `chatty` (1 worker of
// bench/apps/soak-chatty.cjs, which writes as many log lines as it is sent `write` messages for). The work
// is cut into rounds; each round runs, at the same time:
//   - its share of the churn: `clusterd reload web`, a crash of a `web` worker (exit 1 after answering
//     /crash, or SIGKILL), each waited for until a new worker is ready; `clusterd restart other`;
//   - its share of the log lines, through worker -> primary -> root -> the root's stdout (a pipe read here);
//   - its share of the control commands and scrapes: `status`, `logs` (recent lines), and reads
//     of the health server (`/metrics`, `/readyz`), two at a time.
// Commands go through the programmatic client (dist/client), one control connection each, as the CLI
// does, without paying a process per command. At the end of each round, with the work settled, it samples
// RSS (/proc) and V8 heap used of the root, of `web`'s primary and of `chatty`'s primary. The heaps come
// from one /metrics scrape (counted with the others): the root's from prom-client's default metrics
// (`clusterd_root_nodejs_heap_size_used_bytes`), each primary's from `clusterd_primary_heap_used_bytes`,
// which the primary reads (v8.getHeapStatistics) when it answers the scrape it answers anyway: no extra
// message, no inspector, no snapshot. A least-squares line over the second half of the rounds (after the
// warm-up) gives each slope, in KiB per 1,000 churn operations and in MiB per hour of the soak (see
// FLAT below for the bound and why).
// Defaults: 10,000 churn operations (50 % reloads, 25 % crashes, 25 % restarts), 10,000,000 log lines,
// 100,000 commands and scrapes, in 100 rounds: about 80 minutes on this 2-core machine as it is shared
// (extrapolated: 2,000 / 2 M / 20,000 in 50 rounds took 16 to 20 minutes; the churn is the long pole, each reload,
// crash or restart waiting for its new worker to be ready). `--quick`: 400 / 400,000 / 4,000 in 20
// rounds, about 3 minutes. `--snapshots`: heap snapshots half-way and at the end (a debug run: each is a
// full GC and a pause), and the kinds of objects that grew. Not in CI, not in bench/all.ts.
// Run: npm run bench:soak [-- --quick] [-- --churn N --lines N --commands N --rounds N] [-- --snapshots]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { connect } from '../dist/index.js';
import { CLUSTERD, freePort, ROOT, rssKiB, stop, table, tempConfig, writeResult } from './lib.ts';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    churn: { type: 'string' },
    lines: { type: 'string' },
    commands: { type: 'string' },
    rounds: { type: 'string' },
    snapshots: { type: 'boolean', default: false },
  },
});
const count = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${value}`);
    process.exit(2);
  }
  return n;
};
const ROUNDS = count(opts.rounds, opts.quick ? 20 : 100, 'rounds');
const CHURN = count(opts.churn, opts.quick ? 400 : 10_000, 'churn');
const LINES = count(opts.lines, opts.quick ? 400_000 : 10_000_000, 'lines');
const COMMANDS = count(opts.commands, opts.quick ? 4_000 : 100_000, 'commands');
const share = (total: number, round: number) =>
  Math.floor((total * (round + 1)) / ROUNDS) - Math.floor((total * round) / ROUNDS);

/**
 * "Flat": what a slope must stay under, in KiB per 1,000 churn operations (each 1,000 comes with
 * 10,000 commands and scrapes and 1,000,000 log lines at the default mix): 1 KiB per reload, restart or
 * crash with its share of the rest, so less than 10 MiB over the default run once warm. A slope is
 * "yes" when it stays under it by 2 standard errors of the fit, "NO" when it is over it by as much,
 * else "within noise". Why this figure, and what it does not cover: docs/benchmarks.md.
 */
const FLAT_KIB_PER_1000 = 1024;
/**
 * A busy day of one service, to turn operations into uptime: 50 reloads, restarts and crashes, 7,200
 * commands and scrapes (Prometheus every 15 s: 5,760, and a `status` a minute: 1,440), 8.64 M log lines
 * (100 a second).
 */
const BUSY_DAY = { churn: 50, commands: 7_200, lines: 8_640_000 };

const WEB = join(ROOT, 'bench/apps/soak-web.cjs');
const HELLO = join(ROOT, 'bench/apps/hello.cjs');
const CHATTY = join(ROOT, 'bench/apps/soak-chatty.cjs');

const [webPort, otherPort, healthPort] = [await freePort(), await freePort(), await freePort()];
// Fast restarts and reloads (tiny workers), and no crash-loop limit: the churn is the point.
const quick = {
  readySettle: '0s',
  restart: { stableAfter: '100ms', maxRestarts: 100_000, backoff: { initial: '10ms' } },
};
const { dir, file } = tempConfig({
  health: { port: healthPort },
  apps: [
    { name: 'web', script: WEB, instances: 2, env: { PORT: webPort }, ...quick },
    { name: 'other', script: HELLO, instances: 1, env: { PORT: otherPort }, ...quick },
    { name: 'chatty', script: CHATTY, instances: 1, readiness: 'loaded', ...quick },
  ],
});

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// The root, its stdout read here: the apps' lines arrive there, and each batch's last line is looked for.
// With --snapshots, every process of the tree writes a heap snapshot on SIGPWR (see `snapshot` below).
const root = spawn(process.execPath, [CLUSTERD, 'start', '--log-format', 'json', file], {
  stdio: ['ignore', 'pipe', 'inherit'],
  cwd: dir,
  env: opts.snapshots
    ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGPWR` }
    : process.env,
});
// Ends the root whatever happens here (an error thrown in a handler does not reach the finally below).
process.on('exit', () => root.kill('SIGTERM'));
let stdoutBytes = 0;
const batchWaiters = new Map<number, () => void>();
// Before the work: the three apps' "running"; then the end of each batch of lines (found across the
// boundary of two chunks too).
let onRunning = () => {};
const running = new Promise<void>((resolve, reject) => {
  onRunning = resolve;
  root.once('exit', (code, signal) => reject(new Error(`clusterd exited early (${signal ?? code})`)));
});
let apps = 0;
let tail = Buffer.alloc(0);
root.stdout?.on('data', (chunk: Buffer) => {
  stdoutBytes += chunk.length;
  if (apps < 3) {
    for (let at = chunk.indexOf('"to":"running"'); at !== -1; at = chunk.indexOf('"to":"running"', at + 1))
      if (++apps === 3) onRunning();
    return;
  }
  if (batchWaiters.size === 0) return;
  const text = Buffer.concat([tail, chunk]);
  for (const [batch, done] of batchWaiters)
    if (text.includes(`soak-batch ${batch} done`)) {
      batchWaiters.delete(batch);
      done();
    }
  tail = text.subarray(Math.max(0, text.length - 64));
});

/** What a heap snapshot holds, by kind of object (V8's node type and name): count and bytes. */
function heapSummary(path: string): { total: number; kinds: Map<string, { count: number; bytes: number }> } {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const fields: string[] = snapshot.snapshot.meta.node_fields;
  const types: string[] = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const kinds = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const t = types[snapshot.nodes[i + type]] as string;
    const n = /string|number|code/.test(t)
      ? `(${t})`
      : String(snapshot.strings[snapshot.nodes[i + name]]).slice(0, 60);
    const key = `${t}: ${n}`;
    const kind = kinds.get(key) ?? { count: 0, bytes: 0 };
    kind.count++;
    kind.bytes += snapshot.nodes[i + size];
    total += snapshot.nodes[i + size];
    kinds.set(key, kind);
  }
  return { total, kinds };
}

/**
 * --snapshots (a debug run: each snapshot is a full GC and a pause): heap snapshots of the root and the
 * two primaries, written in the config's directory; resolves with their paths by process.
 */
async function snapshot(pids: Record<string, number>): Promise<Record<string, string>> {
  const before = new Set(readdirSync(dir));
  for (const pid of Object.values(pids)) process.kill(pid, 'SIGPWR');
  const found: Record<string, string> = {};
  for (let waited = 0; waited < 120_000; waited += 200) {
    await sleep(200);
    for (const f of readdirSync(dir)) {
      if (before.has(f) || !f.endsWith('.heapsnapshot')) continue;
      for (const [proc, pid] of Object.entries(pids)) if (f.includes(`.${pid}.`)) found[proc] = join(dir, f);
    }
    if (Object.keys(found).length === Object.keys(pids).length) {
      // Each is written from its process's main thread: complete once its size holds for a second.
      const sizes = () =>
        Object.values(found)
          .map((f) => statSync(f).size)
          .join();
      for (let was = sizes(); ; ) {
        await sleep(1_000);
        const now = sizes();
        if (now === was) return found;
        was = now;
      }
    }
  }
  throw new Error(
    `heap snapshots missing: ${Object.keys(pids)
      .filter((p) => !found[p])
      .join(', ')}`,
  );
}

/** What grew between two snapshots of one process: its retained total, and the kinds that grew most. */
function heapGrowth(a: string, b: string): { fromMiB: number; toMiB: number; grew: string[] } {
  const [x, y] = [heapSummary(a), heapSummary(b)];
  const grew = [...y.kinds]
    .map(([key, k]) => {
      const was = x.kinds.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: k.count - was.count, bytes: k.bytes - was.bytes };
    })
    .sort((p, q) => q.bytes - p.bytes)
    .slice(0, 8)
    .map(
      (g) =>
        `${g.key} ${g.count >= 0 ? '+' : ''}${g.count} (${g.bytes >= 0 ? '+' : ''}${(g.bytes / 1024).toFixed(1)} KiB)`,
    );
  return { fromMiB: +(x.total / 2 ** 20).toFixed(2), toMiB: +(y.total / 2 ** 20).toFixed(2), grew };
}

const started = performance.now();
try {
  await running;
  const client = await connect({ config: file, cwd: dir });
  const events = client.events();
  await events.ready;
  // Waiters for the next worker of an app to be ready, fed by one events stream.
  const readyWaiters: { app: string; resolve: () => void }[] = [];
  void (async () => {
    for await (const event of events) {
      if (event.to !== 'ready') continue;
      const at = readyWaiters.findIndex((w) => w.app === event.app);
      if (at !== -1) readyWaiters.splice(at, 1)[0]?.resolve();
    }
  })().catch(() => {});
  const nextReady = (app: string) =>
    new Promise<void>((resolve) => readyWaiters.push({ app, resolve: () => resolve() }));

  const status0 = await client.status();
  const primaryOf = (s: typeof status0, app: string) => s.apps.find((a) => a.name === app)?.primary ?? 0;
  const pids = {
    root: root.pid as number,
    web: primaryOf(status0, 'web'),
    chatty: primaryOf(status0, 'chatty'),
  };

  const done = { reloads: 0, crashes: 0, restarts: 0, lines: 0, commands: 0, scrapes: 0 };
  let crashKind = 0;
  async function crash(): Promise<void> {
    const ready = nextReady('web');
    if (crashKind++ % 2 === 0) await get(webPort, '/crash');
    else {
      const status = await client.status();
      const pid = status.apps.find((a) => a.name === 'web')?.workers.find((w) => w.state === 'ready')?.pid;
      if (pid) process.kill(pid, 'SIGKILL');
    }
    await ready;
    done.crashes++;
  }
  /** The round's churn: on `web` reloads and crashes one after the other, beside `other`'s restarts. */
  async function churn(n: number): Promise<void> {
    const restarts = Math.floor(n / 4);
    const crashes = Math.floor(n / 4);
    const reloads = n - restarts - crashes;
    const onWeb = async () => {
      let crashed = 0;
      for (let i = 0; i < reloads + crashes; i++) {
        // The crashes among the reloads, one in two while there are some left.
        if (i % 2 === 1 && crashed < crashes) {
          crashed++;
          await crash();
        } else {
          await client.reload('web');
          done.reloads++;
        }
      }
    };
    const onOther = async () => {
      for (let i = 0; i < restarts; i++) {
        await client.restart('other');
        done.restarts++;
      }
    };
    await Promise.all([onWeb(), onOther()]);
  }
  let batch = 0;
  async function logLines(n: number): Promise<void> {
    const id = batch++;
    const written = new Promise<void>((resolve) => batchWaiters.set(id, resolve));
    await client.send('chatty', 'write', { lines: n, batch: id });
    await written;
    done.lines += n;
  }
  let lastScrape = '';
  async function command(i: number): Promise<void> {
    switch (i % 4) {
      case 0:
        await client.status();
        break;
      case 1:
        lastScrape = await get(healthPort, '/metrics');
        done.scrapes++;
        break;
      case 2:
        for await (const _ of client.logs({ app: 'web', lines: 20 }));
        break;
      default:
        await get(healthPort, '/readyz');
    }
    done.commands++;
  }
  async function commands(n: number): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < n) await command(next++);
    };
    await Promise.all([lane(), lane()]);
  }

  const gauge = (text: string, name: string): number => {
    const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 / 1024 : Number.NaN;
  };
  interface Sample {
    round: number;
    s: number;
    rss: { root: number; web: number; chatty: number };
    heap: { root: number; web: number; chatty: number };
  }
  const samples: Sample[] = [];
  function sample(round: number): Sample {
    const text = lastScrape;
    const s: Sample = {
      round,
      s: +((performance.now() - started) / 1000).toFixed(1),
      rss: {
        root: rssKiB(pids.root) / 1024,
        web: rssKiB(pids.web) / 1024,
        chatty: rssKiB(pids.chatty) / 1024,
      },
      heap: {
        root: gauge(text, 'clusterd_root_nodejs_heap_size_used_bytes'),
        web: gauge(text, 'clusterd_primary_heap_used_bytes\\{app="web"\\}'),
        chatty: gauge(text, 'clusterd_primary_heap_used_bytes\\{app="chatty"\\}'),
      },
    };
    samples.push(s);
    return s;
  }

  const snapshots: Record<string, string>[] = [];
  lastScrape = await get(healthPort, '/metrics');
  sample(0);
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all([
      churn(share(CHURN, round)),
      logLines(share(LINES, round)),
      commands(share(COMMANDS, round)),
    ]);
    // The sample's heaps come from a scrape after the round's work settled.
    lastScrape = await get(healthPort, '/metrics');
    done.scrapes++;
    done.commands++;
    const s = sample(round + 1);
    if (opts.snapshots && (round + 1 === Math.floor(ROUNDS / 2) || round + 1 === ROUNDS))
      snapshots.push(await snapshot(pids));
    if ((round + 1) % Math.max(1, Math.floor(ROUNDS / 10)) === 0)
      console.error(
        `round ${round + 1}/${ROUNDS} at ${s.s} s: RSS root ${s.rss.root.toFixed(1)} web ${s.rss.web.toFixed(1)} chatty ${s.rss.chatty.toFixed(1)} MiB, heap root ${s.heap.root.toFixed(1)} web ${s.heap.web.toFixed(1)} chatty ${s.heap.chatty.toFixed(1)} MiB`,
      );
  }
  const final = await client.status();
  for (const app of ['web', 'chatty'] as const)
    if (primaryOf(final, app) !== pids[app])
      throw new Error(`${app}'s primary changed: its samples mix two processes`);
  events.close();
  client.close();
  const seconds = (performance.now() - started) / 1000;

  /** Least squares of y over x: slope, and its standard error. */
  function leastSquares(points: [number, number][]): { slope: number; se: number } {
    const n = points.length;
    const mx = points.reduce((a, [x]) => a + x, 0) / n;
    const my = points.reduce((a, [, y]) => a + y, 0) / n;
    const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
    const slope = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
    const residual = points.reduce((a, [x, y]) => a + (y - my - slope * (x - mx)) ** 2, 0);
    return { slope, se: Math.sqrt(residual / (n - 2) / sxx) };
  }
  const half = samples.filter((s) => s.round >= ROUNDS / 2);
  const churnPerRound = CHURN / ROUNDS;
  // What the run stands for, at a busy service's rates (BUSY_DAY), each kind of work on its own.
  const days = {
    churn: CHURN / BUSY_DAY.churn,
    commands: COMMANDS / BUSY_DAY.commands,
    lines: LINES / BUSY_DAY.lines,
  };
  const roundsPerHour = ROUNDS / (seconds / 3600);
  const rows: (string | number)[][] = [
    [
      '',
      'start MiB',
      'mid MiB',
      'end MiB',
      'KiB/1000 ops (second half)',
      '± 2 SE',
      'MiB per hour of soak',
      'flat',
    ],
  ];
  const slopes: Record<string, object> = {};
  for (const kind of ['rss', 'heap'] as const)
    for (const proc of ['root', 'web', 'chatty'] as const) {
      const { slope, se } = leastSquares(half.map((s) => [s.round, s[kind][proc]]));
      const per1000 = (slope * 1024 * 1000) / churnPerRound;
      const ci = (2 * se * 1024 * 1000) / churnPerRound;
      const perHour = slope * roundsPerHour;
      // Flat: under the bound with its noise (2 standard errors); growing: over it with its noise;
      // otherwise this run cannot tell (a longer one narrows the noise).
      const flat =
        per1000 + ci < FLAT_KIB_PER_1000 ? 'yes' : per1000 - ci > FLAT_KIB_PER_1000 ? 'NO' : 'within noise';
      const at = (i: number) => (samples[i]?.[kind][proc] ?? Number.NaN).toFixed(1);
      const label = `${kind === 'rss' ? 'RSS' : 'heap used'}, ${proc === 'root' ? 'root' : `${proc}'s primary`}`;
      rows.push([
        label,
        at(0),
        at(Math.floor(samples.length / 2)),
        at(samples.length - 1),
        per1000.toFixed(1),
        ci.toFixed(1),
        perHour.toFixed(2),
        flat,
      ]);
      slopes[`${kind}.${proc}`] = {
        startMiB: +at(0),
        midMiB: +at(Math.floor(samples.length / 2)),
        endMiB: +at(samples.length - 1),
        kibPer1000Churn: +per1000.toFixed(2),
        twoSeKib: +ci.toFixed(2),
        mibPerSoakHour: +perHour.toFixed(3),
        flat,
      };
    }
  console.log(table(rows));
  console.log(
    `\n${done.reloads} reloads, ${done.crashes} crashes, ${done.restarts} restarts, ${done.lines} log lines (${(stdoutBytes / 2 ** 30).toFixed(2)} GiB of root output), ${done.commands} commands and scrapes (${done.scrapes} /metrics) in ${ROUNDS} rounds, ${seconds.toFixed(0)} s.`,
  );
  console.log(
    `Slopes: least squares over rounds ${Math.ceil(ROUNDS / 2)}..${ROUNDS}; 1000 ops = 1,000 reloads/restarts/crashes with ${(COMMANDS / CHURN) * 1000} commands and ${(LINES / CHURN) * 1000} lines; at a busy day's rates (${BUSY_DAY.churn} churn, ${BUSY_DAY.commands} commands, ${BUSY_DAY.lines} lines) this run is ${days.churn.toFixed(0)} days of churn, ${days.commands.toFixed(1)} of commands, ${days.lines.toFixed(1)} of log lines; flat: < ${FLAT_KIB_PER_1000} KiB per 1000 ops.`,
  );
  const heaps: Record<string, object> = {};
  const [mid, end] = snapshots;
  if (mid && end) {
    console.log('\nRetained heap (heap snapshots, after a full GC), half-way and at the end:');
    for (const proc of Object.keys(mid)) {
      const growth = heapGrowth(mid[proc] as string, end[proc] as string);
      heaps[proc] = growth;
      console.log(
        `${proc}: ${growth.fromMiB} -> ${growth.toMiB} MiB; grew most:\n  ${growth.grew.join('\n  ')}`,
      );
    }
  }
  const name = opts.snapshots ? 'soak-snapshots' : opts.quick ? 'soak-quick' : 'soak';
  const out = writeResult(name, {
    rounds: ROUNDS,
    churn: CHURN,
    lines: LINES,
    commands: COMMANDS,
    done,
    seconds: Math.round(seconds),
    flatKibPer1000: FLAT_KIB_PER_1000,
    busyDay: BUSY_DAY,
    busyDays: days,
    slopes,
    ...(opts.snapshots ? { heapSnapshots: heaps } : {}),
    samples: samples.map((s) => ({
      round: s.round,
      s: s.s,
      rss: Object.fromEntries(Object.entries(s.rss).map(([k, v]) => [k, +v.toFixed(2)])),
      heap: Object.fromEntries(Object.entries(s.heap).map(([k, v]) => [k, +v.toFixed(2)])),
    })),
  });
  console.log(`written to ${out}`);
} finally {
  await stop(root, 'SIGTERM', 30_000);
  // The config, and the heap snapshots (tens of MiB each) once read.
  rmSync(dir, { recursive: true, force: true });
}
