// Supervisor memory, for the same 2-worker HTTP app: clusterd's root + primary, a bare node:cluster
// primary, and PM2's daemon (its God process, which is also its cluster primary); per-worker memory of
// each. RSS and PSS (shared pages counted once). Rounds are interleaved; medians are reported.
// Run: npm run build && node bench/supervisor-memory.ts [rounds]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  lines,
  median,
  pssKiB,
  ROOT,
  rssKiB,
  startClusterd,
  stop,
  table,
  tempConfig,
  writeResult,
} from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const WORKERS = 2;
const APP = join(ROOT, 'bench/apps/hello.cjs');
// Let startup garbage settle before reading memory, the same for all.
const SETTLE_MS = 1_000;

const measure = (supervisor: number[], workers: number[]) => ({
  rss: { supervisor: supervisor.map(rssKiB), workers: workers.map(rssKiB) },
  pss: { supervisor: supervisor.map(pssKiB), workers: workers.map(pssKiB) },
});

async function clusterd() {
  const { file } = tempConfig({
    apps: [{ name: 'hello', script: APP, instances: WORKERS, env: { PORT: 0 } }],
  });
  const { child, events } = await startClusterd(file, (e) => e.to === 'running');
  await sleep(SETTLE_MS);
  const primary = events.find((e) => typeof e.primary === 'number')?.primary as number;
  const workers = events.filter((e) => e.to === 'ready').map((e) => e.pid as number);
  const sample = measure([child.pid as number, primary], workers);
  await stop(child);
  return sample;
}

async function bare() {
  const child = spawn(process.execPath, [join(ROOT, 'bench/apps/bare-cluster.cjs')], {
    env: { ...process.env, SCRIPT: APP, WORKERS: String(WORKERS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => lines(child, (l) => l.includes('"ready":true') && resolve()));
  await sleep(SETTLE_MS);
  const sample = measure([child.pid as number], readChildren(child.pid as number));
  await stop(child);
  return sample;
}

async function pm2Daemon() {
  const cli = pm2();
  const port = await freePort();
  try {
    cli.run(['start', APP, '-i', String(WORKERS), '--name', 'hello'], { PORT: String(port) });
    await answering(port, WORKERS);
    await sleep(SETTLE_MS);
    const daemon = Number(readFileSync(join(cli.home, 'pm2.pid'), 'utf8'));
    const list = JSON.parse(cli.run(['jlist'])) as { pid: number }[];
    return measure(
      [daemon],
      list.map((p) => p.pid),
    );
  } finally {
    cli.kill();
  }
}

function readChildren(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
}

type Measured = ReturnType<typeof measure>;
const samples: Record<'clusterd' | 'bare' | 'pm2', Measured[]> = { clusterd: [], bare: [], pm2: [] };
for (let round = 0; round < ROUNDS; round++) {
  samples.clusterd.push(await clusterd());
  samples.bare.push(await bare());
  samples.pm2.push(await pm2Daemon());
}
const mb = (kib: number) => +(kib / 1024).toFixed(1);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const summarize = (s: Measured[], kind: 'rss' | 'pss') => ({
  supervisorMiB: mb(median(s.map((m) => sum(m[kind].supervisor)))),
  parts: s[0]?.[kind].supervisor.map((_, i) => mb(median(s.map((m) => m[kind].supervisor[i] ?? 0)))),
  workerMiB: mb(median(s.flatMap((m) => m[kind].workers))),
});
const result = Object.fromEntries(
  (['rss', 'pss'] as const).map((kind) => [
    kind,
    {
      clusterd: summarize(samples.clusterd, kind),
      bare: summarize(samples.bare, kind),
      pm2: summarize(samples.pm2, kind),
    },
  ]),
) as Record<'rss' | 'pss', Record<keyof typeof samples, ReturnType<typeof summarize>>>;

const ratio = (x: number, y: number) => (x / y).toFixed(2);
const rows: (string | number)[][] = [
  ['MiB', 'clusterd', 'bare node:cluster', 'PM2', 'clusterd / bare', 'clusterd / PM2'],
];
for (const kind of ['rss', 'pss'] as const) {
  const r = result[kind];
  rows.push([
    `supervisor ${kind.toUpperCase()}`,
    `${r.clusterd.supervisorMiB} (root ${r.clusterd.parts?.[0]} + primary ${r.clusterd.parts?.[1]})`,
    r.bare.supervisorMiB,
    r.pm2.supervisorMiB,
    ratio(r.clusterd.supervisorMiB, r.bare.supervisorMiB),
    ratio(r.clusterd.supervisorMiB, r.pm2.supervisorMiB),
  ]);
  rows.push([
    `per-worker ${kind.toUpperCase()}`,
    r.clusterd.workerMiB,
    r.bare.workerMiB,
    r.pm2.workerMiB,
    ratio(r.clusterd.workerMiB, r.bare.workerMiB),
    ratio(r.clusterd.workerMiB, r.pm2.workerMiB),
  ]);
}
console.log(table(rows));
console.log(
  `\n${ROUNDS} rounds, ${WORKERS} workers, medians; written to ${writeResult('supervisor-memory', { rounds: ROUNDS, workers: WORKERS, ...result })}`,
);
