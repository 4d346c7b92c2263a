// `clusterd start` with real processes and real HTTP: workers share a port, get their ids and env,
// CommonJS and ES module apps both run, and SIGTERM stops everything cleanly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, get, getJson } from '../helpers/http.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

// One worker that writes 20,000 lines at once and exits as soon as they are flushed.
const burstApp = (extra: Record<string, unknown> = {}) =>
  fixtureApp('burst', 'burst-then-exit.cjs', {
    instances: 1,
    env: { LINES: 20_000 },
    restart: { policy: 'never' },
    ...extra,
  });

describe('clusterd start', () => {
  it('runs N workers that answer on one port, then stops cleanly on SIGTERM', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 3 })] });
    await root.running('web');
    const address = await root.address('web');
    const seen = new Map<number, number>();
    for (let i = 0; i < 30 && seen.size < 3; i++) {
      const body = await getJson<{ worker: number; pid: number }>(address);
      seen.set(body.worker, body.pid);
    }
    expect([...seen.keys()].sort()).toEqual([0, 1, 2]);
    const ready = root.events.filter((e) => e.app === 'web' && e.to === 'ready');
    expect(ready.map((e) => e.pid).sort()).toEqual([...seen.values()].sort());
    expect(new Set(ready.map((e) => e.address))).toEqual(new Set([address]));

    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    const stopped = root.events.filter(
      (e) => e.app === 'web' && e.to === 'stopped' && e.worker !== undefined,
    );
    expect(stopped.map((e) => e.worker).sort()).toEqual([0, 1, 2]);
    expect(root.events.at(-1)).toMatchObject({ msg: 'clusterd stopped', exitCode: 0 });
  });

  it('logs every transition as one structured event', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] });
    await root.running('web');
    root.signal('SIGTERM');
    await root.waitForExit();
    const transitions = root.events.filter((e) => e.app === 'web' && e.worker === 0 && 'to' in e);
    expect(transitions.map((e) => [e.from, e.to])).toEqual([
      [null, 'starting'],
      ['starting', 'ready'],
      ['ready', 'draining'],
      ['draining', 'stopped'],
    ]);
    for (const e of transitions)
      expect(e).toMatchObject({ level: 30, app: 'web', worker: 0, pid: expect.any(Number) });
    const app = root.events.filter((e) => e.app === 'web' && e.worker === undefined && 'to' in e);
    expect(app.map((e) => e.to)).toEqual(['running', 'stopping', 'stopped']);
  });

  it('runs CommonJS and ES module apps side by side, each with its own id and env', async () => {
    const root = startRoot({
      defaults: { env: { SHARED: 'yes', REMOVED: 'from-defaults' } },
      apps: [
        fixtureApp('cjs', 'http-server.cjs', { instances: 2, env: { ONLY_CJS: '1', REMOVED: null } }),
        fixtureApp('esm', 'http-server.mjs', { instances: 2 }),
      ],
    });
    await Promise.all([root.running('cjs'), root.running('esm')]);
    const [cjs, esm] = await Promise.all([root.address('cjs'), root.address('esm')]);
    expect(cjs).not.toBe(esm);
    expect(await getJson(cjs)).toMatchObject({ app: 'cjs', module: 'cjs' });
    expect(await getJson(esm)).toMatchObject({ app: 'esm', module: 'esm' });
    const env = await getJson<Record<string, string>>(cjs, '/env');
    expect(env).toMatchObject({
      CLUSTERD_APP: 'cjs',
      SHARED: 'yes',
      ONLY_CJS: '1',
      CLUSTERD_TEST_TAG: root.tag,
    });
    expect(env.NODE_APP_INSTANCE).toBe(env.CLUSTERD_WORKER_ID);
    expect(['0', '1']).toContain(env.NODE_APP_INSTANCE);
    expect(env).not.toHaveProperty('REMOVED');
    root.signal('SIGINT');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('lets a request in flight when SIGTERM arrives complete with 200', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'http-server.cjs', { instances: 2, shutdown: { timeout: '10s' } })],
    });
    await root.running('web');
    const address = await root.address('web');
    const inFlight = get(address, '/slow?ms=800');
    await root.waitFor(
      (e) => e.app === 'web' && String(e.msg).startsWith('slow request started'),
      'the request to arrive',
    );
    root.signal('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ slow: true });
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('ends a worker that ignores its stop signal with SIGKILL after shutdown.timeout, not before', async () => {
    const root = startRoot({
      apps: [fixtureApp('stubborn', 'ignores-sigterm.cjs', { instances: 1, shutdown: { timeout: '700ms' } })],
    });
    await root.running('stubborn');
    root.signal('SIGTERM');
    const draining = await root.waitFor((e) => e.to === 'draining', 'draining');
    const stopped = await root.waitFor(
      (e) => e.app === 'stubborn' && e.to === 'stopped' && e.worker === 0,
      'stopped',
    );
    expect(stopped.signal).toBe('SIGKILL');
    // Both times are the root's log times, each an IPC hop after the primary's event: the primary starts
    // its 700 ms timer right after it reports the drain, but the root may log that report a few ms late
    // (699 ms was seen under a loaded CI). An immediate SIGKILL would show as a few ms, far below this.
    expect(stopped.time - draining.time).toBeGreaterThanOrEqual(700 - 25);
    expect(root.output.some((l) => l.includes('SIGTERM ignored'))).toBe(true);
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('stops immediately on a second signal', async () => {
    const root = startRoot({
      apps: [fixtureApp('stubborn', 'ignores-sigterm.cjs', { instances: 2, shutdown: { timeout: '30s' } })],
    });
    await root.running('stubborn');
    root.signal('SIGTERM');
    await root.waitFor((e) => e.to === 'stopping', 'stopping');
    const second = Date.now();
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 143, signal: null });
    expect(Date.now() - second).toBeLessThan(5_000);
  });

  it('honours readiness "message": a worker is ready when it says so', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('msg', 'ready-message.cjs', {
          instances: 1,
          readiness: 'message',
          env: { READY_AFTER_MS: 300 },
        }),
      ],
    });
    const ready = await root.waitFor((e) => e.app === 'msg' && e.to === 'ready', 'ready');
    const sent = root.events.find((e) => e.msg === 'sending ready');
    expect(sent, 'the worker announced readiness before it counted as ready').toBeDefined();
    expect(ready.time).toBeGreaterThanOrEqual(sent?.time ?? Number.POSITIVE_INFINITY);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('makes a worker with a metrics server ready on its PORT, not on the metrics server that listened first', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const root = startRoot({
      apps: [
        fixtureApp('web', 'with-metrics.cjs', { instances: 2, env: { PORT: port, METRICS_PORT: metrics } }),
      ],
    });
    await root.running('web');
    const ready = root.events.filter((e) => e.app === 'web' && e.to === 'ready');
    expect(ready.map((e) => e.address)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    expect(await getJson<{ pid: number }>(`127.0.0.1:${port}`)).toMatchObject({ pid: expect.any(Number) });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it("takes any listen when PORT comes from clusterd's own environment, not from the app's env", async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 1 }] },
      {
        files: {
          'app.cjs': "require('node:http').createServer((_q, r) => r.end('ok')).listen(0, '127.0.0.1');",
        },
        env: { PORT: '9' },
      },
    );
    const ready = await root.waitFor((e) => e.app === 'web' && e.to === 'ready', 'ready');
    expect(ready.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ready.address).not.toBe('127.0.0.1:9');
  });

  it('says which listen it waited for when the app never listens on its PORT', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'consumer.cjs', {
          instances: 1,
          env: { PORT: 3999 },
          readyTimeout: '500ms',
          restart: { policy: 'never' },
        }),
      ],
    });
    const crashed = await root.waitFor((e) => e.app === 'web' && e.to === 'crashed', 'crashed');
    expect(crashed.reason).toMatch(
      /^not ready within 500ms \(readiness: listening\): it never listened on PORT \(3999\)/,
    );
  });

  it('forwards worker output line by line, tagged with app and worker', async () => {
    const root = startRoot({
      apps: [fixtureApp('msg', 'ready-message.cjs', { instances: 2, readiness: 'message' })],
    });
    await root.running('msg');
    // A line comes through the worker's stdout pipe, its `ready` through the IPC channel: either may be first.
    await root.waitForCount((e) => e.msg === 'sending ready', 2, 'both lines');
    const lines = root.events.filter((e) => e.msg === 'sending ready');
    expect(lines.map((e) => e.worker).sort()).toEqual([0, 1]);
    for (const e of lines)
      expect(e).toMatchObject({ app: 'msg', stream: 'stdout', level: 30, pid: expect.any(Number) });
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('forwards every line a worker wrote before it exited', async () => {
    const root = startRoot({ apps: [burstApp()] });
    expect((await root.waitForExit()).code).toBe(0);
    const lines = root.events.filter((e) => e.app === 'burst' && e.stream === 'stdout');
    expect(lines).toHaveLength(20_000);
    expect(lines.at(-1)?.msg).toBe('burst 19999');
  });

  it('supports the clusterd/worker helpers: ready() and onShutdown()', async () => {
    const root = startRoot({
      apps: [fixtureApp('helpers', 'with-helpers.mjs', { instances: 1, readiness: 'message' })],
    });
    const ready = await root.waitFor((e) => e.app === 'helpers' && e.to === 'ready', 'ready');
    const called = root.events.find((e) => e.msg === 'calling ready()');
    expect(ready.time).toBeGreaterThanOrEqual(called?.time ?? Number.POSITIVE_INFINITY);
    root.signal('SIGTERM');
    const stopped = await root.waitFor(
      (e) => e.app === 'helpers' && e.worker === 0 && e.to === 'stopped',
      'stopped',
    );
    // The handler ran to its end and the worker exited on its own, after draining.
    expect(stopped).toMatchObject({ code: 0, signal: null });
    const lines = root.events.filter((e) => e.app === 'helpers' && e.stream === 'stdout').map((e) => e.msg);
    expect(lines).toEqual(['calling ready()', 'cleanup started (draining: true)', 'cleanup done']);
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('also writes the output of an app to its logs.file, in the foreground', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('msg', 'ready-message.cjs', {
          instances: 1,
          readiness: 'message',
          logs: { file: 'logs/msg.txt' },
        }),
      ],
    });
    await root.running('msg');
    root.signal('SIGTERM');
    await root.waitForExit();
    const file = readFileSync(join(root.dir, 'logs/msg.txt'), 'utf8');
    expect(file).toMatch(/"app":"msg","worker":0,"pid":\d+,"stream":"stdout","msg":"sending ready"/);
  });

  it('writes every line to logs.file before the primary exits, even a burst right before the end', async () => {
    const root = startRoot({ apps: [burstApp({ logs: { file: 'logs/burst.txt' } })] });
    expect((await root.waitForExit()).code).toBe(0);
    const lines = readFileSync(join(root.dir, 'logs/burst.txt'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(lines.at(-1)).toMatch(/"msg":"burst 19999"/);
  });
});
