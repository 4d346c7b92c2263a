// Crash recovery: SIGKILL one worker of a 2-worker app and time until a new worker process answers,
// under clusterd, bare node:cluster (its primary forks on exit) and PM2. Rounds interleaved; medians.
// Run: npm run build && node bench/crash-recovery.ts [rounds]
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ROOT } from './lib.ts';
import { answering, bare, clusterd, compareTimings, pidAt, pm2Target, type Target } from './targets.ts';

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
    const pid = await pidAt(port, 50);
    if (pid && !before.has(pid)) break;
    await sleep(2);
  }
  const ms = performance.now() - killed;
  await running.stop();
  return ms;
}

await compareTimings('crash-recovery', 'SIGKILL to replacement answering (ms)', targets, ROUNDS, recovery);
