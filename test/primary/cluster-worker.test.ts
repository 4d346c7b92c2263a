// The node:cluster adapter with real worker processes: a worker gets exactly the environment built for
// it (variables the app removes are gone), and the forking process's own environment is left as it was.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
// The built module: its preload is the compiled dist/worker/preload.cjs (npm test builds first).
import { ClusterWorkerProcess } from '../../dist/primary/process/cluster-worker.js';
import type { WorkerExit } from '../../src/primary/pool/tracked-worker.js';
import { resolvedApp } from '../helpers/fake-pool.js';
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
});
