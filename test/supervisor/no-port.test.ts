// Workers that serve no port (queue consumers, schedulers, bots) and workers whose work is done: the
// `loaded` readiness, the readiness-timeout message that says how to fix it, and a worker that ends by
// itself (node:cluster's IPC channel no longer keeps it alive), for CommonJS and ES module entries.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const line = (app: string, msg: string) => (e: LogEvent) =>
  e.app === app && e.stream === 'stdout' && e.msg === msg;

describe('workers that serve no port', () => {
  it('fails a consumer with the default readiness, and says which readiness it needs', async () => {
    const root = startRoot({
      apps: [fixtureApp('queue', 'consumer.cjs', { readyTimeout: '1s', restart: { policy: 'never' } })],
    });
    const crashed = await root.waitFor((e) => e.app === 'queue' && e.to === 'crashed', 'crashed');
    expect(crashed.reason).toMatch(
      /^not ready within 1s \(readiness: listening\): it never listened on a port; .*needs readiness "loaded"; stopped with SIGTERM after \d+ms$/,
    );
    expect(root.events.some((e) => e.app === 'queue' && e.to === 'ready')).toBe(false);
  });

  it('runs CommonJS and ES module consumers with readiness "loaded", past readyTimeout', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('cjs', 'consumer.cjs', { instances: 2, readiness: 'loaded', readyTimeout: '1s' }),
        fixtureApp('esm', 'consumer.mjs', {
          instances: 1,
          readiness: 'loaded',
          readyTimeout: '2s',
          env: { CONNECT_MS: 300 },
        }),
      ],
    });
    await root.running('cjs');
    await root.running('esm');
    // The ES module is ready once its top-level await is over, not when its loading began.
    const connected = await root.waitFor(line('esm', 'connected'), 'esm connected');
    const ready = await root.waitFor((e) => e.app === 'esm' && e.to === 'ready', 'esm ready');
    expect(ready.time).toBeGreaterThanOrEqual(connected.time);
    // Proving that nothing happens: no readiness timeout, no restart.
    await delay(2_500);
    expect(root.events.filter((e) => e.to === 'crashed' || e.to === 'exited')).toEqual([]);

    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    const stopped = root.events.filter((e) => e.from === 'draining' && e.to === 'stopped');
    expect(stopped).toHaveLength(3);
    // Stopped by their signal after the (empty) drain, not SIGKILLed at shutdown.timeout.
    for (const e of stopped) expect(e.signal).not.toBe('SIGKILL');
  });

  it('does not take an ES module that fails to load for loaded', async () => {
    const root = startRoot({
      apps: [fixtureApp('bad', 'bad-import.mjs', { readiness: 'loaded', restart: { policy: 'never' } })],
    });
    const crashed = await root.waitFor((e) => e.app === 'bad' && e.to === 'crashed', 'crashed');
    expect(crashed.reason).toMatch(/does-not-exist\.mjs/);
    expect(root.events.some((e) => e.app === 'bad' && e.to === 'ready')).toBe(false);
  });
});

describe('workers whose work is done', () => {
  it('lets CommonJS and ES module jobs end by themselves: not restarted, the app stops, clusterd exits', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('cjs', 'job.cjs', { instances: 2, readiness: 'loaded' }),
        fixtureApp('esm', 'job.mjs', { instances: 1, readiness: 'loaded' }),
      ],
    });
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    for (const app of ['cjs', 'esm']) {
      const workers = root.events.filter((e) => e.app === app && e.worker !== undefined && 'to' in e);
      const ends = workers.filter((e) => e.from !== null && e.to !== 'ready');
      expect(ends.map((e) => [e.to, e.code])).toEqual(
        app === 'cjs'
          ? [
              ['exited', 0],
              ['exited', 0],
            ]
          : [['exited', 0]],
      );
      expect(root.events.filter((e) => e.app === app && e.msg === 'job done')).toHaveLength(
        app === 'cjs' ? 2 : 1,
      );
      expect(root.events.some((e) => e.app === app && typeof e.delay === 'number')).toBe(false);
      const stopped = root.events.find((e) => e.app === app && e.worker === undefined && e.to === 'stopped');
      expect(stopped?.reason).toBe('exit code 0');
    }
  });

  it("keeps an app's own forked helper, which lives by its IPC channel, alive", async () => {
    // readiness "loaded": the preload, which the helper inherits with the worker's execArgv, would send it
    // a `loaded` message if it acted outside the cluster worker.
    const root = startRoot({
      apps: [fixtureApp('web', 'forks-helper.cjs', { instances: 1, readiness: 'loaded' })],
    });
    await root.running('web');
    await root.waitFor(line('web', 'helper answered 3 times'), 'the helper to answer');
    expect(root.events.filter((e) => /^helper (exited|sent)/.test(e.msg))).toEqual([]);
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
