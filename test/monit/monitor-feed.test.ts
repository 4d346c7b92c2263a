// The `monitor` feed against a real root: the recent events and kept samples first, then a sample every
// second with the request figures monit and the dashboard chart (p50, p99, loop delay); the root samples
// only while someone watches; bad requests are refused.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connect, type FleetSample, type MonitorItem } from '../../src/client/index.js';
import { ask, socketOf } from '../helpers/control.js';
import { fixtureApp, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

async function take(stream: AsyncIterator<MonitorItem>, until: (items: MonitorItem[]) => boolean) {
  const items: MonitorItem[] = [];
  while (!until(items)) {
    const next = await stream.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}
const samples = (items: MonitorItem[]) => items.flatMap((i) => ('sample' in i ? [i.sample] : []));

describe('monitor feed', () => {
  it('streams samples with request figures, recent events first, and samples only while watched', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'http-server.cjs', { instances: 2 }),
        fixtureApp('other', 'http-server.cjs', { instances: 1 }),
      ],
    });
    await Promise.all([root.running('web'), root.running('other')]);
    const client = await connect({ cwd: root.dir, env: root.env });
    const traffic = startTraffic(await root.address('web'));
    try {
      const feed = client.monitor({ app: 'web' });
      // The events logged before it opened come first: the app's start among them, not the other app's.
      const first = await take(feed, (items) => samples(items).length >= 1);
      const events = first.flatMap((i) => ('event' in i ? [i.event] : []));
      expect(events.some((e) => e.app === 'web' && e.to === 'running')).toBe(true);
      expect(events.every((e) => e.app === 'web')).toBe(true);
      // Samples a second apart, of the app asked for, with the figures of live traffic.
      const items = await take(
        feed,
        (items) =>
          (samples(items)
            .at(-1)
            ?.apps[0]?.workers.every((w) => (w.requests?.rate ?? 0) > 0) ??
            false) &&
          samples(items).length >= 3,
      );
      const got = samples(items);
      const last = got.at(-1) as FleetSample;
      expect(last.apps.map((a) => a.name)).toEqual(['web']);
      const gaps = got.slice(1).map((s, i) => s.at - (got[i] as FleetSample).at);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(900);
        expect(gap).toBeLessThan(3_000);
      }
      for (const w of last.apps[0]?.workers ?? []) {
        expect(w).not.toHaveProperty('script');
        expect(w.memory).toBeGreaterThan(1024 * 1024);
        expect(w.requests?.p50).toBeGreaterThan(0);
        expect(w.requests?.p99).toBeGreaterThanOrEqual(w.requests?.p50 ?? 0);
        expect(w.requests?.loopDelay).toBeGreaterThanOrEqual(0);
      }
      feed.close();
      // The next watcher gets the kept samples first.
      const again = client.monitor({ history: 300 });
      const history = await take(again, (items) => samples(items).length >= got.length);
      expect(samples(history)[0]?.apps.map((a) => a.name)).toEqual(['web', 'other']);
      again.close();
    } finally {
      await traffic.stop();
    }
    // Nobody watches: no sample is taken (a fixed wait, to show that something does NOT happen). One
    // under way as the last watcher left may still land.
    const closed = Date.now();
    await sleep(3_000);
    const reopened = Date.now();
    const later = client.monitor({ history: 300 });
    const after = await take(later, (items) => samples(items).some((s) => s.at >= reopened));
    later.close();
    expect(samples(after).filter((s) => s.at > closed + 1_500 && s.at < reopened)).toEqual([]);

    // Refusals.
    const socket = socketOf(root);
    for (const [request, message] of [
      [{ cmd: 'monitor', history: -1 }, '"history" must be a whole number of seconds between 0 and 300'],
      [{ cmd: 'monitor', history: 1.5 }, '"history" must be'],
      [{ cmd: 'monitor', history: 301 }, '"history" must be'],
      [{ cmd: 'monitor', app: 'nope' }, 'no app named "nope"'],
    ] as const) {
      const answer = await ask(socket, { id: 1, ...request }).answer;
      expect(answer).toMatchObject({ ok: false, error: { message: expect.stringContaining(message) } });
    }
    client.close();
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 40_000);
});
