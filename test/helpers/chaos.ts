// Chaos under load, shared by the fault tests: which workers serve, from the root's log, and SIGKILLs
// of random serving ones at a steady cadence.
import { setTimeout as delay } from 'node:timers/promises';
import { isAlive } from './processes.js';
import type { LogEvent, Root } from './root.js';

/** Pids of `app`'s workers that said ready and have not ended (or begun to drain) since. */
export function servingPids(events: LogEvent[], app = 'web'): number[] {
  const serving = new Set<number>();
  for (const e of events) {
    if (e.app !== app || e.worker === undefined) continue;
    if (e.to === 'ready') serving.add(e.pid as number);
    if (e.to === 'crashed' || e.to === 'stopped' || e.to === 'draining') serving.delete(e.pid as number);
  }
  return [...serving];
}

/** One SIGKILL: of which worker, when (just before the signal), and how many served then, it included. */
export interface Kill {
  pid: number;
  at: number;
  serving: number;
}

/** SIGKILLs a random live serving worker of `app` every 150-500 ms for `ms`; resolves with the kills. */
export async function killAtRandom(root: Root, ms: number, app = 'web'): Promise<Kill[]> {
  const kills: Kill[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // The chaos cadence itself, not a wait for something to happen.
    await delay(150 + Math.random() * 350);
    const serving = servingPids(root.events, app).filter(isAlive);
    const victim = serving[Math.floor(Math.random() * serving.length)];
    if (victim === undefined) continue;
    kills.push({ pid: victim, at: Date.now(), serving: serving.length });
    process.kill(victim, 'SIGKILL');
  }
  return kills;
}

/** A request of a fault test: when it started and ended (this process's clock), who answered or why not. */
interface Timed {
  start: number;
  end: number;
  pid?: number;
  error?: string;
}

/**
 * Which requests a kill may account for, from causality alone (no timing margin, so a loaded machine
 * cannot make it flaky). A request can be lost to the SIGKILL of worker W only if it ended after the kill
 * was sent (its `end` is taken when this process sees the failure, later still on a loaded machine) and
 * it started before the primary logged W's exit (until then the primary may still hand W a connection;
 * it hands it none after). And W answers no request that started after its kill: `kill.at` is taken just
 * before the signal, and a killed process runs no more code.
 */
export function auditKills(outcomes: Timed[], kills: Kill[], events: LogEvent[], app = 'web') {
  const exitAt = new Map<number, number>();
  for (const e of events)
    if (e.app === app && e.worker !== undefined && (e.to === 'crashed' || e.to === 'stopped'))
      exitAt.set(e.pid as number, e.time);
  const window = (k: Kill, o: Timed) =>
    o.end >= k.at && o.start <= (exitAt.get(k.pid) ?? Number.POSITIVE_INFINITY);
  const failed = outcomes.filter((o) => o.error);
  const exposed = outcomes.filter((o) => kills.some((k) => window(k, o)));
  return {
    /** Kills whose exit the primary never logged. */
    unlogged: kills.filter((k) => !exitAt.has(k.pid)),
    /** Failed requests no kill accounts for. */
    unexplained: failed.filter((o) => !kills.some((k) => window(k, o))),
    /** Requests a killed worker answered although they started after its kill. */
    answeredAfterKill: outcomes.filter((o) => kills.some((k) => k.pid === o.pid && o.start > k.at)),
    /** Requests a kill could have reached (in flight on some worker when one was killed). */
    exposed: exposed.length,
    failed: failed.length,
    /**
     * The failures to expect if only the victims' requests fail: the balancing spreads requests over the
     * workers that serve, so a victim holds about 1/serving of those its kill exposes (a request exposed
     * to several kills: the sum of those, at most 1). A fault that loses the other workers' requests too
     * (a reset listener, a primary that drops every pending handoff) fails all of them, `exposed`.
     */
    expectedLoss: exposed.reduce((sum, o) => {
      const odds = kills.filter((k) => window(k, o)).reduce((p, k) => p + 1 / k.serving, 0);
      return sum + Math.min(1, odds);
    }, 0),
  };
}
