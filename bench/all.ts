// `npm run bench`: every scenario in one run, one after another (each interleaves clusterd, bare
// node:cluster and PM2 itself), then one table of the ratios against the targets of the benchmark
// issue, written with the machine and Node version to bench/results/summary.json.
// Run: npm run bench   (the whole run took 671 s on 2 cores on 2026-12-03, other test runs sharing them)
//      npm run bench:summary   (the table alone, from bench/results/)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, table, writeResult } from './lib.ts';

// Not here: `npm run bench:canary` (bench/canary.ts). It takes about 3.5 minutes, nearly all of it the
// fixed warmup and observation windows it waits through (12 s a deploy) and the 15 s span it counts a bad
// release's failures over, so it measures the canary's design more than this build's speed: run it when
// the canary or the reload changes, not with every full run. Nor `npm run bench:soak` (minutes of
// compressed uptime, run on its own), `bench:dashboard` (a browser) and `bench:heap-pause`.
const SCENARIOS = [
  'throughput',
  'cold-start',
  'supervisor-memory',
  'crash-recovery',
  'reload',
  'cli-latency',
  'log-throughput',
  'watch-idle',
  'balancing',
  'health',
  'guards',
  'programs',
  'programs-reload',
  'messages',
  'monit',
  'scale',
  'compile-cache',
];

const started = Date.now();
// `--summary`: only the table, from the results already on disk (after re-running one scenario).
for (const scenario of process.argv.includes('--summary') ? [] : SCENARIOS) {
  console.log(`\n== ${scenario}`);
  execFileSync(process.execPath, [join(ROOT, 'bench', `${scenario}.ts`)], { stdio: 'inherit' });
}

// biome-ignore lint/suspicious/noExplicitAny: results are read back as written by each scenario.
const read = (name: string): any => {
  const file = join(ROOT, 'bench', 'results', `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
};
const throughput = read('throughput');
const coldStart = read('cold-start');
const memory = read('supervisor-memory');
const crash = read('crash-recovery');
const reload = read('reload');
const cli = read('cli-latency');
const logs = read('log-throughput');
const balancing = read('balancing');
const health = read('health');
const guards = read('guards');
const programs = read('programs');
const programsReload = read('programs-reload').targets ?? {};
const stopFirst = programsReload['clusterd, fixed port, stop-first'] ?? {};
const pm2Reload = programsReload['PM2 fork mode, fixed port, pm2 reload'] ?? {};
const messages = read('messages').ratios ?? {};
const monit = read('monit').w16 ?? {};
const scale = read('scale');
// biome-ignore lint/suspicious/noExplicitAny: results are read back as written by each scenario.
const shape = (apps: number, workers: number): any =>
  (scale.results ?? []).find(
    (x: { shape: { apps: number; workers: number; shared?: boolean } }) =>
      x.shape.apps === apps && x.shape.workers === workers && !x.shape.shared,
  ) ?? {};
const twenty = shape(20, 2);
const twentyShared =
  (scale.results ?? []).find(
    (x: { shape: { apps: number; workers: number; shared?: boolean } }) =>
      x.shape.apps === 20 && x.shape.workers === 2 && x.shape.shared,
  ) ?? {};
const compileCache = read('compile-cache').results ?? {};
// biome-ignore lint/suspicious/noExplicitAny: results are read back as written by each scenario.
const leak = (target: string): any =>
  (guards.leaks ?? []).find((l: { target: string }) => l.target === target) ?? {};
const scraped = health.scrape ?? {};
const loaded = health.load ?? {};
const seed = balancing.seed ?? {};
const balanced = balancing.load ?? {};

const r = (x: number, y: number) => +(x / y).toFixed(2);
const rows: [string, number, string, string][] = [
  [
    'keep-alive req/s, clusterd / bare',
    r(throughput['keep-alive | clusterd']?.rps, throughput['keep-alive | bare node:cluster']?.rps),
    '>= 1 (noise)',
    'npm run bench:throughput',
  ],
  [
    'keep-alive req/s, clusterd / PM2',
    r(throughput['keep-alive | clusterd']?.rps, throughput['keep-alive | PM2']?.rps),
    '>= 1',
    'npm run bench:throughput',
  ],
  [
    'Connection: close req/s, kernel / bare',
    r(
      throughput['connection: close | clusterd (kernel)']?.rps,
      throughput['connection: close | bare node:cluster']?.rps,
    ),
    '>= 1',
    'npm run bench:throughput',
  ],
  ['cold start, clusterd / PM2', r(coldStart.clusterd, coldStart.PM2), '<= 0.35', 'npm run bench:cold-start'],
  [
    'supervisor RSS, clusterd / PM2 daemon',
    r(memory.rss?.clusterd.supervisorMiB, memory.rss?.pm2.supervisorMiB),
    '<= 0.5',
    'npm run bench:memory',
  ],
  [
    'supervisor PSS, clusterd / PM2 daemon',
    r(memory.pss?.clusterd.supervisorMiB, memory.pss?.pm2.supervisorMiB),
    '(PSS view)',
    'npm run bench:memory',
  ],
  [
    'per-worker RSS, clusterd / bare',
    r(memory.rss?.clusterd.workerMiB, memory.rss?.bare.workerMiB),
    '<= 1.05',
    'npm run bench:memory',
  ],
  [
    'crash recovery, clusterd / PM2',
    r(crash.clusterd, crash.PM2),
    '(lower is better)',
    'npm run bench:crash',
  ],
  [
    'reload failed requests, clusterd (all cases)',
    Object.entries(reload)
      .filter(([k]) => k.startsWith('clusterd'))
      .reduce((sum, [, v]) => sum + ((v as { failed?: number }).failed ?? 0), 0),
    '0',
    'npm run bench:reload',
  ],
  [
    'CLI latency, clusterd status / pm2 list',
    r(cli.clusterdStatusMs, cli.pm2ListMs),
    '(lower is better)',
    'npm run bench:cli',
  ],
  [
    'log lines/s, clusterd JSON / bare app',
    r(logs.linesPerSecond?.json, logs.linesPerSecond?.bare),
    '>= 0.9',
    'npm run bench:logs',
  ],
  [
    'log lines/s, clusterd JSON / PM2',
    r(logs.linesPerSecond?.json, logs.linesPerSecond?.pm2),
    '(higher is better)',
    'npm run bench:logs',
  ],
  [
    'seed /fast p99, least-connections / idle server',
    r(seed['clusterd least-connections']?.p99, seed['idle server (clusterd least-connections)']?.p99),
    '<= 10',
    'npm run bench:balancing',
  ],
  [
    'seed /fast p99, round-robin / idle server',
    r(seed['clusterd round-robin']?.p99, seed['idle server (clusterd least-connections)']?.p99),
    '(~1000 in issue 15)',
    'npm run bench:balancing',
  ],
  [
    'keep-alive req/s, least-connections / round-robin',
    r(balanced['clusterd least-connections']?.keepAlive, balanced['clusterd round-robin']?.keepAlive),
    '>= 0.95',
    'npm run bench:balancing',
  ],
  [
    'keep-alive req/s, sticky / round-robin',
    r(balanced['clusterd sticky']?.keepAlive, balanced['clusterd round-robin']?.keepAlive),
    '>= 0.95',
    'npm run bench:balancing',
  ],
  [
    'Connection: close req/s, least-connections / round-robin',
    r(balanced['clusterd least-connections']?.close, balanced['clusterd round-robin']?.close),
    '>= 1 (noise)',
    'npm run bench:balancing',
  ],
  [
    'primary CPU per 10k connections, least-connections / bare',
    r(
      balanced['clusterd least-connections']?.cpuMsPer10k,
      balanced['bare node:cluster (round-robin)']?.cpuMsPer10k,
    ),
    '(lower is better)',
    'npm run bench:balancing',
  ],
  [
    'keep-alive req/s, health scraped every 1 s / no health',
    +loaded['clusterd, health scraped every 1 s']?.ratio?.toFixed(2),
    '~1 (within noise)',
    'npm run bench:health',
  ],
  [
    'keep-alive req/s, health scraped every 100 ms / no health',
    +loaded['clusterd, health scraped every 100 ms']?.ratio?.toFixed(2),
    '(worst case)',
    'npm run bench:health',
  ],
  [
    'CPU per request, health scraped every 1 s / no health',
    r(
      loaded['clusterd, health scraped every 1 s']?.cpuUsPerRequest,
      loaded['clusterd, no health']?.cpuUsPerRequest,
    ),
    '~1',
    'npm run bench:health',
  ],
  [
    '/metrics p99 at 16 workers, clusterd / prom-client cluster mode',
    r(scraped['clusterd /metrics']?.p99, scraped['bare node:cluster + prom-client clusterMetrics()']?.p99),
    '<= 1',
    'npm run bench:health',
  ],
  [
    'leaking app, MB past the memory limit, clusterd / PM2 max_memory_restart',
    r(leak('clusterd (guards.memory.limit)').overshootMB, leak('PM2 max_memory_restart').overshootMB),
    '(lower is better; 0 failed requests)',
    'npm run bench:guards',
  ],
  [
    'keep-alive req/s, heartbeat every 1 s / no guards',
    r(guards.heartbeat?.['clusterd, heartbeat every 1s'], guards.heartbeat?.['clusterd, no guards']),
    '~1 (within noise)',
    'npm run bench:guards',
  ],
  [
    'program (Python, 2 instances) start to both answering, clusterd / PM2 fork mode',
    r(programs.clusterd?.answeringMs, programs.pm2?.answeringMs),
    '(lower is better)',
    'npm run bench:programs',
  ],
  [
    'program supervisor RSS, clusterd root + primary / PM2 daemon',
    r(programs.clusterd?.rss?.supervisorMiB, programs.pm2?.rss?.supervisorMiB),
    '(lower is better)',
    'npm run bench:programs',
  ],
  [
    'program on a fixed port, reload: longest time without an answer, clusterd stop-first / pm2 reload',
    r(stopFirst.gapMs, pm2Reload.gapMs),
    '(lower is better)',
    'npm run bench:programs-reload',
  ],
  [
    'socket.io adapter messages delivered/s (json), clusterd / bare setupPrimary()',
    messages['json: delivered/s, clusterd / bare'],
    '>= 1 (noise)',
    'npm run bench:messages',
  ],
  [
    'primary CPU per 10k adapter messages (json), clusterd / bare setupPrimary()',
    messages['json: primary CPU per 10k, clusterd / bare'],
    '(lower is better)',
    'npm run bench:messages',
  ],
  [
    'socket.io adapter messages delivered/s (advanced), clusterd / bare setupPrimary()',
    messages['advanced: delivered/s, clusterd / bare'],
    '>= 1 (noise)',
    'npm run bench:messages',
  ],
  [
    'primary CPU per 10k adapter messages (advanced), clusterd / bare setupPrimary()',
    messages['advanced: primary CPU per 10k, clusterd / bare'],
    '(lower is better)',
    'npm run bench:messages',
  ],
  [
    'keep-alive req/s with / without messages flowing (json), clusterd / bare',
    messages['json: req/s with / without messages, clusterd / bare'],
    '~1 (within noise)',
    'npm run bench:messages',
  ],
  [
    'live terminal view CPU at 16 workers, clusterd monit / pm2 monit',
    monit.pm2?.view > 0 ? +(monit.clusterd.view / monit.pm2.view).toFixed(3) : Number.NaN,
    'monit < 2 % of a core',
    'npm run bench:monit',
  ],
  [
    '20 apps x 2 workers, tree PSS, clusterd / PM2',
    r(twenty.clusterd?.pssMiB, twenty.pm2?.pssMiB),
    '<= 0.8',
    'npm run bench:scale',
  ],
  [
    '20 apps x 2 workers, tree PSS, one shared primary (primaryGroup, opt-in) / PM2',
    r(twentyShared.clusterd?.pssMiB, twentyShared.pm2?.pssMiB),
    '<= 0.8',
    'npm run bench:scale',
  ],
  [
    '20 apps x 2 workers, clusterd status / pm2 list',
    r(twenty.clusterd?.statusMs, twenty.pm2?.statusMs),
    '<= 0.5',
    'npm run bench:scale',
  ],
  [
    '20 apps x 2 workers, reload of all, clusterd / PM2',
    r(twenty.clusterd?.reloadMs, twenty.pm2?.reloadMs),
    '(lower is better)',
    'npm run bench:scale',
  ],
  [
    'TypeScript worker RSS, compileCache / without',
    r(
      compileCache['hello, TypeScript, compileCache']?.rssMiB,
      compileCache['hello, TypeScript (type stripping)']?.rssMiB,
    ),
    '(lower is better)',
    'npm run bench:compile-cache',
  ],
];
console.log(`\n== summary (${Math.round((Date.now() - started) / 1000)} s)`);
console.log(table([['ratio', 'measured', 'target', 'reproduce'], ...rows]));
const file = writeResult('summary', {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  ratios: Object.fromEntries(rows.map(([name, value, target]) => [name, { value, target }])),
});
console.log(`\nwritten to ${file}`);
