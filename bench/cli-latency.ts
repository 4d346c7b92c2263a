// CLI latency: wall time of `clusterd status` (whole process, to its exit) next to `pm2 list`, each
// against a running 2-worker app, runs interleaved; medians and the ratio.
// Run: npm run build && node bench/cli-latency.ts [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  CLUSTERD,
  freePort,
  median,
  ROOT,
  startClusterd,
  stop,
  table,
  tempConfig,
  writeResult,
} from './lib.ts';
import { pm2 } from './pm2.ts';

const RUNS = Number(process.argv[2] ?? 20);
const APP = join(ROOT, 'bench/apps/hello.cjs');

function timed(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): number {
  const start = performance.now();
  const r = spawnSync(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const { dir, file } = tempConfig({
  apps: [{ name: 'hello', script: APP, instances: 2, env: { PORT: await freePort() } }],
});
const { child } = await startClusterd(file, (e) => e.to === 'running');
const cli = pm2();
cli.run(['start', APP, '-i', '2', '--name', 'hello'], { PORT: String(await freePort()) });
const pm2Bin = join(ROOT, '.bench', 'pm2', 'node_modules', 'pm2', 'bin', 'pm2');
const samples = { clusterd: [] as number[], pm2: [] as number[] };
try {
  // One warm-up each (file cache), not counted.
  timed(process.execPath, [CLUSTERD, 'status'], { cwd: dir });
  execFileSync(process.execPath, [pm2Bin, 'list'], {
    env: { ...process.env, PM2_HOME: cli.home },
    stdio: 'ignore',
  });
  for (let i = 0; i < RUNS; i++) {
    samples.clusterd.push(timed(process.execPath, [CLUSTERD, 'status'], { cwd: dir }));
    samples.pm2.push(
      timed(process.execPath, [pm2Bin, 'list'], { env: { ...process.env, PM2_HOME: cli.home } }),
    );
  }
} finally {
  cli.kill();
  await stop(child);
}
const result = {
  runs: RUNS,
  clusterdStatusMs: Math.round(median(samples.clusterd)),
  pm2ListMs: Math.round(median(samples.pm2)),
};
console.log(
  table([
    ['command', 'median wall time (ms)', 'ratio'],
    ['clusterd status', result.clusterdStatusMs, (result.clusterdStatusMs / result.pm2ListMs).toFixed(2)],
    ['pm2 list', result.pm2ListMs, '1.00'],
  ]),
);
console.log(`\n${RUNS} runs each, interleaved; written to ${writeResult('cli-latency', result)}`);
