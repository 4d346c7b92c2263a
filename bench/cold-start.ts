// Cold start: from running the start command to every worker of a 2-worker app answering, under
// clusterd, bare node:cluster and PM2 (a fresh PM2_HOME each time, so its daemon starts too).
// Rounds interleaved; medians; ratios clusterd / other.
// Run: npm run build && node bench/cold-start.ts [rounds]
import { join } from 'node:path';
import { freePort, ROOT } from './lib.ts';
import { answering, bare, clusterd, compareTimings, pm2Target, type Target } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const APP = join(ROOT, 'bench/apps/hello.cjs');
const targets: Target[] = [clusterd(), bare, pm2Target()];

async function coldStart(target: Target): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const running = await target.start(APP, port, 2);
  await answering(port, 2);
  const ms = performance.now() - started;
  await running.stop();
  return ms;
}

await compareTimings('cold-start', 'command to all workers answering (ms)', targets, ROUNDS, coldStart);
