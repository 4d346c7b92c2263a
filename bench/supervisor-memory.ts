// Supervisor memory: RSS of clusterd's root + primary next to a bare node:cluster primary, and
// per-worker RSS, for the same 2-worker HTTP app. Rounds are interleaved; medians are reported.
// Run: npm run build && node bench/supervisor-memory.ts [rounds]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lines, median, ROOT, rssKiB, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const WORKERS = 2;
const APP = join(ROOT, 'bench/apps/hello.cjs');
// Let startup garbage settle before reading RSS, the same for both.
const SETTLE_MS = 1_000;

async function clusterd() {
  const { file } = tempConfig({
    apps: [{ name: 'hello', script: APP, instances: WORKERS, env: { PORT: 0 } }],
  });
  const { child, events } = await startClusterd(file, (e) => e.to === 'running');
  await sleep(SETTLE_MS);
  const primary = events.find((e) => typeof e.primary === 'number')?.primary as number;
  const workers = events.filter((e) => e.to === 'ready').map((e) => e.pid as number);
  const sample = {
    root: rssKiB(child.pid as number),
    primary: rssKiB(primary),
    workers: workers.map(rssKiB),
  };
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
  const workers = readChildren(child.pid as number);
  const sample = { primary: rssKiB(child.pid as number), workers: workers.map(rssKiB) };
  await stop(child);
  return sample;
}

function readChildren(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
}

const c: Awaited<ReturnType<typeof clusterd>>[] = [];
const b: Awaited<ReturnType<typeof bare>>[] = [];
for (let round = 0; round < ROUNDS; round++) {
  c.push(await clusterd());
  b.push(await bare());
}
const mb = (kib: number) => +(kib / 1024).toFixed(1);
const result = {
  rounds: ROUNDS,
  workers: WORKERS,
  clusterd: {
    rootMiB: mb(median(c.map((s) => s.root))),
    primaryMiB: mb(median(c.map((s) => s.primary))),
    supervisorMiB: mb(median(c.map((s) => s.root + s.primary))),
    workerMiB: mb(median(c.flatMap((s) => s.workers))),
  },
  bare: {
    primaryMiB: mb(median(b.map((s) => s.primary))),
    workerMiB: mb(median(b.flatMap((s) => s.workers))),
  },
};
const ratio = (x: number, y: number) => (x / y).toFixed(2);
console.log(
  table([
    ['', 'clusterd', 'bare node:cluster', 'ratio'],
    [
      'supervisor RSS (MiB)',
      `${result.clusterd.supervisorMiB} (root ${result.clusterd.rootMiB} + primary ${result.clusterd.primaryMiB})`,
      result.bare.primaryMiB,
      ratio(result.clusterd.supervisorMiB, result.bare.primaryMiB),
    ],
    [
      'per-worker RSS (MiB)',
      result.clusterd.workerMiB,
      result.bare.workerMiB,
      ratio(result.clusterd.workerMiB, result.bare.workerMiB),
    ],
  ]),
);
console.log(`\n${ROUNDS} rounds, medians; written to ${writeResult('supervisor-memory', result)}`);
