// Rolling reloads under load with the two balancings in which the primary accepts every connection and
// hands it to a worker (least-connections, sticky). The primary's listen stays open through the reload
// (it closes only with its last worker), and a draining worker is handed nothing new, so unlike kernel
// balancing (kernel.test.ts), where each closing listener resets what is queued on it, none is lost:
// keep-alive connections (autocannon) and fresh ones (a connection per request), both at once.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type Root, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

async function reload(root: Root): Promise<number[]> {
  const from = root.events.length;
  const result = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 30_000 });
  expect(result.code, result.stderr).toBe(0);
  return root.events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'draining')
    .map((e) => e.pid as number);
}

describe('reload under load with a handoff balancing', () => {
  // With stickyHeader the primary reads each connection's first request head and hands over a socket
  // with the bytes it read (no header here: each is keyed by its address, by the same path).
  it.each([
    ['least-connections', '/', {}],
    ['least-connections', '/slow?ms=200&quiet', {}],
    ['sticky', '/', {}],
    ['sticky', '/slow?ms=200&quiet', {}],
    ['sticky with stickyHeader', '/', { stickyHeader: 'X-Forwarded-For' }],
    ['sticky with stickyHeader', '/slow?ms=200&quiet', { stickyHeader: 'X-Forwarded-For' }],
  ])(
    '%s, GET %s: 2 reloads, keep-alive and fresh connections, 0 failed requests',
    async (what, path, extra) => {
      const balancing = what.split(' ')[0];
      const root = startRoot({
        apps: [
          {
            name: 'web',
            script: join(FIXTURES, 'http-server.cjs'),
            instances: 2,
            balancing,
            ...extra,
            env: { PORT: 0 },
          },
        ],
      });
      await root.running('web');
      const address = await root.address('web');
      const load = startLoad(address, { connections: 20, path });
      const traffic = startTraffic(address, { concurrency: 4, path });
      await load.after(50);
      await traffic.answered(20);
      const drained: number[] = [];
      for (let i = 0; i < 2; i++) {
        const replaced = await reload(root);
        expect(replaced).toHaveLength(2);
        drained.push(...replaced);
        await load.after(50);
        await traffic.answered(20);
      }
      // The load runs on until the last replaced worker has exited: its whole drain is under load.
      const stopped = await Promise.all(
        drained.map((pid) =>
          root.waitFor((e) => e.pid === pid && e.to === 'stopped', `worker ${pid} to stop`, {
            timeoutMs: 10_000,
          }),
        ),
      );
      const stats = await load.stop();
      const outcomes = await traffic.stop();
      expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
      expect(stats.ok).toBe(stats.requests);
      expect(stats.requests).toBeGreaterThan(200);
      expect(outcomes.filter((o) => o.error)).toEqual([]);
      expect(outcomes.length).toBeGreaterThan(60);
      // None of the old workers needed a SIGKILL: their drains ended.
      expect(stopped.filter((e) => e.signal === 'SIGKILL')).toEqual([]);
      // The fresh connections reached the last generation of workers.
      const last = new Set(
        root.events
          .slice(root.events.findLastIndex((e) => e.reload === 'started'))
          .filter((e) => e.app === 'web' && e.to === 'ready')
          .map((e) => e.pid as number),
      );
      expect(last.size).toBe(2);
      expect(outcomes.slice(-8).every((o) => o.pid !== undefined && last.has(o.pid))).toBe(true);
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
    60_000,
  );
});
