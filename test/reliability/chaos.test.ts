// Chaos under load: a 4-worker app serves steady traffic while random serving workers are SIGKILLed
// every few hundred ms for 20 s. Capacity must come back after every kill, the only failed requests
// are those in flight on a worker at the moment it was killed, and the app never goes errored.
import { describe, expect, it } from 'vitest';
import { auditKills, killAtRandom, servingPids } from '../helpers/chaos.js';
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

    // Every kill was followed by a replacement that became ready, quickly.
    const readies = root.events.filter((e) => e.app === 'web' && e.to === 'ready' && e.worker !== undefined);
    const recoveries = kills.map((kill) => {
      const slot = root.events.find((e) => e.pid === kill.pid && e.to === 'ready')?.worker;
      const next = readies.find((e) => e.worker === slot && e.time > kill.at);
      expect(next, `a replacement for worker ${slot} (pid ${kill.pid})`).toBeDefined();
      return (next?.time ?? Number.POSITIVE_INFINITY) - kill.at;
    });
    recoveries.sort((a, b) => a - b);
    // A serving worker SIGKILLed from outside is no crash loop (lifecycle/policy.ts): its slot, with no
    // failed start, restarts it at once, every time. Were kills counted as failed starts, the waits would
    // grow (100, 200, 400 ms ... 15 s) and the app would end errored.
    const backoffs = root.events.filter((e) => e.app === 'web' && typeof e.delay === 'number');
    expect(backoffs.length).toBeGreaterThanOrEqual(kills.length);
    expect(backoffs.filter((e) => e.delay !== 0 || e.failedStarts !== 0)).toEqual([]);
    // So a recovery is a boot: ~150-300 ms measured; the bound is for a boot on a loaded machine.
    expect(recoveries.at(-1)).toBeLessThan(3_000);

    // A failed request was in flight when a kill happened; no request failed on a surviving worker.
    const audit = auditKills(outcomes, kills, root.events);
    const failed = outcomes.filter((o) => o.error);
    expect(audit.unlogged).toEqual([]);
    expect(audit.unexplained).toEqual([]);
    expect(audit.answeredAfterKill, 'no answer from a worker to a request sent after it was killed').toEqual(
      [],
    );
    const killedPids = new Set(kills.map((k) => k.pid));
    const share = audit.failed / Math.max(1, audit.exposed);
    // Not the worst case, every exposed request lost (3-3.75 times the expected loss in the runs
    // measured), which a fault that fails the other workers' requests too would give: the victims' share,
    // with room for an uneven spread. Measured: 0.2-0.45 of the expected loss, loaded or not.
    expect(audit.failed).toBeLessThanOrEqual(1.5 * audit.expectedLoss);
    expect(kills.length).toBeGreaterThanOrEqual(30);
    expect(root.events.some((e) => e.app === 'web' && e.to === 'errored')).toBe(false);
    console.info(
      `chaos: ${kills.length} kills, ${outcomes.length} requests, ${failed.length} failed (all in flight on a killed worker), ` +
        `recovery median ${recoveries[Math.floor(recoveries.length / 2)]} ms, max ${recoveries.at(-1)} ms, ` +
        `${killedPids.size} distinct workers killed; ${audit.exposed} requests exposed to a kill, ${(share * 100).toFixed(0)}% of them failed (expected loss ${audit.expectedLoss.toFixed(0)})`,
    );
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);
});
