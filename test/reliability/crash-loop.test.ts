// A crash loop at scale: an app of 2 workers that die at boot, restarted ~1,000 times with a 1 ms backoff
// (each slot may fail 500 restarts in a row). The root and the primary must not leak: from restart 300
// (warmed up) to restart 900, their live heaps grow by less than LEAK_BYTES per restart and their open
// file descriptors stay flat. The limit then puts the app in errored.
import { readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type HeapReader, INSPECTABLE, openHeap, slope } from '../helpers/heap.js';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const RESTARTS = 1_000;
const INSTANCES = 2;
/** Failed restarts in a row allowed per slot: the first slot past it errors the app. */
const MAX_RESTARTS = RESTARTS / INSTANCES;
/** Heap samples from restart 300 to 900, this many restarts apart. */
const FIRST = 300;
const EVERY = 50;
const LAST = RESTARTS - 100;
/**
 * Growth allowed per restart of the live heap, fitted over 600 restarts (helpers/heap.ts). The slope is
 * bounded, not the total: the old bound (10 MiB of RSS over 600 restarts) let through up to 17 KiB per
 * restart, which takes a long-lived supervisor with a flapping app to hundreds of MiB. After a full GC
 * only what is still referenced is left; what varies is the few workers alive at the instant (the
 * primary's heap moves by a few hundred KiB from sample to sample), which the median fit ignores.
 * Measured on 2 loaded cores: root 0.0-0.25 KiB per restart, primary 0.4-0.6 KiB while it warms up
 * (over 3,600 restarts: 0.01 and -0.17, so no leak); with a leak of 3 KiB per restart put in the
 * primary, 3.8 KiB (fails); of ~1 KiB, 1.05 (passes). 2 KiB is 4x the noise and catches a leak of any
 * record kept per restart (an exit with its reason, a timer with its closure).
 */
const LEAK_BYTES = 2 * 1024;

/**
 * Open fds of `pid`. The count moves with the workers alive at the instant (each holds ~4 fds in the
 * primary, and an exited one until its pipes close), so the floor over 40 samples 10 ms apart is taken:
 * what the process holds for itself.
 */
async function fds(pid: number): Promise<number> {
  let floor = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 40; i++) {
    floor = Math.min(floor, readdirSync(`/proc/${pid}/fd`).length);
    await delay(10);
  }
  return floor;
}

describe('crash loop at scale', () => {
  it('survives 1,000 restarts without a leak in the root or the primary, then goes errored', async () => {
    const root = startRoot(
      {
        apps: [
          fixtureApp('boom', 'crash-at-boot.cjs', {
            instances: INSTANCES,
            restart: {
              backoff: { initial: '1ms', factor: 1, max: '1ms' },
              maxRestarts: MAX_RESTARTS,
            },
          }),
        ],
      },
      // The inspector, opened once warmed up, reads each process's live heap.
      { env: INSPECTABLE },
    );
    const crashed = (e: LogEvent) => e.app === 'boom' && e.to === 'crashed';
    await root.waitForCount(crashed, FIRST, `${FIRST} crashes`, 90_000);
    const primary = root.events.find((e) => typeof e.primary === 'number')?.primary as number;
    const pids = { root: root.child.pid as number, primary };
    const heaps: Record<'root' | 'primary', HeapReader> = {
      root: await openHeap(pids.root, root.output),
      primary: await openHeap(pids.primary, root.output),
    };
    const samples: Record<'root' | 'primary', { x: number; y: number }[]> = { root: [], primary: [] };
    const before = { root: await fds(pids.root), primary: await fds(pids.primary) };
    try {
      // A sample takes ~50 ms, in which a 1 ms backoff restarts a few times: each is placed at the count
      // of crashes seen once it is read. The last at restart 900, 100 before the limit ends the primary.
      for (let at = FIRST; at <= LAST; at += EVERY) {
        await root.waitForCount(crashed, at, `${at} crashes`, 120_000);
        for (const who of ['root', 'primary'] as const) {
          const y = await heaps[who].usedAfterGc();
          samples[who].push({ x: root.events.filter(crashed).length, y });
        }
      }
    } finally {
      heaps.root.close();
      heaps.primary.close();
    }
    const after = { root: await fds(pids.root), primary: await fds(pids.primary) };

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
    const growth = { root: slope(samples.root), primary: slope(samples.primary) };
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
    console.info(
      `crash loop: ${RESTARTS} restarts; heap growth per restart from ${FIRST} to ${LAST}: ` +
        `root ${kib(growth.root)}, primary ${kib(growth.primary)}; heap (KiB) root ` +
        `${samples.root.map((p) => Math.round(p.y / 1024)).join(' ')}; primary ` +
        `${samples.primary.map((p) => Math.round(p.y / 1024)).join(' ')}; fds ${JSON.stringify({ before, after })}`,
    );
    for (const who of ['root', 'primary'] as const) {
      // Floor to floor, two workers' fds of slack; a leak of one fd per restart would add 600.
      expect(after[who], `${who} open fds`).toBeLessThanOrEqual(before[who] + 4 * INSTANCES);
      expect(growth[who], `${who} heap growth per restart (bytes)`).toBeLessThan(LEAK_BYTES);
    }
    // Nothing is left running: the root ends on its own with "an app errored".
    expect(await root.waitForExit()).toEqual({ code: 3, signal: null });
  }, 200_000);
});
