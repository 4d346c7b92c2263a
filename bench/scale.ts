// Cost at scale (issue 33): 1, 5 and 20 apps of 2 "hello" workers, and one app of 2, 8 and 32 workers,
// each run by clusterd and by PM2 (cluster mode) in the same run. For each: the whole tree's PSS and RSS
// (the manager and every process under it), the time from the start command until every app answers,
// `clusterd status` / `pm2 list` (median of 5 CLI runs), a reload of everything (`clusterd reload` /
// `pm2 reload all`), and for clusterd a `/metrics` scrape (median of 5). Then how each grows: per app
// (1 -> 20 apps) and per worker (2 -> 32 workers). The row `20 x 2, one shared primary` runs the same
// 20 apps with `primaryGroup` (docs/shared-primaries.md): one primary process for all of them; its PM2
// column is PM2 again, run right after it.
// Run: npm run build && node bench/scale.ts   (or npm run bench:scale)
// Some rows only: SCALE_ROWS="20x2,20x2-shared" node bench/scale.ts (the per-app and per-worker growth
// lines need the 1x2, 20x2 and 1x32 rows).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLUSTERD,
  descendants,
  freePort,
  launchClusterd,
  median,
  pssKiB,
  ROOT,
  rssKiB,
  stop,
  table,
  tempConfig,
  writeResult,
} from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const APP = join(ROOT, 'bench/apps/hello.cjs');
const SETTLE_MS = 1_500;
const REPEAT = 5;

const tree = (pid: number): number[] => [pid, ...descendants(pid)];
const memory = (pid: number) => {
  const pids = tree(pid);
  const sum = (f: (p: number) => number) => +(pids.reduce((a, p) => a + f(p), 0) / 1024).toFixed(1);
  return { processes: pids.length, pssMiB: sum(pssKiB), rssMiB: sum(rssKiB) };
};

/** ms a command takes, as a user waits for it (process start to exit). */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = performance.now();
  execFileSync(command, args, { env, stdio: 'ignore' });
  return performance.now() - started;
}
const medianOf = (f: () => number) => +median(Array.from({ length: REPEAT }, f)).toFixed(0);

async function metricsMs(port: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    await res.text();
    times.push(performance.now() - started);
  }
  return +median(times).toFixed(1);
}

interface Shape {
  apps: number;
  workers: number;
  /** Every app in one `primaryGroup`: one shared primary. */
  shared?: boolean;
}

const label = (s: Shape) => `${s.apps} x ${s.workers}${s.shared ? ', one shared primary' : ''}`;
const key = (s: Shape) => `${s.apps}x${s.workers}${s.shared ? '-shared' : ''}`;

async function clusterd({ apps, workers, shared }: Shape) {
  const ports = await Promise.all(Array.from({ length: apps }, () => freePort()));
  const health = await freePort();
  const { file } = tempConfig({
    health: { port: health },
    apps: ports.map((port, i) => ({
      name: `app${i}`,
      script: APP,
      instances: workers,
      env: { PORT: port },
      ...(shared ? { primaryGroup: 'all' } : {}),
    })),
  });
  const started = performance.now();
  const { child, done } = launchClusterd(file, () => false, 60_000);
  done.catch(() => {});
  try {
    await Promise.all(ports.map((port) => answering(port, workers, 60_000)));
    const startMs = +(performance.now() - started).toFixed(0);
    await sleep(SETTLE_MS);
    const mem = memory(child.pid as number);
    const cli = (args: string[]) => timed(process.execPath, [CLUSTERD, ...args, '--config', file]);
    const statusMs = medianOf(() => cli(['status']));
    const scrapeMs = await metricsMs(health);
    const reloadMs = +cli(['reload']).toFixed(0);
    return { ...mem, startMs, statusMs, reloadMs, scrapeMs };
  } finally {
    await stop(child);
  }
}

async function pm2Run({ apps, workers }: Shape) {
  const ports = await Promise.all(Array.from({ length: apps }, () => freePort()));
  const cli = pm2();
  const { dir } = tempConfig({});
  const ecosystem = join(dir, 'ecosystem.json');
  writeFileSync(
    ecosystem,
    JSON.stringify({
      apps: ports.map((port, i) => ({
        name: `app${i}`,
        script: APP,
        instances: workers,
        exec_mode: 'cluster',
        env: { PORT: String(port) },
      })),
    }),
  );
  const bin = join(ROOT, '.bench/pm2/node_modules/pm2/bin/pm2');
  const env = { ...process.env, PM2_HOME: cli.home };
  try {
    const started = performance.now();
    // Not waited for: the apps answering is what is timed, as for clusterd.
    const starting = spawn(process.execPath, [bin, 'start', ecosystem], { env, stdio: 'ignore' });
    await Promise.all(ports.map((port) => answering(port, workers, 60_000)));
    const startMs = +(performance.now() - started).toFixed(0);
    await new Promise((resolve) =>
      starting.exitCode === null ? starting.once('exit', resolve) : resolve(null),
    );
    await sleep(SETTLE_MS);
    const daemon = Number(readFileSync(join(cli.home, 'pm2.pid'), 'utf8'));
    const mem = memory(daemon);
    const statusMs = medianOf(() => timed(process.execPath, [bin, 'list'], env));
    const reloadMs = +timed(process.execPath, [bin, 'reload', 'all'], env).toFixed(0);
    return { ...mem, startMs, statusMs, reloadMs, scrapeMs: null };
  } finally {
    cli.kill();
  }
}

const only = process.env.SCALE_ROWS?.split(',').map((s) => s.trim());
const shapes: Shape[] = [
  { apps: 1, workers: 2 },
  { apps: 5, workers: 2 },
  { apps: 20, workers: 2 },
  { apps: 20, workers: 2, shared: true },
  { apps: 1, workers: 8 },
  { apps: 1, workers: 32 },
].filter((s) => !only || only.includes(key(s)));
const results: {
  shape: Shape;
  clusterd: Awaited<ReturnType<typeof clusterd>>;
  pm2: Awaited<ReturnType<typeof pm2Run>>;
}[] = [];
for (const shape of shapes) {
  console.error(`${label(shape)} ...`);
  results.push({ shape, clusterd: await clusterd(shape), pm2: await pm2Run(shape) });
}

const ratio = (a: number, b: number) => (b > 0 ? +(a / b).toFixed(2) : '-');
console.log(
  table([
    [
      'apps x workers',
      'processes c/p',
      'tree PSS MiB c/p',
      'ratio',
      'tree RSS MiB c/p',
      'start ms c/p',
      'ratio',
      'status/list ms c/p',
      'ratio',
      'reload all ms c/p',
      'ratio',
      '/metrics ms',
    ],
    ...results.map(({ shape, clusterd: c, pm2: p }) => [
      label(shape),
      `${c.processes} / ${p.processes}`,
      `${c.pssMiB} / ${p.pssMiB}`,
      ratio(c.pssMiB, p.pssMiB),
      `${c.rssMiB} / ${p.rssMiB}`,
      `${c.startMs} / ${p.startMs}`,
      ratio(c.startMs, p.startMs),
      `${c.statusMs} / ${p.statusMs}`,
      ratio(c.statusMs, p.statusMs),
      `${c.reloadMs} / ${p.reloadMs}`,
      ratio(c.reloadMs, p.reloadMs),
      c.scrapeMs,
    ]),
  ]),
);
const at = (apps: number, workers: number) =>
  results.find((r) => r.shape.apps === apps && r.shape.workers === workers && !r.shape.shared);
const growth = (from: (typeof results)[number], to: (typeof results)[number], by: number) => ({
  clusterdPssMiB: +((to.clusterd.pssMiB - from.clusterd.pssMiB) / by).toFixed(1),
  pm2PssMiB: +((to.pm2.pssMiB - from.pm2.pssMiB) / by).toFixed(1),
});
const [one, twenty, wide] = [at(1, 2), at(20, 2), at(1, 32)];
const perApp = one && twenty ? growth(one, twenty, 19) : null;
const perWorker = one && wide ? growth(one, wide, 30) : null;
if (perApp)
  console.log(
    `\nPSS per app added (1 -> 20 apps of 2 workers): clusterd ${perApp.clusterdPssMiB} MiB, PM2 ${perApp.pm2PssMiB} MiB`,
  );
if (perWorker)
  console.log(
    `PSS per worker added (2 -> 32 workers of one app): clusterd ${perWorker.clusterdPssMiB} MiB, PM2 ${perWorker.pm2PssMiB} MiB`,
  );
const sharedRow = results.find((r) => r.shape.shared);
if (sharedRow && twenty)
  console.log(
    `20 x 2 tree PSS: one shared primary ${ratio(sharedRow.clusterd.pssMiB, sharedRow.pm2.pssMiB)}x PM2, a primary per app ${ratio(twenty.clusterd.pssMiB, twenty.pm2.pssMiB)}x PM2`,
  );
console.log(`\nwritten to ${writeResult('scale', { results, perApp, perWorker })}`);
