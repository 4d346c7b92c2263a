// The resource guards, measured:
// 1. A leaking app (2 workers, every request keeps LEAK_KB) under a steady keep-alive load, with a
//    memory limit of LIMIT: clusterd's guards.memory.limit (RSS read every second) next to PM2's
//    max_memory_restart, as PM2 checks it by default (every 30 s) and with PM2_WORKER_INTERVAL=1000.
//    For each: failed requests, workers replaced, and the peak RSS of any worker past the limit.
// 2. The heartbeat's cost on keep-alive throughput: the "hello" app under clusterd without guards, with
//    a heartbeat every second (guards.heartbeat) and every 100 ms, and under bare node:cluster.
// Run: npm run build && node bench/guards.ts [leak seconds] [rounds] [seconds per round]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, median, ROOT, rssKiB, table, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering, bare, clusterd, type Target } from './targets.ts';

const LEAK_SECONDS = Number(process.argv[2] ?? 45);
const ROUNDS = Number(process.argv[3] ?? 4);
const SECONDS = Number(process.argv[4] ?? 5);
const LIMIT_MB = 150;
const LEAK_KB = 16;
const RATE = 1_000;
const LEAKY = join(ROOT, 'bench/apps/leaky.cjs');
const HELLO = join(ROOT, 'bench/apps/hello.cjs');

/** A clusterd target whose app has these guards. */
const guarded = (name: string, guards: object, env: Record<string, string> = {}): Target =>
  clusterd('round-robin', { name, app: { guards, env } });

const pm2Leaky = (name: string, env: Record<string, string>): Target => ({
  name,
  async start(app, port, workers) {
    const cli = pm2();
    cli.run(['start', app, '-i', String(workers), '--name', 'app', '--max-memory-restart', `${LIMIT_MB}M`], {
      ...env,
      PORT: String(port),
    });
    return { stop: async () => cli.kill() };
  },
});

async function leak(make: (env: Record<string, string>) => Target) {
  const pids = mkdtempSync(join(tmpdir(), 'clusterd-bench-pids-'));
  const env = { PID_DIR: pids, LEAK_KB: String(LEAK_KB) };
  const target = make(env);
  const port = await freePort();
  const running = await target.start(LEAKY, port, 2);
  await answering(port, 2);
  let peak = 0;
  const samples = new Map<string, { at: number; rss: number }[]>();
  const sampler = setInterval(() => {
    const at = performance.now();
    for (const pid of readdirSync(pids)) {
      try {
        // NaN for a zombie (no VmRSS line): it holds no memory any more.
        const rss = rssKiB(Number(pid)) * 1024;
        if (!(rss > 0)) continue;
        if (rss > peak) peak = rss;
        samples.set(pid, [...(samples.get(pid) ?? []), { at, rss }]);
      } catch {
        // Gone.
      }
    }
  }, 50);
  const connections = 10;
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    connectionRate: RATE / connections,
    duration: LEAK_SECONDS,
  });
  clearInterval(sampler);
  await running.stop();
  const workers = readdirSync(pids).length;
  rmSync(pids, { recursive: true, force: true });
  // The most any worker grew in one second (clusterd's check interval), for scale.
  let grew = 0;
  for (const list of samples.values())
    for (let i = 0, j = 0; i < list.length; i++) {
      const from = list[i] as { at: number; rss: number };
      while (j < list.length && (list[j] as { at: number }).at < from.at + 1_000) j++;
      if (j < list.length) grew = Math.max(grew, (list[j] as { rss: number }).rss - from.rss);
    }
  return {
    target: target.name,
    grewPerSecondMB: Math.round(grew / 1024 ** 2),
    requests: r.requests.total,
    failed: r.errors + r.non2xx + r.timeouts + r.resets,
    replaced: workers - 2,
    peakMB: Math.round(peak / 1024 ** 2),
    overshootMB: Math.round(peak / 1024 ** 2 - LIMIT_MB),
  };
}

const leaks = [];
for (const make of [
  (env: Record<string, string>) =>
    guarded('clusterd (guards.memory.limit)', { memory: { limit: `${LIMIT_MB}MB` } }, env),
  (env: Record<string, string>) => pm2Leaky('PM2 max_memory_restart', env),
  (env: Record<string, string>) =>
    pm2Leaky('PM2 max_memory_restart, PM2_WORKER_INTERVAL=1000', { ...env, PM2_WORKER_INTERVAL: '1000' }),
]) {
  const result = await leak(make);
  console.error(`${result.target}: ${JSON.stringify(result)}`);
  leaks.push(result);
}
console.log(
  table([
    [
      'target',
      'requests',
      'failed',
      'workers replaced',
      'peak RSS MB',
      `past the ${LIMIT_MB} MB limit`,
      'most a worker grew in 1 s',
    ],
    ...leaks.map((l) => [
      l.target,
      l.requests,
      l.failed,
      l.replaced,
      l.peakMB,
      `${l.overshootMB} MB`,
      `${l.grewPerSecondMB} MB`,
    ]),
  ]),
);
console.log(
  `\n${LEAK_SECONDS} s at ${RATE} req/s over 10 keep-alive connections, ${LEAK_KB} KB kept per request, 2 workers, RSS sampled every 50 ms\n`,
);

// The heartbeat's cost.
const heartbeat = (interval: string) => ({ heartbeat: { timeout: '10s', interval } });
const targets: Target[] = [
  guarded('clusterd, no guards', {}),
  guarded('clusterd, heartbeat every 1s', heartbeat('1s')),
  guarded('clusterd, heartbeat every 100ms', heartbeat('100ms')),
  bare,
];
const runs = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const target of [
    ...targets.slice(round % targets.length),
    ...targets.slice(0, round % targets.length),
  ]) {
    const port = await freePort();
    const running = await target.start(HELLO, port, 2);
    await answering(port, 2);
    const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, duration: SECONDS });
    await running.stop();
    runs.set(target.name, [...(runs.get(target.name) ?? []), r.requests.average]);
    console.error(`round ${round + 1}: ${target.name}: ${Math.round(r.requests.average)} req/s`);
  }
}
const rps = Object.fromEntries([...runs].map(([name, values]) => [name, Math.round(median(values))]));
const base = rps['clusterd, no guards'] ?? 1;
console.log(
  table([
    ['target', 'keep-alive req/s', 'runs', 'this / clusterd without guards'],
    ...Object.entries(rps).map(([name, value]) => [
      name,
      value,
      (runs.get(name) ?? []).map((v) => Math.round(v)).join(' '),
      (value / base).toFixed(2),
    ]),
  ]),
);
console.log(
  `\n${ROUNDS} rounds of ${SECONDS} s, 50 connections; written to ${writeResult('guards', { leaks, heartbeat: rps, limitMB: LIMIT_MB, leakKB: LEAK_KB, rate: RATE, leakSeconds: LEAK_SECONDS })}`,
);
