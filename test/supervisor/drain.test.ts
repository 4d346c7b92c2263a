// Drains that end: real apps (Fastify 5 with its 72 s keepAliveTimeout, Express 5 and node:https at 65 s,
// and https loaded before clusterd's preload through NODE_OPTIONS) reloaded three times under keep-alive
// load, each old worker holding idle keep-alive connections besides. shutdown.timeout (5 s) is far below
// the apps' keepAliveTimeout, so a drain that waits for idle sockets ends in SIGKILL and fails here.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { holdIdle, type IdleConnection } from '../helpers/idle.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type LogEvent, startRoot } from '../helpers/root.js';

const SHUTDOWN_TIMEOUT_MS = 5_000;

const apps = [
  { what: 'Fastify 5 (keepAliveTimeout 72 s)', script: 'fastify-app.mjs', tls: false, keepAlive: 72_000 },
  { what: 'Express 5 (keepAliveTimeout 65 s)', script: 'express-app.mjs', tls: false, keepAlive: 65_000 },
  { what: 'node:https (keepAliveTimeout 65 s)', script: 'https-app.mjs', tls: true, keepAlive: 65_000 },
  {
    what: 'node:https with https loaded first by NODE_OPTIONS --require',
    script: 'https-app.mjs',
    tls: true,
    keepAlive: 65_000,
    env: { NODE_OPTIONS: `--require ${join(FIXTURES, 'load-https.cjs')}` },
  },
];

const readyPids = (events: LogEvent[], from = 0) =>
  events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'ready')
    .map((e) => e.pid as number);

describe('drains that end', () => {
  it.each(apps)(
    '$what: 3 reloads under load, 0 failed requests, every old worker ends by itself after onShutdown',
    async ({ script, tls, keepAlive, env }) => {
      const root = startRoot({
        apps: [
          {
            name: 'web',
            script: join(FIXTURES, script),
            instances: 2,
            readyTimeout: '10s',
            shutdown: { timeout: SHUTDOWN_TIMEOUT_MS },
            ...(env ? { env } : {}),
          },
        ],
      });
      await root.running('web');
      const address = await root.address('web');
      const load = startLoad(address, { connections: 16, tls, maxSeconds: 60 });
      await load.after(50);
      const drained: number[] = [];
      const idle: IdleConnection[] = [];
      for (let i = 0; i < 3; i++) {
        const serving = readyPids(root.events).filter((pid) => !drained.includes(pid));
        // Every worker about to be replaced holds idle keep-alive connections no request will come on.
        idle.push(...(await holdIdle(address, serving, { tls })));
        const from = root.events.length;
        root.signal('SIGUSR2');
        const done = await root.waitFor(
          (e) => e.app === 'web' && typeof e.reload === 'string' && e.reload !== 'started',
          'the reload',
          { from },
        );
        expect(done.reload, String(done.reason)).toBe('done');
        drained.push(...serving);
        await load.after(50);
      }
      const stopped = await Promise.all(
        drained.map((pid) =>
          root.waitFor((e) => e.pid === pid && e.to === 'stopped', `worker ${pid} to stop`, {
            timeoutMs: SHUTDOWN_TIMEOUT_MS + 10_000,
          }),
        ),
      );
      const stats = await load.stop();
      expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
      expect(stats.ok).toBe(stats.requests);
      expect(stats.requests).toBeGreaterThan(200);
      // Each old worker exited by itself (onShutdown ends it with code 0), none by SIGKILL...
      for (const e of stopped)
        expect({ pid: e.pid, code: e.code, signal: e.signal }).toEqual({ pid: e.pid, code: 0, signal: null });
      // ... after its onShutdown handler ran...
      for (const pid of drained)
        await root.waitFor(
          (e) => e.pid === pid && e.msg === `onShutdown ran in ${pid}`,
          `onShutdown of ${pid}`,
        );
      // ... and the server closed the idle connections cleanly (a FIN, no reset).
      expect(new Set(await Promise.all(idle.map((c) => c.ended)))).toEqual(new Set(['end']));
      // The app is told, once, that its keep-alive timeout outlasts the drain.
      const warnings = root.events.filter((e) => e.app === 'web' && e.keepAliveTimeout !== undefined);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 40,
        keepAliveTimeout: keepAlive,
        shutdownTimeout: SHUTDOWN_TIMEOUT_MS,
      });
      for (const c of idle) c.destroy();
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
  );
});
