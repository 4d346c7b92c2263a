// A crash loop at scale: an app of 2 workers that die at boot, restarted ~1,000 times with a 1 ms backoff
// (each slot may fail 500 restarts in a row). The root and the primary must not leak: from restart 300
// (warmed up) to restart 900, resident memory and open file descriptors stay flat. The limit then puts
// the app in errored.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const RESTARTS = 1_000;
const INSTANCES = 2;
/** Failed restarts in a row allowed per slot: the first slot past it errors the app. */
const MAX_RESTARTS = RESTARTS / INSTANCES;

/**
 * RSS and open fds of `pid`. The fd count moves with the workers alive at the instant (each holds ~4 fds
 * in the primary, and an exited one until its pipes close), so the floor over 40 samples 10 ms apart is
 * taken: what the process holds for itself.
 */
async function usage(pid: number): Promise<{ rssMiB: number; fds: number }> {
  let fds = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 40; i++) {
    fds = Math.min(fds, readdirSync(`/proc/${pid}/fd`).length);
    await delay(10);
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return { rssMiB: Math.round(rssKiB / 102.4) / 10, fds };
}

describe('crash loop at scale', () => {
  it('survives 1,000 restarts without a leak in the root or the primary, then goes errored', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('boom', 'crash-at-boot.cjs', {
          instances: INSTANCES,
          restart: {
            backoff: { initial: '1ms', factor: 1, max: '1ms' },
            maxRestarts: MAX_RESTARTS,
          },
        }),
      ],
    });
    const crashed = (e: LogEvent) => e.app === 'boom' && e.to === 'crashed';
    await root.waitForCount(crashed, 300, '300 crashes', 90_000);
    const primary = root.events.find((e) => typeof e.primary === 'number')?.primary as number;
    const before = { root: await usage(root.child.pid as number), primary: await usage(primary) };
    // 100 restarts before the limit: measuring takes 0.8 s, in which a 1 ms backoff restarts ~50 times on
    // a busy machine, and the primary exits at the limit (50 left it gone before it was read).
    await root.waitForCount(crashed, RESTARTS - 100, `${RESTARTS - 100} crashes`, 120_000);
    const after = { root: await usage(root.child.pid as number), primary: await usage(primary) };

    const errored = await root.waitFor((e) => e.app === 'boom' && e.to === 'errored', 'errored', {
      timeoutMs: 30_000,
    });
    expect(errored.reason).toBe(
      `exit code 1: Error: boom at boot; ${MAX_RESTARTS + 1} failed starts in a row (restart.maxRestarts ${MAX_RESTARTS})`,
    );
    // The slot that hit the limit had exactly the restarts it allows decided, and one more failed start;
    // the other had at most as many, each started but one still waiting for its backoff when the limit
    // was hit (errored cancels it).
    const boom = root.events.filter((e) => e.app === 'boom' && e.worker !== undefined);
    const last = (errored.lastExits as { worker: number }[]).at(-1)?.worker;
    for (let slot = 0; slot < INSTANCES; slot++) {
      const events = boom.filter((e) => e.worker === slot);
      const backoffs = events.filter((e) => typeof e.delay === 'number');
      const starts = events.filter((e) => e.to === 'starting');
      const crashes = events.filter((e) => e.to === 'crashed');
      if (slot === last) {
        expect(backoffs, `slot ${slot} restarts`).toHaveLength(MAX_RESTARTS);
        expect(crashes, `slot ${slot} failed starts`).toHaveLength(MAX_RESTARTS + 1);
        expect(backoffs.map((e) => e.failedStarts)).toEqual(
          [...Array(MAX_RESTARTS).keys()].map((n) => n + 1),
        );
      } else {
        expect(backoffs.length, `slot ${slot} restarts`).toBeLessThanOrEqual(MAX_RESTARTS);
      }
      const cancelled =
        typeof events.findLast((e) => e.to === 'starting' || typeof e.delay === 'number')?.delay === 'number';
      expect(cancelled && slot === last).toBe(false);
      expect(starts, `slot ${slot} starts`).toHaveLength(1 + backoffs.length - (cancelled ? 1 : 0));
    }
    expect(root.events.filter(crashed).length).toBeGreaterThanOrEqual(RESTARTS - 50);
    console.info(
      `crash loop: ${RESTARTS} restarts; after 300 -> after ${RESTARTS - 50}:`,
      JSON.stringify({ before, after }),
    );
    for (const who of ['root', 'primary'] as const) {
      // Floor to floor, two workers' fds of slack; a leak of one fd per restart would add 650.
      expect(after[who].fds, `${who} open fds`).toBeLessThanOrEqual(before[who].fds + 4 * INSTANCES);
      expect(after[who].rssMiB, `${who} RSS (MiB)`).toBeLessThan(before[who].rssMiB + 10);
    }
    // Nothing is left running: the root ends on its own with "an app errored".
    expect(await root.waitForExit()).toEqual({ code: 3, signal: null });
  }, 200_000);
});
