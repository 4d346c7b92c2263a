// How long a heap snapshot (`clusterd heap`) stalls a large worker's requests, and what it costs:
// an app of 2 workers holding HEAP_MB of small objects each (test/fixtures/profile-app.cjs), a 1 s
// heartbeat guard, keep-alive clients sending requests one after another on CONNECTIONS connections (so
// half of them go to the worker being snapshotted); `clusterd heap big 0` meanwhile. Reported: the
// snapshot's size and time, the pause the worker measured, the longest request during it, requests the
// other worker served meanwhile, the peak RSS of the CLI (it streams: it should stay small), and whether
// the worker kept its pid with no restart and no guard action. Results: bench/results/heap-pause.json.
// Run: npm run build && node bench/heap-pause.ts [heap MB] [connections]
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { CLUSTERD, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';

const HEAP_MB = Number(process.argv[2] ?? 200);
const CONNECTIONS = Number(process.argv[3] ?? 4);

const { dir, file } = tempConfig({
  apps: [
    {
      name: 'big',
      script: join(ROOT, 'test/fixtures/profile-app.cjs'),
      instances: 2,
      env: { PORT: '0', HEAP_MB: String(HEAP_MB) },
      readyTimeout: '60s',
      guards: { heartbeat: { timeout: '1s', interval: '250ms' } },
    },
  ],
});
const env = {
  ...process.env,
  XDG_RUNTIME_DIR: dir,
  RUNTIME_DIRECTORY: join(dir, 'run'),
  XDG_STATE_HOME: dir,
};
process.env.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
process.env.RUNTIME_DIRECTORY = env.RUNTIME_DIRECTORY;
const { child, events } = await startClusterd(file, (e) => e.app === 'big' && e.to === 'running', 90_000);
// Whatever happens, clusterd is stopped and the directory (its snapshot with it) removed.
try {
  const address = String(events.find((e) => e.app === 'big' && e.to === 'ready')?.address);

  function cli(
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string; peakKiB: number }> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [CLUSTERD, ...args], { cwd: dir, env });
      let stdout = '';
      let stderr = '';
      let peakKiB = 0;
      const sample = setInterval(() => {
        try {
          const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
          const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
          peakKiB = Math.max(peakKiB, kib);
        } catch {}
      }, 20);
      c.stdout.on('data', (d) => {
        stdout += d;
      });
      c.stderr.on('data', (d) => {
        stderr += d;
      });
      c.on('close', (code) => {
        clearInterval(sample);
        resolve({ code, stdout, stderr, peakKiB });
      });
    });
  }

  const statusOf = async () =>
    JSON.parse((await cli(['status', '--json'])).stdout).apps[0].workers.map(
      (w: { id: number; pid: number; restarts: number }) => ({ id: w.id, pid: w.pid, restarts: w.restarts }),
    );
  const before = await statusOf();

  // Clients: each sends a request, waits for its answer, sends the next.
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const done: { at: number; ms: number; pid: number }[] = [];
  let running = true;
  const failed: string[] = [];
  /** How long each failed request waited before it failed. */
  const stalls: number[] = [];
  async function client(): Promise<void> {
    while (running) {
      const at = performance.now();
      const pid = await new Promise<number>((resolve, reject) => {
        const req = request(`http://${address}/`, { agent }, (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(JSON.parse(body).pid));
        });
        req.on('error', reject);
        req.end();
      }).catch((error) => {
        const ms = performance.now() - at;
        failed.push(`${(error as Error).message} after ${Math.round(ms)} ms`);
        stalls.push(ms);
        return 0;
      });
      if (pid) done.push({ at, ms: performance.now() - at, pid });
    }
  }
  const clients = Array.from({ length: CONNECTIONS }, client);
  await new Promise((r) => setTimeout(r, 1_000));
  const started = performance.now();
  const heap = await cli(['heap', 'big', '0', '--json']);
  const ended = performance.now();
  await new Promise((r) => setTimeout(r, 1_000));
  running = false;
  await Promise.all(clients);
  agent.destroy();
  if (heap.code !== 0) throw new Error(`heap failed: ${heap.stderr}`);
  const taken = JSON.parse(heap.stdout) as {
    path: string;
    pid: number;
    bytes: number;
    pauseMs: number;
    ms: number;
  };
  const after = await statusOf();
  const guardEvents = events.filter((e) => e.app === 'big' && e.guard !== undefined);

  const during = done.filter((r) => r.at + r.ms >= started && r.at <= ended);
  const snapshotted = during.filter((r) => r.pid === taken.pid);
  const others = during.filter((r) => r.pid !== taken.pid);
  const baseline = done
    .filter((r) => r.at + r.ms < started)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const result = {
    heapMB: HEAP_MB,
    connections: CONNECTIONS,
    snapshotMiB: +(taken.bytes / 1024 / 1024).toFixed(1),
    snapshotFileBytes: statSync(taken.path).size,
    cliTotalMs: Math.round(ended - started),
    workerTookMs: taken.ms,
    workerPausedMs: taken.pauseMs,
    longestRequestMs: Math.round(Math.max(0, ...snapshotted.map((r) => r.ms))),
    // Answered or not: how long a request waited at most.
    longestStallMs: Math.round(Math.max(0, ...snapshotted.map((r) => r.ms), ...stalls)),
    baselineP99Ms: +(baseline[Math.floor(baseline.length * 0.99)] ?? 0).toFixed(2),
    otherWorkerServedDuring: others.length,
    // Requests that failed: a keep-alive connection idle when the pause began is closed by the server's
    // keepAliveTimeout (5 s) when the loop turns again, before its waiting request is read.
    failedRequests: failed.length,
    failures: failed.slice(0, 4).join('; '),
    cliPeakRssMiB: +(heap.peakKiB / 1024).toFixed(1),
    samePids: JSON.stringify(before) === JSON.stringify(after),
    restarts: after.reduce((n: number, w: { restarts: number }) => n + w.restarts, 0),
    guardActions: guardEvents.length,
  };
  console.log(table(Object.entries(result).map(([k, v]) => [k, String(v)])));
  console.log(`written to ${writeResult('heap-pause', result)}`);
} finally {
  await stop(child);
  rmSync(dir, { recursive: true, force: true });
}
