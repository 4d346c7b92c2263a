// Watch mode's idle cost: a project of ~20,000 files (19,000 under node_modules, 1,000 sources),
// run by clusterd with and without `--watch`; CPU used by the root and the primary over an idle
// period, their RSS, and how long the watcher's first scan takes. Rounds are interleaved.
// Run: npm run build && node bench/watch-idle.ts [rounds] [idle seconds]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, ROOT, rssKiB, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const IDLE_S = Number(process.argv[3] ?? 10);

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function project(): string {
  const { dir } = tempConfig({});
  for (let p = 0; p < 190; p++) {
    const pkg = join(dir, 'node_modules', `pkg-${p}`, 'lib');
    mkdirSync(pkg, { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(pkg, `f${f}.js`), 'module.exports = 1;\n');
  }
  for (let d = 0; d < 50; d++) {
    const src = join(dir, 'src', `mod-${d}`);
    mkdirSync(src, { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(join(src, `f${f}.js`), 'module.exports = 1;\n');
  }
  writeFileSync(join(dir, 'server.cjs'), readFileSync(join(ROOT, 'bench/apps/hello.cjs')));
  return dir;
}

async function run(dir: string, watch: boolean) {
  const file = join(dir, 'cluster.config.json');
  writeFileSync(
    file,
    JSON.stringify({ apps: [{ name: 'app', script: 'server.cjs', instances: 2, env: { PORT: 0 }, watch }] }),
  );
  const started = performance.now();
  const { child, events } = await startClusterd(file, (e) =>
    watch ? Array.isArray(e.watching) : e.to === 'running',
  );
  const scanMs = performance.now() - started;
  const primary = events.find((e) => typeof e.primary === 'number')?.primary as number;
  const root = child.pid as number;
  await sleep(1_000);
  const before = cpuTicks(root) + cpuTicks(primary);
  await sleep(IDLE_S * 1_000);
  const ticks = cpuTicks(root) + cpuTicks(primary) - before;
  const sample = {
    cpuPercent: ticks / IDLE_S,
    rssMiB: (rssKiB(root) + rssKiB(primary)) / 1024,
    startMs: scanMs,
  };
  await stop(child);
  return sample;
}

const dir = project();
const results = { off: [] as Awaited<ReturnType<typeof run>>[], on: [] as Awaited<ReturnType<typeof run>>[] };
for (let round = 0; round < ROUNDS; round++) {
  results.off.push(await run(dir, false));
  results.on.push(await run(dir, true));
}
const m = (k: 'off' | 'on', f: 'cpuPercent' | 'rssMiB' | 'startMs') =>
  +median(results[k].map((r) => r[f])).toFixed(2);
const summary = {
  files: 20_000,
  idleSeconds: IDLE_S,
  off: { cpuPercent: m('off', 'cpuPercent'), rssMiB: m('off', 'rssMiB'), startMs: m('off', 'startMs') },
  on: { cpuPercent: m('on', 'cpuPercent'), rssMiB: m('on', 'rssMiB'), startMs: m('on', 'startMs') },
};
console.log(
  table([
    [
      '',
      'idle CPU (root + primary, % of a core)',
      'RSS root + primary (MiB)',
      'start to ready/watching (ms)',
    ],
    ['watch off', summary.off.cpuPercent, summary.off.rssMiB, summary.off.startMs],
    ['watch on', summary.on.cpuPercent, summary.on.rssMiB, summary.on.startMs],
  ]),
);
console.log(
  `\n${ROUNDS} rounds, ${IDLE_S} s idle, ~20,000 files; written to ${writeResult('watch-idle', summary)}`,
);
