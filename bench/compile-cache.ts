// The compile cache offered to workers (`compileCache: true`, issue 33), on this 2-core machine:
// 1. Memory: per-worker RSS and PSS of a 2-worker app under clusterd, the app in JavaScript
//    (bench/apps/hello.cjs), the same app in TypeScript run through Node.js's type stripping
//    (bench/apps/hello.ts), and that TypeScript app with `compileCache: true` (its cache warmed by a
//    first start, as any start after the first finds it).
// 2. Time: an Express app's 2 workers (bench/apps/hello-express.cjs), with and without `compileCache`:
//    from `clusterd start` until both answer, and a `clusterd reload` (until it returns).
// Each clusterd gets its own empty XDG_CACHE_HOME, warmed by one start that is not counted. Rounds are
// interleaved; medians.
// Run: npm run build && node bench/compile-cache.ts [rounds]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLUSTERD,
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
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const SETTLE_MS = 1_000;

interface Variant {
  name: string;
  script: string;
  compileCache: boolean;
  cache: string;
}

const variant = (name: string, script: string, compileCache: boolean): Variant => ({
  name,
  script: join(ROOT, 'bench/apps', script),
  compileCache,
  cache: mkdtempSync(join(tmpdir(), 'clusterd-bench-cache-')),
});

/** One start of `v`: until its 2 workers answer, then memory and a reload; stopped after. */
async function run(v: Variant) {
  const port = await freePort();
  const { file } = tempConfig({
    apps: [
      { name: 'app', script: v.script, instances: 2, compileCache: v.compileCache, env: { PORT: port } },
    ],
  });
  const before = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = v.cache;
  const started = performance.now();
  const { child, done, events } = launchClusterd(file, (e) => e.to === 'running', 60_000);
  if (before === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = before;
  try {
    await done;
    await answering(port, 2);
    const startMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const workers = events
      .filter((e) => e.to === 'ready' && typeof e.pid === 'number')
      .map((e) => e.pid as number);
    const rss = median(workers.map(rssKiB)) / 1024;
    const pss = median(workers.map(pssKiB)) / 1024;
    const reloading = performance.now();
    execFileSync(process.execPath, [CLUSTERD, 'reload', '--config', file], { stdio: 'ignore' });
    const reloadMs = performance.now() - reloading;
    return { startMs, reloadMs, rss, pss };
  } finally {
    await stop(child);
  }
}

const variants = [
  variant('hello, JavaScript', 'hello.cjs', false),
  variant('hello, TypeScript (type stripping)', 'hello.ts', false),
  variant('hello, TypeScript, compileCache', 'hello.ts', true),
  variant('Express', 'hello-express.cjs', false),
  variant('Express, compileCache', 'hello-express.cjs', true),
];
// Warm each cache once (clusterd's own modules for every variant, the app's for the compileCache ones).
for (const v of variants) await run(v);
const samples = new Map<string, Awaited<ReturnType<typeof run>>[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) samples.set(v.name, [...(samples.get(v.name) ?? []), await run(v)]);
}
const results: Record<string, { startMs: number; reloadMs: number; rssMiB: number; pssMiB: number }> = {};
for (const [name, runs] of samples) {
  results[name] = {
    startMs: +median(runs.map((r) => r.startMs)).toFixed(0),
    reloadMs: +median(runs.map((r) => r.reloadMs)).toFixed(0),
    rssMiB: +median(runs.map((r) => r.rss)).toFixed(1),
    pssMiB: +median(runs.map((r) => r.pss)).toFixed(1),
  };
}
console.log(
  table([
    ['app', 'start until both answer ms', 'reload ms', 'worker RSS MiB', 'worker PSS MiB'],
    ...Object.entries(results).map(([name, r]) => [name, r.startMs, r.reloadMs, r.rssMiB, r.pssMiB]),
  ]),
);
console.log(`results: ${writeResult('compile-cache', { rounds: ROUNDS, results })}`);
