// Crash recovery: SIGKILL one worker of a 2-worker app and time until a new worker process answers,
// under clusterd, bare node:cluster (its primary forks on exit) and PM2. Rounds interleaved; medians.
// Run: npm run build && node bench/crash-recovery.ts [rounds]
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, median, ROOT, table, writeResult } from './lib.ts';
import { answering, bare, clusterd, pm2Target, type Target } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const APP = join(ROOT, 'bench/apps/hello.cjs');
const targets: Target[] = [clusterd(), bare, pm2Target()];

async function recovery(target: Target): Promise<number> {
  const port = await freePort();
  const running = await target.start(APP, port, 2);
  const before = await answering(port, 2);
  const [victim] = [...before];
  const killed = performance.now();
  process.kill(Number(victim), 'SIGKILL');
  // A pid never seen before answering means the replacement is serving. A request that node:cluster
  // hands to the dying worker is lost: it is abandoned after 50 ms, which bounds the resolution.
  for (;;) {
    const pid = await fetch(`http://127.0.0.1:${port}/pid`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(50),
    }).then(
      (r) => r.text(),
      () => null,
    );
    if (pid && !before.has(pid.trim())) break;
    await sleep(2);
  }
  const ms = performance.now() - killed;
  await running.stop();
  return ms;
}

const samples = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const target of targets)
    samples.set(target.name, [...(samples.get(target.name) ?? []), await recovery(target)]);
}
const summary = Object.fromEntries([...samples].map(([name, ms]) => [name, Math.round(median(ms))]));
const ours = summary.clusterd ?? 0;
console.log(
  table([
    ['target', 'SIGKILL to replacement answering (ms)', 'clusterd / this'],
    ...Object.entries(summary).map(([name, ms]) => [name, ms, (ours / ms).toFixed(2)]),
  ]),
);
console.log(`\n${ROUNDS} rounds; written to ${writeResult('crash-recovery', summary)}`);
