// A primary whose event loop is blocked, with real processes: SIGSTOP stops it answering the root's
// pings exactly as a blocked loop would, while its workers are fine. The root must replace it within
// primary.hangTimeout plus one ping interval, leave none of its processes behind, log it and count it.
import { describe, expect, it } from 'vitest';
import { freePort, get, getJson } from '../helpers/http.js';
import { isAlive } from '../helpers/processes.js';
import { parseExposition } from '../helpers/prometheus.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

const HANG_TIMEOUT_MS = 2_000;
/** The hang watch pings every second: a primary is replaced at most this long after it stopped. */
const WORST_MS = HANG_TIMEOUT_MS + 1_000;
/** What a loaded 2-core machine may add to the root's timers and log. */
const MARGIN_MS = 1_500;

describe('a hung primary', () => {
  it('is SIGKILLed with its workers after primary.hangTimeout, and the app serves again from new ones', async () => {
    const port = await freePort();
    const root = startRoot({
      health: { port: 0 },
      apps: [
        fixtureApp('web', 'http-server.cjs', {
          instances: 2,
          env: { PORT: port },
          primary: { hangTimeout: `${HANG_TIMEOUT_MS}ms` },
        }),
      ],
    });
    const health = String(
      (await root.waitFor((e) => typeof e.health === 'string', 'the health address')).health,
    );
    await root.running('web');
    const address = `127.0.0.1:${port}`;
    const primary = Number((await root.waitFor((e) => typeof e.primary === 'number', 'the primary')).primary);
    const workers = root.events.filter((e) => e.app === 'web' && e.to === 'ready').map((e) => Number(e.pid));
    expect(workers).toHaveLength(2);
    expect(workers).toContain((await getJson<{ pid: number }>(address)).pid);

    const stoppedAt = Date.now();
    process.kill(primary, 'SIGSTOP');
    try {
      const from = root.events.length;
      const hung = await root.waitFor((e) => e.code === 'CLUSTERD_ERR_PRIMARY_HUNG', 'the hang', {
        timeoutMs: WORST_MS + 10_000,
      });
      const after = hung.time - stoppedAt;
      // Not before the bound (a ping sent just before the SIGSTOP may start the clock a moment early),
      // and within the bound, one ping interval and the margin.
      expect(after).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS - 100);
      expect(after).toBeLessThanOrEqual(WORST_MS + MARGIN_MS);
      expect(hung).toMatchObject({ level: 50, app: 'web', hangTimeout: HANG_TIMEOUT_MS });
      await root.waitFor(
        (e) =>
          e.app === 'web' &&
          /^primary exited unexpectedly \(hung: no answer to pings for \d+ ms\)/.test(e.msg),
        'the restart',
        { from },
      );
      await root.running('web', root.events.indexOf(hung));
    } finally {
      // Only for a failure above: a SIGKILLed primary is gone whether it was stopped or not.
      if (isAlive(primary)) process.kill(primary, 'SIGCONT');
    }
    // Nothing of the hung primary is left: it, and the workers it could no longer stop.
    expect([primary, ...workers].filter(isAlive)).toEqual([]);
    const served = await getJson<{ pid: number }>(address);
    expect(workers).not.toContain(served.pid);
    expect(root.events.filter((e) => e.msg.startsWith('primary started'))).toHaveLength(2);

    const text = parseExposition((await get(health, '/metrics')).body);
    expect(text.value('clusterd_primary_hangs_total', { app: 'web' })).toBe(1);
    expect(text.value('clusterd_primary_restarts_total', { app: 'web' })).toBe(1);
    expect((await getJson(health, '/livez')).live).toBe(true);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
