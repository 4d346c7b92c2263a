// Workers SIGKILLed under load with the handoff balancings: a connection handed to a worker that has
// just died (its channel closed, the primary not yet told of its exit) goes to another worker, so the
// only failed requests are those in flight on a worker when it was killed; capacity comes back after
// every kill. Clients come from several source addresses (127.0.0.N), so that sticky spreads them.
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { auditKills, killAtRandom, servingPids } from '../helpers/chaos.js';
import { isAlive } from '../helpers/processes.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

const CHAOS_MS = 8_000;
const INSTANCES = 4;
interface Outcome {
  start: number;
  end: number;
  pid?: number;
  error?: string;
}

function getFrom(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body).pid)
          : reject(new Error(`status ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Loops of one request at a time on fresh connections, each loop from its own addresses in turn. */
function traffic(port: number, loops = 4) {
  const outcomes: Outcome[] = [];
  let running = true;
  const run = async (loop: number) => {
    for (let i = 0; running; i++) {
      const start = Date.now();
      const ip = `127.0.${loop + 1}.${(i % 20) + 2}`;
      try {
        const pid = await getFrom(port, ip);
        outcomes.push({ start, end: Date.now(), pid });
      } catch (error) {
        outcomes.push({ start, end: Date.now(), error: (error as Error).message });
      }
    }
  };
  const all = Array.from({ length: loops }, (_, loop) => run(loop));
  const ok = () => outcomes.filter((o) => !o.error).length;
  return {
    async answered(count: number): Promise<void> {
      const target = ok() + count;
      while (ok() < target) await delay(5);
    },
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(all);
      return outcomes;
    },
  };
}

describe('SIGKILLs under load with a handoff balancing', () => {
  it.each(['least-connections', 'sticky'])(
    '%s: nothing lost but the requests in flight on a killed worker',
    async (balancing) => {
      const root = startRoot({
        apps: [fixtureApp('web', 'http-server.cjs', { instances: INSTANCES, balancing, env: { PORT: 0 } })],
      });
      await root.running('web');
      const address = await root.address('web');
      const load = traffic(Number(address.slice(address.lastIndexOf(':') + 1)));
      await load.answered(100);

      const kills = await killAtRandom(root, CHAOS_MS);
      await root.waitFor(
        () => servingPids(root.events).filter(isAlive).length === INSTANCES,
        'full capacity',
      );
      await load.answered(100);
      const outcomes = await load.stop();

      const audit = auditKills(outcomes, kills, root.events);
      expect(audit.unlogged).toEqual([]);
      expect(audit.unexplained).toEqual([]);
      expect(
        audit.answeredAfterKill,
        'no answer from a worker to a request sent after it was killed',
      ).toEqual([]);
      const share = audit.failed / Math.max(1, audit.exposed);
      // Not the worst case, every exposed request lost (3-3.75 times the expected loss in the runs
      // measured), which a fault that fails the other workers' requests too would give: the victims' share,
      // with room for an uneven spread. Measured: 0.2-0.45 of the expected loss, loaded or not.
      expect(audit.failed).toBeLessThanOrEqual(1.5 * audit.expectedLoss);
      expect(kills.length).toBeGreaterThanOrEqual(12);
      expect(root.events.some((e) => e.app === 'web' && e.to === 'errored')).toBe(false);
      console.info(
        `${balancing} chaos: ${kills.length} kills, ${outcomes.length} requests, ${audit.failed} failed; ` +
          `${audit.exposed} exposed to a kill, ${(share * 100).toFixed(0)}% of them failed (expected loss ${audit.expectedLoss.toFixed(0)})`,
      );
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
    40_000,
  );
});
