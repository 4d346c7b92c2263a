// The node:cluster adapter with real worker processes: a worker gets exactly the environment built for
// it (variables the app removes are gone), and the forking process's own environment is left as it was;
// its preload answers heartbeats and the request counts' scrape.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
// The built module: its preload is the compiled dist/worker/preload.cjs (npm test builds first).
import { ClusterWorkerProcess } from '../../dist/primary/process/cluster-worker.js';
import { histogramCount } from '../../src/health/request-stats.js';
import type { WorkerExit } from '../../src/primary/pool/tracked-worker.js';
import { scrapeCounts } from '../../src/primary/process/scrape-counts.js';
import { resolvedApp } from '../helpers/fake-pool.js';
import { freePort, get } from '../helpers/http.js';
import { FIXTURES } from '../helpers/root.js';

// Output goes nowhere: only the environment is under test.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

describe('ClusterWorkerProcess', () => {
  it('forks with exactly the worker environment and leaves its own untouched', async () => {
    const before = { ...process.env };
    const base = { PATH: process.env.PATH, KEPT: 'k', REMOVED: 'r', TZ: 'UTC' };
    const app = resolvedApp({
      script: join(FIXTURES, 'report-env.cjs'),
      cwd: FIXTURES,
      readiness: 'message',
      env: { REMOVED: null, TZ: 'Asia/Tokyo', ADDED: 'a' },
      instanceVar: 'INSTANCE_ID',
    });
    let exited: (exit: WorkerExit) => void = () => {};
    const exit = new Promise<WorkerExit>((resolve) => {
      exited = resolve;
    });
    const handle = new ClusterWorkerProcess(
      3,
      app,
      { baseEnv: base, logFormat: 'json', sinks: { stdout: quiet, stderr: quiet } },
      { ready: () => {}, exit: exited, alive: () => {} },
    );
    const env = await Promise.race([
      new Promise<Record<string, string>>((resolve) =>
        handle.worker.once('message', (m: { env: Record<string, string> }) => resolve(m.env)),
      ),
      exit.then((e) => Promise.reject(new Error(`the worker exited first: ${JSON.stringify(e)}`))),
    ]);
    handle.kill();
    expect(await exit).toMatchObject({ signal: 'SIGKILL' });
    expect(env).toMatchObject({
      KEPT: 'k',
      TZ: 'Asia/Tokyo',
      ADDED: 'a',
      NODE_APP_INSTANCE: '3',
      INSTANCE_ID: '3',
      CLUSTERD_APP: 'web',
    });
    expect(env).not.toHaveProperty('REMOVED');
    // Nothing of the test process's own environment reached the worker but what the base holds...
    expect(
      Object.keys(env).filter(
        (k) =>
          !(k in base) &&
          !k.startsWith('CLUSTERD_') &&
          !['NODE_APP_INSTANCE', 'INSTANCE_ID', 'ADDED'].includes(k),
      ),
    ).toEqual([]);
    // ... and the forking process's environment did not change.
    expect(process.env).toEqual(before);
  });

  it('reads its memory and main thread from /proc, and its preload answers heartbeats', async () => {
    const app = resolvedApp({
      script: join(FIXTURES, 'report-env.cjs'),
      cwd: FIXTURES,
      readiness: 'message',
    });
    let alive: () => void = () => {};
    let exited: (exit: WorkerExit) => void = () => {};
    const exit = new Promise<WorkerExit>((resolve) => {
      exited = resolve;
    });
    const handle = new ClusterWorkerProcess(
      0,
      app,
      { baseEnv: { PATH: process.env.PATH }, logFormat: 'json', sinks: { stdout: quiet, stderr: quiet } },
      { ready: () => {}, exit: exited, alive: () => alive() },
    );
    await new Promise((resolve) => handle.worker.once('message', resolve));
    const answered = new Promise<void>((resolve) => {
      alive = resolve;
    });
    expect(handle.beat()).toBe(true);
    await answered;
    const rss = handle.rss();
    // A Node.js process: tens of MB resident, not bytes nor gigabytes.
    expect(rss).toBeGreaterThan(10 * 1024 ** 2);
    expect(rss).toBeLessThan(1024 ** 3);
    expect(handle.mainThread()).toMatchObject({
      state: expect.stringMatching(/^[RSD]$/),
      cpuMs: expect.any(Number),
    });
    handle.kill();
    await exit;
    // Gone: nothing to read, no heartbeat to send.
    expect(handle.rss()).toBeNull();
    expect(handle.mainThread()).toBeNull();
    expect(handle.beat()).toBe(false);
  });

  it("answers the request counts' scrape; with requestMetrics false, zero counts and still its RSS and loop delay", async () => {
    const timer = (ms: number, fn: () => void) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    };
    const start = async (slot: number, requestMetrics: boolean) => {
      const app = resolvedApp({
        script: join(FIXTURES, 'request-kinds.cjs'),
        cwd: FIXTURES,
        requestMetrics,
        // A port each: two workers listening on port 0 would share one listen in this primary.
        env: { PORT: String(await freePort()) },
      });
      let ready: (address?: string) => void = () => {};
      const listening = new Promise<string | undefined>((resolve) => {
        ready = resolve;
      });
      let exited: (exit: WorkerExit) => void = () => {};
      const exit = new Promise<WorkerExit>((resolve) => {
        exited = resolve;
      });
      const handle = new ClusterWorkerProcess(
        slot,
        app,
        { baseEnv: { PATH: process.env.PATH }, logFormat: 'json', sinks: { stdout: quiet, stderr: quiet } },
        { ready: (address) => ready(address), exit: exited, alive: () => {} },
      );
      const address = await Promise.race([
        listening,
        exit.then((e) => Promise.reject(new Error(`the worker exited first: ${JSON.stringify(e)}`))),
      ]);
      return { handle, exit, address: String(address) };
    };
    const on = await start(1, true);
    const off = await start(2, false);
    for (let i = 0; i < 3; i++) {
      expect((await get(on.address, '/status/500')).status).toBe(500);
      expect((await get(off.address, '/')).status).toBe(200);
    }
    // Counted at the response's close, just after the client had its end; the loop delay every 20 ms.
    const counted = async (worker: typeof on) => {
      for (;;) {
        const [sample] = await scrapeCounts([worker.handle.worker], 1_000, timer);
        if (
          sample &&
          histogramCount(sample.counts.loopDelay) > 0 &&
          (worker === off || sample.counts.classes[4] === 3)
        )
          return sample;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const a = await counted(on);
    expect(a).toMatchObject({
      worker: 1,
      pid: on.handle.pid,
      counts: { classes: [0, 0, 0, 0, 3], aborted: 0 },
    });
    expect(histogramCount(a.counts.latency)).toBe(3);
    expect(Math.abs(a.at - Date.now())).toBeLessThan(5_000);
    const b = await counted(off);
    expect(b).toMatchObject({
      worker: 2,
      pid: off.handle.pid,
      counts: { classes: [0, 0, 0, 0, 0], aborted: 0 },
    });
    expect(histogramCount(b.counts.latency)).toBe(0);
    expect(b.counts.latency.sum).toBe(0);
    expect(b.rss).toBeGreaterThan(10 * 1024 ** 2);
    on.handle.kill();
    off.handle.kill();
    await Promise.all([on.exit, off.exit]);
  });
});
