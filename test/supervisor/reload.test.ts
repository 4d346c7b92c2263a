// Zero-downtime rolling reloads under a real keep-alive HTTP load (autocannon on loopback): no failed
// request, every worker replaced, and a broken new version rolled back while the old one keeps serving.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const readyPids = (events: LogEvent[], from = 0) =>
  events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'ready')
    .map((e) => e.pid as number);

// The fewest workers that were ready and not yet draining at any moment after `from`.
function minimumCapacity(events: LogEvent[], from: number): number {
  const serving = new Set<number>(
    events
      .slice(0, from)
      .filter((e) => e.app === 'web' && e.to === 'ready')
      .map((e) => e.pid as number),
  );
  let min = serving.size;
  for (const e of events.slice(from)) {
    if (e.app !== 'web' || typeof e.pid !== 'number' || e.worker === undefined) continue;
    if (e.to === 'ready') serving.add(e.pid);
    if (e.to === 'draining' || e.to === 'crashed' || e.to === 'stopped') serving.delete(e.pid);
    min = Math.min(min, serving.size);
  }
  return min;
}

async function reload(root: Root): Promise<LogEvent> {
  const from = root.events.length;
  root.signal('SIGUSR2');
  return root.waitFor(
    (e) => e.app === 'web' && (e.reload === 'done' || e.reload === 'failed'),
    'the reload to end',
    {
      from,
    },
  );
}

// The app script lives in the test's directory, so a test can put a new version on disk.
function appIn(dir: string, fixture: string): string {
  const script = join(dir, 'app.cjs');
  copyFileSync(join(FIXTURES, fixture), script);
  return script;
}

describe('rolling reload', () => {
  it.each([
    ['a fast app', '/'],
    ['an app whose requests take 200 ms', '/slow?ms=200&quiet'],
  ])('reloads %s three times under keep-alive load with 0 failed requests', async (_what, path) => {
    const root = startRoot({
      apps: [{ name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 2, readyTimeout: '10s' }],
    });
    await root.running('web');
    const address = await root.address('web');
    const before = readyPids(root.events);
    const mark = root.events.length;
    const load = startLoad(address, { connections: 24, path, maxSeconds: 60 });
    await load.after(50);
    for (let i = 0; i < 3; i++) {
      const result = await reload(root);
      expect(result.reload, result.reason as string).toBe('done');
      await load.after(50);
    }
    const stats = await load.stop();
    expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
    expect(stats.ok).toBe(stats.requests);
    expect(stats.requests).toBeGreaterThan(200);
    const now = readyPids(
      root.events,
      root.events.findLastIndex((e) => e.reload === 'started'),
    );
    expect(now).toHaveLength(2);
    for (const pid of now) expect(before).not.toContain(pid);
    expect(minimumCapacity(root.events, mark)).toBeGreaterThanOrEqual(2);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it.each([
    ['throws at boot', 'crash-at-boot.cjs', /exit code 1: Error: boom at boot/],
    ['never becomes ready', 'never-listens.cjs', /not ready within 1s/],
  ])(
    'rolls back a new version that %s: the old workers serve on, 0 failed requests',
    async (_what, broken, reason) => {
      const root = startRoot({
        apps: [{ name: 'web', script: 'app.cjs', instances: 2, readyTimeout: '1s' }],
      });
      const script = appIn(root.dir, 'http-server.cjs');
      const good = readFileSync(script);
      await root.running('web');
      const address = await root.address('web');
      const before = readyPids(root.events);
      const load = startLoad(address, { connections: 20 });
      await load.after(50);

      copyFileSync(join(FIXTURES, broken), script);
      const failed = await reload(root);
      expect(failed.reload).toBe('failed');
      expect(failed.reason).toMatch(reason);
      await load.after(100);
      const stats = await load.stop();
      expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0 });
      // The old workers are still the ones serving, and the app still counts as running.
      const serving = new Set<number>();
      for (let i = 0; i < 20 && serving.size < 2; i++) {
        serving.add(
          JSON.parse(
            (await fetch(`http://${address}/`, { headers: { connection: 'close' } }).then((r) =>
              r.text(),
            )) as string,
          ).pid,
        );
      }
      expect([...serving].sort()).toEqual([...before].sort());
      expect(root.events.some((e) => e.app === 'web' && e.to === 'errored')).toBe(false);

      // The next reload can try again.
      writeFileSync(script, good);
      const retried = await reload(root);
      expect(retried.reload).toBe('done');
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
  );
});
