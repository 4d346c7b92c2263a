// Shared helpers for the benchmarks: start processes, read their RSS, wait for log lines, medians.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const CLUSTERD = join(ROOT, 'dist/cli/bin.js');

/** Resident set size of a process, in KiB, from /proc. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/**
 * Proportional set size, in KiB: RSS with each shared page divided among the processes sharing it, so
 * a sum over processes (a root and its primaries, PM2's daemon) counts shared memory once.
 */
export function pssKiB(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? Number.NaN);
}

/**
 * CPU time (ns) the main thread of `pid` has run so far, from /proc/<pid>/schedstat (the scheduler's own
 * count, in ns: far finer than /proc/<pid>/stat's clock ticks); 0 once the process is gone.
 */
export function mainThreadCpuNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/** The direct children of a process (Linux: /proc/PID/task/PID/children), none once it is gone. */
export function children(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** Every process under `pid`, depth first. */
export function descendants(pid: number): number[] {
  return children(pid).flatMap((child) => [child, ...descendants(child)]);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function tempConfig(config: object): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-bench-'));
  const file = join(dir, 'cluster.config.json');
  writeFileSync(file, JSON.stringify(config));
  return { dir, file };
}

/** Calls `onLine` for every stdout line of `child`. */
export function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let at = pending.indexOf('\n');
    while (at !== -1) {
      onLine(pending.slice(0, at));
      pending = pending.slice(at + 1);
      at = pending.indexOf('\n');
    }
  });
}

/**
 * Starts `clusterd start` on a config in the foreground: the process at once (so a caller can stop it
 * whatever happens), its JSON events, and `done`, which resolves once `ready` says so.
 */
export function launchClusterd(
  file: string,
  ready: (event: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): { child: ChildProcess; events: Record<string, unknown>[]; done: Promise<void> } {
  const child = spawn(process.execPath, [CLUSTERD, 'start', '--log-format', 'json', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Record<string, unknown>[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('clusterd did not become ready')), timeoutMs);
    lines(child, (line) => {
      try {
        const event = JSON.parse(line);
        events.push(event);
        if (ready(event)) {
          clearTimeout(timer);
          resolve();
        }
      } catch {}
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`clusterd exited early (${signal ?? code})`));
    });
  });
  return { child, events, done };
}

/** Starts `clusterd start` on a config; resolves with the process and its JSON events once `ready` says so. */
export async function startClusterd(
  file: string,
  ready: (event: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): Promise<{ child: ChildProcess; events: Record<string, unknown>[] }> {
  const { child, events, done } = launchClusterd(file, ready, timeoutMs);
  await done;
  return { child, events };
}

/** Stops `child` with `signal`, and with SIGKILL if it is still there after `graceMs`: a run must end. */
export function stop(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 10_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.error(`pid ${child.pid} did not exit ${graceMs} ms after ${signal}: SIGKILL`);
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length))) ?? [];
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

export function writeResult(name: string, result: object): string {
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ ...result, node: process.version, date: new Date().toISOString() }, null, 2)}\n`,
  );
  return file;
}

/** Ports freePort() has given in this process: the kernel may hand a closed one out again at once. */
const given = new Set<number>();

/**
 * A port free on loopback right now, and not one this process was given before: two calls in a row
 * (an app's port, then its health port) could otherwise get the same one, and the second bind fail.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (given.has(port)) continue;
    given.add(port);
    return port;
  }
}

// clusterd's readiness "port" reads /proc/net/tcp (the whole namespace's table) while it waits: the
// size of that table is part of the conditions of a round, and other work on the machine changes it.
export function tcpSockets(): number {
  return ['tcp', 'tcp6']
    .map((name) => {
      try {
        return readFileSync(`/proc/net/${name}`, 'latin1').trim().split('\n').length - 1;
      } catch {
        return 0;
      }
    })
    .reduce((a, b) => a + b, 0);
}

/**
 * The Python benchmark app (bench/apps/py-http.py) and the Python binary itself, found once from
 * `python3` on PATH, so that no pyenv shim or other wrapper runs first under either manager.
 */
export const PY_HTTP = join(ROOT, 'bench/apps/py-http.py');
export function pythonExecutable(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}
