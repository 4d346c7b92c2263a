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

/** SIGKILLs a random live serving worker of `app` every 150-500 ms for `ms`; resolves with the kills. */
export async function killAtRandom(
  root: Root,
  ms: number,
  app = 'web',
): Promise<{ pid: number; at: number }[]> {
  const kills: { pid: number; at: number }[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // The chaos cadence itself, not a wait for something to happen.
    await delay(150 + Math.random() * 350);
    const serving = servingPids(root.events, app).filter(isAlive);
    const victim = serving[Math.floor(Math.random() * serving.length)];
    if (victim === undefined) continue;
    kills.push({ pid: victim, at: Date.now() });
    process.kill(victim, 'SIGKILL');
  }
  return kills;
}
