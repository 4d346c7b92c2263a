// A crash loop at scale: an app that dies at boot, restarted 1,000 times with a 1 ms backoff. The root
// and the primary must not leak: from restart 300 (warmed up) to restart 980, resident memory and open
// file descriptors stay flat. The limit then puts the app in errored.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const RESTARTS = 1_000;
const INSTANCES = 2;

function usage(pid: number): { rssMiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return { rssMiB: Math.round(rssKiB / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

describe('crash loop at scale', () => {
  it('survives 1,000 restarts without a leak in the root or the primary, then goes errored', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('boom', 'crash-at-boot.cjs', {
          instances: INSTANCES,
          restart: {
            backoff: { initial: '1ms', factor: 1, max: '1ms' },
            maxRestarts: RESTARTS,
            window: '1h',
          },
        }),
      ],
    });
    const crashed = (e: LogEvent) => e.app === 'boom' && e.to === 'crashed';
    await root.waitForCount(crashed, 300, '300 crashes', 90_000);
    const primary = root.events.find((e) => typeof e.primary === 'number')?.primary as number;
    const before = { root: usage(root.child.pid as number), primary: usage(primary) };
    await root.waitForCount(crashed, RESTARTS - 20, `${RESTARTS - 20} crashes`, 120_000);
    const after = { root: usage(root.child.pid as number), primary: usage(primary) };

    const errored = await root.waitFor((e) => e.app === 'boom' && e.to === 'errored', 'errored', {
      timeoutMs: 30_000,
    });
    expect(errored.reason).toMatch(`${RESTARTS} restarts within 3600000 ms reached restart.maxRestarts`);
    // Two first starts, then exactly the restarts the limit allows.
    const starts = root.events.filter(
      (e) => e.app === 'boom' && e.to === 'starting' && e.worker !== undefined,
    );
    expect(starts).toHaveLength(RESTARTS + 2);
    expect(root.events.filter(crashed).length).toBeGreaterThanOrEqual(RESTARTS + 1);
    console.info(
      `crash loop: ${RESTARTS} restarts; after 300 -> after ${RESTARTS - 20}:`,
      JSON.stringify({ before, after }),
    );
    for (const who of ['root', 'primary'] as const) {
      // A sample catches 0, 1 or 2 workers alive, and the primary holds ~4 fds for each (stdio pipes,
      // IPC); a leak of one fd per restart would add 680.
      expect(after[who].fds, `${who} open fds`).toBeLessThanOrEqual(before[who].fds + 4 * INSTANCES);
      expect(after[who].rssMiB, `${who} RSS (MiB)`).toBeLessThan(before[who].rssMiB + 10);
    }
    // Nothing is left running: the root ends on its own with "an app errored".
    expect(await root.waitForExit()).toEqual({ code: 3, signal: null });
  }, 200_000);
});
