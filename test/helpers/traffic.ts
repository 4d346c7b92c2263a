// Steady HTTP traffic for fault tests: a few loops, each sending one request at a time on a fresh
// connection, recording when each started and ended, and which worker answered or what failed. Fresh
// connections tie every failure to the moment it happened, so a test can say which fault caused it.
import { get } from './http.js';

export interface Outcome {
  start: number;
  end: number;
  /** The worker that answered (the fixtures put their pid in the body). */
  pid?: number;
  error?: string;
}

export function startTraffic(address: string, { concurrency = 4, path = '/' } = {}) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const start = Date.now();
      try {
        const res = await get(address, path, 5_000);
        const pid = res.status === 200 ? (JSON.parse(res.body) as { pid?: number }).pid : undefined;
        outcomes.push({
          start,
          end: Date.now(),
          ...(pid === undefined ? { error: `status ${res.status}` } : { pid }),
        });
      } catch (error) {
        outcomes.push({ start, end: Date.now(), error: (error as Error).message });
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    outcomes,
    ok: () => outcomes.filter((o) => !o.error).length,
    /** Resolves once `count` more requests have succeeded. */
    async answered(count: number, timeoutMs = 10_000): Promise<void> {
      const target = outcomes.filter((o) => !o.error).length + count;
      const deadline = Date.now() + timeoutMs;
      while (outcomes.filter((o) => !o.error).length < target) {
        if (Date.now() > deadline) throw new Error(`traffic: fewer than ${count} answers in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
