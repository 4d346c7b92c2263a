// What a reload costs a program's clients (issue 29), for one instance of the same Python HTTP server
// (`bench/apps/py-http.py`) under steady loopback traffic (4 loops, a fresh connection per request, 2 ms
// apart):
// - clusterd with `listen` (socket activation) and the default start-first reload: the new instance
//   accepts on the socket the old one shares, so nothing should be refused;
// - clusterd on a fixed port the program binds itself, `reload.order: "stop-first"`: the old instance
//   stops, then the new one starts (readiness: an HTTP probe, which only the new one can answer);
// - PM2's fork mode on a fixed port, `pm2 reload` (which, in fork mode, stops and starts the process).
// Per round: the reload's time (signal/command to done), requests failed (refused) meanwhile, and the
// longest time no request succeeded, and the host's TCP sockets when it began (readiness "port" reads
// their whole table: its cost grows with them). Rounds interleaved; medians.
// Run: npm run build && node bench/programs-reload.ts [rounds]
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  launchClusterd,
  median,
  PY_HTTP,
  pythonExecutable,
  stop,
  table,
  tcpSockets,
  tempConfig,
  writeResult,
} from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const APP = PY_HTTP;
const PYTHON = pythonExecutable();
const LOOPS = 4;
const PACE_MS = 2;
/** Traffic goes on this long after the reload is done, so a late gap is seen. */
const AFTER_MS = 500;

interface Sample {
  reloadMs: number;
  failed: number;
  ok: number;
  /** The longest time no request succeeded, ms. */
  gapMs: number;
  /** TCP sockets of the host when the reload began: readiness "port" reads their whole table. */
  tcpSockets: number;
}

/** Sequential GETs on `LOOPS` loops until `stop()`; every answer and failure time-stamped. */
function traffic(port: number) {
  let running = true;
  const successes: number[] = [];
  let failed = 0;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  const loops = Array.from({ length: LOOPS }, async () => {
    while (running) {
      if (await once()) successes.push(performance.now());
      else failed += 1;
      // Paced (each request on a fresh connection leaves a TIME_WAIT socket behind, 60 s long): a run
      // should not grow the host's socket table, which readiness "port" reads, much beyond what it found.
      await sleep(PACE_MS);
    }
  });
  return {
    async stop(): Promise<{ ok: number; failed: number; gapMs: number }> {
      running = false;
      await Promise.all(loops);
      const times = [...successes].sort((a, b) => a - b);
      let gapMs = 0;
      for (let i = 1; i < times.length; i++) gapMs = Math.max(gapMs, (times[i] ?? 0) - (times[i - 1] ?? 0));
      return { ok: times.length, failed, gapMs };
    },
  };
}

async function clusterd(mode: 'listen' | 'stop-first'): Promise<Sample> {
  const port = await freePort();
  const app =
    mode === 'listen'
      ? { listen: { port, host: '127.0.0.1' }, readiness: 'port' }
      : {
          env: { PORT: String(port) },
          reload: { order: 'stop-first' },
          readiness: { http: `http://127.0.0.1:${port}/`, interval: '20ms' },
        };
  const { file } = tempConfig({ apps: [{ name: 'py', command: [PYTHON, '-u', APP], ...app }] });
  const { child, events, done } = launchClusterd(file, (e) => e.app === 'py' && e.to === 'running', 30_000);
  try {
    await done;
    await answering(port, 1);
    const load = traffic(port);
    await sleep(300);
    const from = events.length;
    const sockets = tcpSockets();
    const began = performance.now();
    child.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    let end: Record<string, unknown> | undefined;
    while (!end && Date.now() < deadline) {
      end = events.slice(from).find((e) => e.app === 'py' && (e.reload === 'done' || e.reload === 'failed'));
      if (!end) await sleep(5);
    }
    const reloadMs = performance.now() - began;
    if (end?.reload !== 'done')
      throw new Error(`clusterd ${mode}: reload ${String(end?.reload ?? 'timed out')}`);
    await sleep(AFTER_MS);
    return { reloadMs, ...(await load.stop()), tcpSockets: sockets };
  } finally {
    await stop(child);
  }
}

async function pm2Fork(): Promise<Sample> {
  const port = await freePort();
  const cli = pm2();
  try {
    const ecosystem = join(tempConfig({}).dir, 'ecosystem.config.json');
    writeFileSync(
      ecosystem,
      JSON.stringify({
        apps: [{ name: 'py', script: APP, interpreter: PYTHON, env: { PORT: String(port) } }],
      }),
    );
    cli.run(['start', ecosystem]);
    await answering(port, 1);
    const load = traffic(port);
    await sleep(300);
    const sockets = tcpSockets();
    const began = performance.now();
    // Not cli.run: a synchronous command would stop the traffic loops (this process's) for as long as
    // PM2 takes, and that stall would be counted as PM2's gap.
    await cli.runAsync(['reload', 'py']);
    await answering(port, 1);
    const reloadMs = performance.now() - began;
    await sleep(AFTER_MS);
    return { reloadMs, ...(await load.stop()), tcpSockets: sockets };
  } finally {
    cli.kill();
  }
}

const targets = {
  'clusterd, listen (socket activation), start-first': () => clusterd('listen'),
  'clusterd, fixed port, stop-first': () => clusterd('stop-first'),
  'PM2 fork mode, fixed port, pm2 reload': pm2Fork,
} as const;

const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
const names = Object.keys(targets) as (keyof typeof targets)[];
for (let round = 0; round < ROUNDS; round++) {
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
  for (const name of order) {
    const sample = await targets[name]();
    samples[name]?.push(sample);
    console.error(`round ${round + 1} ${name}: ${JSON.stringify(sample)}`);
  }
}

const rows: (string | number)[][] = [
  ['target', 'reload ms', 'failed', 'ok', 'longest gap ms', 'host TCP sockets'],
];
const summary: Record<string, object> = {};
for (const name of names) {
  const list = samples[name] ?? [];
  const m = (pick: (s: Sample) => number) => Math.round(median(list.map(pick)));
  const row = {
    reloadMs: m((s) => s.reloadMs),
    failed: m((s) => s.failed),
    ok: m((s) => s.ok),
    gapMs: m((s) => s.gapMs),
  };
  summary[name] = { ...row, samples: list };
  rows.push([
    name,
    row.reloadMs,
    `${row.failed} (${list.map((s) => s.failed).join(' ')})`,
    row.ok,
    `${row.gapMs} (${list.map((s) => Math.round(s.gapMs)).join(' ')})`,
    list.map((s) => s.tcpSockets).join(' '),
  ]);
}
console.log(table(rows));
console.log(writeResult('programs-reload', { rounds: ROUNDS, loops: LOOPS, targets: summary }));
