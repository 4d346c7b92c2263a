// Chaos under load: a 4-worker app serves steady traffic while random serving workers are SIGKILLed
// every few hundred ms for 20 s. Capacity must come back after every kill, the only failed requests
// are those in flight on a worker at the moment it was killed, and the app never goes errored.
import { describe, expect, it } from 'vitest';
import { killAtRandom, servingPids } from '../helpers/chaos.js';
import { isAlive } from '../helpers/processes.js';
import { fixtureApp, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

const CHAOS_MS = 20_000;
const INSTANCES = 4;

describe('chaos under load', () => {
  it('survives random SIGKILLs of serving workers for 20 s with nothing lost but the requests they held', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: INSTANCES })] });
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address, { concurrency: 4 });
    await traffic.answered(100);

    const kills = await killAtRandom(root, CHAOS_MS);
    // Capacity comes back: every slot has a live, ready worker again, and traffic flows.
    await root.waitFor(() => servingPids(root.events).filter(isAlive).length === INSTANCES, 'full capacity');
    await traffic.answered(100);
    const outcomes = await traffic.stop();

    // Every kill was followed by a replacement that became ready, quickly (backoff 100 ms + boot).
    const readies = root.events.filter((e) => e.app === 'web' && e.to === 'ready' && e.worker !== undefined);
    const recoveries = kills.map((kill) => {
      const slot = root.events.find((e) => e.pid === kill.pid && e.to === 'ready')?.worker;
      const next = readies.find((e) => e.worker === slot && e.time > kill.at);
      expect(next, `a replacement for worker ${slot} (pid ${kill.pid})`).toBeDefined();
      return (next?.time ?? Number.POSITIVE_INFINITY) - kill.at;
    });
    recoveries.sort((a, b) => a - b);
    expect(recoveries.at(-1)).toBeLessThan(3_000);

    // A failed request was in flight when a kill happened; no request failed on a surviving worker.
    const failed = outcomes.filter((o) => o.error);
    const unexplained = failed.filter((o) => !kills.some((k) => k.at >= o.start - 20 && k.at <= o.end + 20));
    expect(unexplained).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(kills.length * 4);
    const killedPids = new Set(kills.map((k) => k.pid));
    for (const o of outcomes) {
      const kill = kills.find((k) => k.pid === o.pid);
      if (kill)
        expect(o.end, 'no answer from a worker after it was killed').toBeLessThanOrEqual(kill.at + 20);
    }

    expect(kills.length).toBeGreaterThanOrEqual(30);
    expect(root.events.some((e) => e.app === 'web' && e.to === 'errored')).toBe(false);
    console.info(
      `chaos: ${kills.length} kills, ${outcomes.length} requests, ${failed.length} failed (all in flight on a killed worker), ` +
        `recovery median ${recoveries[Math.floor(recoveries.length / 2)]} ms, max ${recoveries.at(-1)} ms, ` +
        `${killedPids.size} distinct workers killed`,
    );
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);
});
