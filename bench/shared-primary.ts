// What a shared primary (`primaryGroup`, docs/shared-primaries.md) costs an app, in isolation. 20 apps of
// 2 "hello" workers (round-robin: the primary is on every connection's path), run two ways in the same
// run, rounds interleaved: each app with a primary of its own, and all 20 in one group (one primary).
// - throughput of app0 (autocannon, keep-alive, 50 connections), the 19 others idle ("alone");
// - throughput of app0 while app1 takes the same load at the same time ("busy neighbour"): with a shared
//   primary both loads cross one event loop;
// - start (the command until every app is running) and a reload of every app (`clusterd reload`): one
//   process does the work of 20 primaries, and on a busy machine it gets one process's share of the CPU;
// - the blast radius: SIGKILL app0's primary and time until every app whose workers it took along
//   answers again (its own primary: app0; the shared one: all 20 apps, 40 workers).
// Ratios are shared / own, per round; medians and the spread (min-max) over the rounds.
// Run: npm run build && node bench/shared-primary.ts [rounds] [seconds]

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
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
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 5);
const APPS = 20;
const APP = join(ROOT, 'bench/apps/hello.cjs');

type Mode = 'own' | 'shared';

const load = (port: number, connections = 50) =>
  autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: SECONDS });

async function round(mode: Mode) {
  const ports = await Promise.all(Array.from({ length: APPS }, () => freePort()));
  const { file } = tempConfig({
    apps: ports.map((port, i) => ({
      name: `app${i}`,
      script: APP,
      instances: 2,
      env: { PORT: port },
      ...(mode === 'shared' ? { primaryGroup: 'all' } : {}),
    })),
  });
  const running = new Set<string>();
  const launched = performance.now();
  const { child, events } = await startClusterd(
    file,
    (e) => {
      if (e.to === 'running' && e.worker === undefined) running.add(String(e.app));
      return running.size === APPS;
    },
    120_000,
  );
  const startMs = performance.now() - launched;
  try {
    await Promise.all(ports.map((port) => answering(port, 2, 60_000)));
    await sleep(1_000);
    const reloading = performance.now();
    execFileSync(process.execPath, [CLUSTERD, 'reload', '--config', file], { stdio: 'ignore' });
    const reloadMs = performance.now() - reloading;
    const alone = await load(ports[0] as number);
    const [busy] = await Promise.all([load(ports[0] as number), load(ports[1] as number)]);
    // The blast radius: app0's primary SIGKILLed; how long until the apps it took along answer again.
    const primary = [...events].reverse().find((e) => e.app === 'app0' && typeof e.primary === 'number')
      ?.primary as number;
    const hit = mode === 'shared' ? ports : [ports[0] as number];
    const started = performance.now();
    process.kill(primary, 'SIGKILL');
    // Gone first (a connection refused), then answering again on two new workers.
    await sleep(50);
    await Promise.all(hit.map((port) => answering(port, 2, 60_000)));
    const recoverMs = performance.now() - started;
    return {
      aloneRps: alone.requests.average,
      busyRps: busy.requests.average,
      aloneP99: alone.latency.p99,
      busyP99: busy.latency.p99,
      errors: alone.errors + alone.non2xx + busy.errors + busy.non2xx,
      appsRestarted: hit.length,
      startMs,
      reloadMs,
      recoverMs,
    };
  } finally {
    await stop(child);
  }
}

const results: Record<Mode, Awaited<ReturnType<typeof round>>[]> = { own: [], shared: [] };
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved, and each round starts with the other mode.
  for (const mode of (r % 2 === 0 ? ['own', 'shared'] : ['shared', 'own']) as Mode[]) {
    console.error(`round ${r + 1}/${ROUNDS}: ${mode} ...`);
    results[mode].push(await round(mode));
  }
}

const med = (mode: Mode, f: (x: (typeof results.own)[number]) => number) => median(results[mode].map(f));
const ratios = (f: (x: (typeof results.own)[number]) => number) => {
  const each = results.own.map((own, i) => f(results.shared[i] as typeof own) / f(own));
  return `${median(each).toFixed(2)} (${Math.min(...each).toFixed(2)}-${Math.max(...each).toFixed(2)})`;
};
const rows: [string, (x: (typeof results.own)[number]) => number][] = [
  ['app0 req/s, others idle', (x) => x.aloneRps],
  ['app0 req/s, app1 loaded too', (x) => x.busyRps],
  ['app0 p99 ms, others idle', (x) => x.aloneP99],
  ['app0 p99 ms, app1 loaded too', (x) => x.busyP99],
  ["SIGKILL app0's primary: ms until its apps answer", (x) => x.recoverMs],
  ['start: ms until every app runs', (x) => x.startMs],
  ['clusterd reload (every app): ms', (x) => x.reloadMs],
];
console.log(
  table([
    ['20 apps x 2 workers', 'own primaries', 'one shared primary', 'shared / own (spread)'],
    ...rows.map(([name, f]) => [name, +med('own', f).toFixed(1), +med('shared', f).toFixed(1), ratios(f)]),
    [
      'apps restarted by that SIGKILL',
      results.own[0]?.appsRestarted ?? 0,
      results.shared[0]?.appsRestarted ?? 0,
      '-',
    ],
  ]),
);
console.log(`errors: own ${results.own.map((x) => x.errors)}, shared ${results.shared.map((x) => x.errors)}`);
console.log(`\nwritten to ${writeResult('shared-primary', { rounds: ROUNDS, seconds: SECONDS, results })}`);
