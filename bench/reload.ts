// Rolling reload under load: a 2-worker HTTP app under a steady keep-alive load (autocannon, 50
// connections, loopback), reloaded twice, under clusterd, PM2 (cluster mode, `pm2 reload`) and bare
// node:cluster with a naive kill-and-fork. Counts failed requests (errors, timeouts, non-2xx), the p99
// latency and req/s of the window that holds the reloads (1 s before, between and after them), and each
// reload's time (a reload's mean: signal or command to done). Rounds are interleaved; medians are
// reported. autocannon runs in this process: every reload runs without blocking it.
// Run: npm run build && node bench/reload.ts [rounds]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { freePort, lines, median, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const CONNECTIONS = 50;
const RELOADS = 2;
const APPS = {
  plain: join(ROOT, 'bench/apps/hello.cjs'),
  graceful: join(ROOT, 'bench/apps/hello-graceful.cjs'),
  'slow (200 ms)': join(ROOT, 'bench/apps/hello-slow.cjs'),
};
type AppKind = keyof typeof APPS;

interface Target {
  name: string;
  start(app: string, port: number): Promise<{ reload(): Promise<void>; stop(): Promise<void> }>;
}

const clusterd: Target = {
  name: 'clusterd',
  async start(app, port) {
    const { file } = tempConfig({
      apps: [{ name: 'hello', script: app, instances: 2, env: { PORT: port } }],
    });
    const reloaded: (() => void)[] = [];
    const { child } = await startClusterd(file, (e) => e.to === 'running');
    lines(child, (line) => {
      if (line.includes('"reload":"done"') || line.includes('"reload":"failed"')) reloaded.shift()?.();
    });
    return {
      reload: () =>
        new Promise<void>((resolve) => {
          reloaded.push(resolve);
          child.kill('SIGUSR2');
        }),
      stop: () => stop(child),
    };
  },
};

const RELOAD_WAIT_MS = 10_000;

const bare: Target = {
  name: 'bare node:cluster (kill and fork)',
  async start(app, port) {
    const child = spawn(process.execPath, [join(ROOT, 'bench/apps/bare-cluster.cjs')], {
      env: { ...process.env, SCRIPT: app, WORKERS: '2', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Each reload's new workers say which reload they belong to; one that dies before it listens is
    // replaced by a plain fork that says nothing, so a reload is also over after RELOAD_WAIT_MS.
    const listening = new Map<number, number>();
    let wake = () => {};
    await new Promise<void>((resolve) =>
      lines(child, (l) => {
        if (l.includes('"ready":true')) resolve();
        const reload = /"reload":(\d+)/.exec(l)?.[1];
        if (reload) listening.set(Number(reload), (listening.get(Number(reload)) ?? 0) + 1);
        wake();
      }),
    );
    let generation = 0;
    return {
      reload: async () => {
        const reload = ++generation;
        child.kill('SIGUSR2');
        const deadline = Date.now() + RELOAD_WAIT_MS;
        while ((listening.get(reload) ?? 0) < 2 && Date.now() < deadline) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 100);
          });
        }
        if ((listening.get(reload) ?? 0) < 2)
          console.error(`bare: reload ${reload} incomplete after ${RELOAD_WAIT_MS} ms`);
      },
      stop: () => stop(child),
    };
  },
};

const pm2Target = (cli: ReturnType<typeof pm2>): Target => ({
  name: `PM2 ${cli.version()} (pm2 reload)`,
  async start(app, port) {
    cli.run(['start', app, '-i', '2', '--name', 'hello'], { PORT: String(port) });
    // PM2 returns before the workers listen; wait until the port answers.
    for (let i = 0; i < 200; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(25);
    }
    return {
      // Not cli.run: autocannon runs in this process, and a synchronous command would stop it sending
      // and reading for as long as PM2 takes (no request would meet the reload).
      reload: () => cli.runAsync(['reload', 'hello']).then(() => {}),
      stop: async () => {
        cli.run(['delete', 'hello']);
      },
    };
  },
});

async function scenario(target: Target, kind: AppKind) {
  const port = await freePort();
  const app = await target.start(APPS[kind], port);
  const instance = autocannon(
    { url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration: 60, timeout: 5 },
    () => {},
  );
  const done = new Promise<autocannon.Result>((resolve) => instance.on('done', resolve));
  await sleep(1_000);
  const reloadsMs: number[] = [];
  for (let i = 0; i < RELOADS; i++) {
    const began = performance.now();
    await app.reload();
    reloadsMs.push(performance.now() - began);
    await sleep(1_000);
  }
  instance.stop();
  const r = await done;
  await app.stop();
  // The window is 3 s plus the reloads, so its request count grows with them: req/s compares targets.
  return {
    failed: r.errors + r.timeouts + r.non2xx,
    requests: r.requests.total,
    rps: r.requests.total / r.duration,
    reloadMs: reloadsMs.reduce((a, b) => a + b, 0) / reloadsMs.length,
    p99: r.latency.p99,
  };
}

const cli = pm2();
const targets = [clusterd, pm2Target(cli), bare];
const results = new Map<string, Awaited<ReturnType<typeof scenario>>[]>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of Object.keys(APPS) as AppKind[]) {
      for (const target of targets) {
        const key = `${target.name} | ${kind}`;
        const r = await scenario(target, kind);
        results.set(key, [...(results.get(key) ?? []), r]);
        console.error(
          `round ${round + 1}: ${key}: ${r.failed} failed of ${r.requests} (${Math.round(r.rps)} req/s), p99 ${r.p99} ms, reloads ${Math.round(r.reloadMs)} ms`,
        );
      }
    }
  }
} finally {
  cli.kill();
}

const rows: (string | number)[][] = [
  [
    'target',
    'app',
    'failed requests (median)',
    'failed (each round)',
    'p99 ms',
    'requests',
    'req/s',
    'reload ms',
  ],
];
const summary: Record<string, object> = {};
for (const [key, runs] of results) {
  const [name, kind] = key.split(' | ') as [string, string];
  const failed = median(runs.map((r) => r.failed));
  rows.push([
    name,
    kind,
    failed,
    runs.map((r) => r.failed).join(' '),
    median(runs.map((r) => r.p99)),
    median(runs.map((r) => r.requests)),
    Math.round(median(runs.map((r) => r.rps))),
    Math.round(median(runs.map((r) => r.reloadMs))),
  ]);
  summary[key] = {
    failed,
    each: runs.map((r) => r.failed),
    p99: median(runs.map((r) => r.p99)),
    requests: median(runs.map((r) => r.requests)),
    rps: Math.round(median(runs.map((r) => r.rps))),
    reloadMs: Math.round(median(runs.map((r) => r.reloadMs))),
  };
}
console.log(table(rows));
console.log(
  `\n${ROUNDS} rounds, ${RELOADS} reloads each, ${CONNECTIONS} keep-alive connections; written to ${writeResult('reload', summary)}`,
);
