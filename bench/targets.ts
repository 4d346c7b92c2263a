// The process managers compared by the benchmarks, each able to run an app with N workers on a port.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lines, median, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';

export interface Running {
  stop(): Promise<void>;
  /** The workers' pids, where the target tells them (clusterd's ready events). */
  workers?: number[];
}

export interface Target {
  name: string;
  /** Starts `app` with `workers` workers on `port`; resolves once the command has returned or logged its start. */
  start(app: string, port: number, workers: number): Promise<Running>;
}

/** clusterd running the app; `extra.app` adds settings to it (`guards`, `env`), `extra.name` names the row. */
export const clusterd = (
  balancing: 'round-robin' | 'kernel' = 'round-robin',
  extra: { name?: string; app?: { env?: Record<string, string> } & Record<string, unknown> } = {},
): Target => ({
  name: extra.name ?? (balancing === 'kernel' ? 'clusterd (kernel)' : 'clusterd'),
  async start(app, port, workers) {
    const { file } = tempConfig({
      apps: [
        {
          name: 'app',
          script: app,
          instances: workers,
          balancing,
          ...extra.app,
          env: { ...extra.app?.env, PORT: port },
        },
      ],
    });
    const { child, events } = await startClusterd(file, (e) => e.to === 'running');
    const pids = events
      .filter((e) => e.to === 'ready' && typeof e.pid === 'number')
      .map((e) => e.pid as number);
    return { stop: () => stop(child), workers: pids };
  },
});

export const bare: Target = {
  name: 'bare node:cluster',
  async start(app, port, workers) {
    const child = spawn(process.execPath, [join(ROOT, 'bench/apps/bare-cluster.cjs')], {
      env: { ...process.env, SCRIPT: app, WORKERS: String(workers), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => lines(child, (l) => l.includes('"ready":true') && resolve()));
    return { stop: () => stop(child) };
  },
};

/** PM2 in cluster mode, with a private PM2_HOME; `pm2 kill` when stopped (its daemon included). */
export function pm2Target(): Target {
  return {
    name: 'PM2',
    async start(app, port, workers) {
      const cli = pm2();
      cli.run(['start', app, '-i', String(workers), '--name', 'app'], { PORT: String(port) });
      return {
        stop: async () => {
          cli.kill();
        },
      };
    },
  };
}

/** The pid of the worker that answers a new connection on `port`, or null after `timeoutMs`. */
export function pidAt(port: number, timeoutMs: number): Promise<string | null> {
  return fetch(`http://127.0.0.1:${port}/pid`, {
    headers: { connection: 'close' },
    signal: AbortSignal.timeout(timeoutMs),
  }).then(
    async (r) => (await r.text()).trim(),
    () => null,
  );
}

/** Runs `measure` for every target, `rounds` times interleaved; prints medians and ratios, writes JSON. */
export async function compareTimings(
  name: string,
  heading: string,
  targets: Target[],
  rounds: number,
  measure: (target: Target) => Promise<number>,
): Promise<void> {
  const samples = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const target of targets)
      samples.set(target.name, [...(samples.get(target.name) ?? []), await measure(target)]);
  }
  const summary = Object.fromEntries([...samples].map(([target, ms]) => [target, Math.round(median(ms))]));
  const ours = summary.clusterd ?? 0;
  console.log(
    table([
      ['target', heading, 'clusterd / this'],
      ...Object.entries(summary).map(([target, ms]) => [target, ms, (ours / ms).toFixed(2)]),
    ]),
  );
  console.log(`\n${rounds} rounds; written to ${writeResult(name, summary)}`);
}

/** Resolves once `count` different worker pids have answered on `port` (the apps answer with their pid). */
export async function answering(port: number, count: number, timeoutMs = 30_000): Promise<Set<string>> {
  const pids = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (pids.size < count) {
    if (Date.now() > deadline) throw new Error(`only ${pids.size} of ${count} workers answered on ${port}`);
    const pid = await pidAt(port, 500);
    if (pid) pids.add(pid);
    else await sleep(5);
  }
  return pids;
}
