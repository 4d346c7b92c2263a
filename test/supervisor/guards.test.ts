// The resource guards on real processes under real HTTP load: a leaking worker replaced before it grows
// much past its limit with 0 failed requests, a worker whose event loop blocks for 60 s replaced within
// the heartbeat's timeout plus one interval while the others serve on, and recycling by age and by cron
// rolling the workers one at a time with 0 failed requests.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRss } from '../../src/primary/guards/proc-sample.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const MB = 1024 ** 2;
const APP = join(FIXTURES, 'guarded-app.cjs');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Every worker's RSS, read from /proc every 10 ms while the test runs, as the guard reads it.
function sampleRss(root: Root) {
  const samples = new Map<number, { at: number; rss: number }[]>();
  const timer = setInterval(() => {
    const now = performance.now();
    for (const e of root.events)
      if (e.app === 'web' && e.to === 'starting' && typeof e.pid === 'number' && !samples.has(e.pid))
        samples.set(e.pid, []);
    for (const [pid, list] of samples) {
      const rss = readRss(pid);
      if (rss !== null) list.push({ at: now, rss });
    }
  }, 10);
  return {
    stop: () => clearInterval(timer),
    /** Per worker: its peak, and the most it grew in any window of `ms`. */
    peaks(ms: number) {
      return [...samples].map(([pid, list]) => {
        let grew = 0;
        let j = 0;
        for (let i = 0; i < list.length; i++) {
          const from = list[i] as { at: number; rss: number };
          while (j < list.length && (list[j] as { at: number }).at < from.at + ms) j++;
          if (j >= list.length) break;
          grew = Math.max(grew, (list[j] as { rss: number }).rss - from.rss);
        }
        return { pid, peak: Math.max(0, ...list.map((s) => s.rss)), grew, samples: list.length };
      });
    },
  };
}

// At most one worker of the app on its way up at any moment after `from`: replacements one at a time.
function mostStartingAtOnce(events: LogEvent[], from: number): number {
  const starting = new Set<number>();
  let most = 0;
  for (const e of events.slice(from)) {
    if (e.app !== 'web' || typeof e.pid !== 'number') continue;
    if (e.to === 'starting') starting.add(e.pid);
    else if (e.to !== undefined) starting.delete(e.pid);
    most = Math.max(most, starting.size);
  }
  return most;
}

async function stop(root: Root): Promise<void> {
  root.signal('SIGTERM');
  expect((await root.waitForExit()).code).toBe(0);
}

describe('resource guards', () => {
  it('replaces a leaking worker under load with 0 failed requests, never far past its limit', async () => {
    const limit = 140 * MB;
    const interval = 250;
    const root = startRoot({
      apps: [
        {
          name: 'web',
          script: APP,
          instances: 2,
          env: { LEAK_KB: '32' },
          guards: { memory: { limit, interval } },
        },
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const rss = sampleRss(root);
    const load = startLoad(address, { connections: 16, maxSeconds: 60, rate: 2_000 });
    const recycled = await root.waitForCount(
      (e) => e.app === 'web' && e.guard === 'memory' && e.ms !== undefined && e.msg.includes('replaced'),
      4,
      'four workers replaced for memory',
      45_000,
    );
    const stats = await load.stop();
    rss.stop();
    expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
    expect(stats.ok).toBe(stats.requests);
    const replaced = root.events.filter((e) => e.guard === 'memory' && e.action === 'replace');
    expect(replaced.length).toBeGreaterThanOrEqual(4);
    expect(replaced[0]?.msg).toMatch(
      /^worker \d: RSS [\d.]+MB(, growing [\d.]+MB\/s,)? .*guards.memory.limit \(140MB\)/,
    );
    // Each replaced worker: at most one check interval's growth past the limit.
    const peaks = rss.peaks(interval).filter((p) => replaced.some((e) => e.pid === p.pid));
    expect(peaks.length).toBe(replaced.length);
    for (const p of peaks) {
      expect(p.samples, `samples of ${p.pid}`).toBeGreaterThan(20);
      expect(p.grew, `growth of ${p.pid} in ${interval} ms`).toBeGreaterThan(0);
      expect(p.peak - limit, `overshoot of ${p.pid}: ${JSON.stringify(peaks)}`).toBeLessThanOrEqual(p.grew);
    }
    for (const e of recycled) {
      await root.waitFor((x) => x.pid === e.pid && x.to === 'stopped', `worker ${e.pid} drained`);
      expect(alive(e.pid as number)).toBe(false);
    }
    await stop(root);
  }, 60_000);

  it('kills a worker over the hard limit at once and restarts its slot; the reason says so', async () => {
    const root = startRoot({
      apps: [
        {
          name: 'web',
          script: APP,
          instances: 2,
          guards: { memory: { hardLimit: '250MB', interval: '100ms' } },
        },
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const res = await fetch(`http://${address}/grow?mb=300`, { headers: { connection: 'close' } });
    const { pid, worker } = (await res.json()) as { pid: number; worker: number };
    const killed = await root.waitFor((e) => e.guard === 'memory-hard' && e.pid === pid, 'the hard limit');
    expect(killed).toMatchObject({ action: 'kill', level: 40 });
    // Seen as it grows (a 300 MB buffer is filled page by page): somewhere past the hard limit.
    const rss = /^worker \d: RSS ([\d.]+)MB is over guards.memory.hardLimit \(250MB\): killed$/.exec(
      killed.msg,
    );
    expect(Number(rss?.[1])).toBeGreaterThan(250);
    const crashed = await root.waitFor((e) => e.pid === pid && e.to === 'crashed', 'its exit');
    expect(crashed).toMatchObject({ signal: 'SIGKILL', reason: killed.msg.replace(/^worker \d: /, '') });
    await root.waitFor((e) => e.to === 'ready' && e.worker === worker && e.pid !== pid, 'its slot restarted');
    expect(alive(pid)).toBe(false);
    await stop(root);
  }, 20_000);

  it('replaces a worker whose event loop blocks for 60 s within timeout + interval; the others serve on', async () => {
    const timeout = 2_000;
    const interval = 500;
    const root = startRoot({
      apps: [
        {
          name: 'web',
          script: APP,
          instances: 2,
          guards: { heartbeat: { timeout, interval } },
        },
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const workers = root.events
      .filter((e) => e.app === 'web' && e.to === 'ready')
      .map((e) => e.pid as number);
    // The request never gets an answer: its worker is killed.
    const blocked = fetch(`http://${address}/block?ms=60000`, { headers: { connection: 'close' } }).catch(
      (error: Error) => error,
    );
    const began = await root.waitFor(
      (e) => e.stream === 'stdout' && e.msg === 'blocking for 60000 ms',
      'a blocked worker',
    );
    const stuck = began.pid as number;
    const other = workers.find((pid) => pid !== stuck) as number;
    const found = await root.waitFor(
      (e) => e.guard === 'unresponsive' && e.pid === stuck,
      'the heartbeat guard to find it',
    );
    // Its last heartbeat was answered before the block began: found at most timeout + interval later
    // (and a little more for two processes' scheduling), never before the timeout.
    expect(found.time - began.time).toBeGreaterThanOrEqual(timeout - 50);
    expect(found.time - began.time).toBeLessThan(timeout + interval + 250);
    expect(found.msg).toMatch(
      /^worker \d: no answer to its heartbeat for 2(\.\d+)?s \(guards.heartbeat.timeout 2s\); its main thread is running \(\d+% CPU\): a loop that does not end: replacing it$/,
    );
    const killed = await root.waitFor(
      (e) => e.pid === stuck && e.to === 'draining',
      'the stuck worker to be killed once its successor is ready',
    );
    expect(killed.reason).toMatch(/killed: its event loop has not answered for [\d.]+s, so it cannot drain/);
    const successor = root.events.find(
      (e) => e.to === 'ready' && e.worker === began.worker && e.pid !== stuck && e.time <= killed.time,
    );
    expect(successor, 'a successor ready before the kill').toBeDefined();
    await root.waitFor((e) => e.pid === stuck && e.to === 'stopped', 'its exit');
    expect(alive(stuck)).toBe(false);
    expect(killed.time - began.time).toBeLessThan(10_000);
    expect(await blocked).toBeInstanceOf(Error);
    // Its slot serves again, and the other worker was never touched.
    const pids = new Set<number>();
    for (let i = 0; i < 20 && pids.size < 2; i++) {
      const r = await fetch(`http://${address}/`, { headers: { connection: 'close' } });
      pids.add(((await r.json()) as { pid: number }).pid);
    }
    expect([...pids].sort()).toEqual([other, successor?.pid].sort());
    expect(root.events.filter((e) => e.pid === other && e.to !== undefined).map((e) => e.to)).toEqual([
      'starting',
      'ready',
    ]);
    await stop(root);
  }, 30_000);

  it.each([
    ['maxAge', { maxAge: '2s', jitter: '500ms' }, 'max-age'],
    ['a cron pattern', { cron: '*/3 * * * * *' }, 'schedule'],
  ])(
    'recycles by %s, one worker at a time, under load with 0 failed requests',
    async (_what, recycle, cause) => {
      const root = startRoot({
        apps: [{ name: 'web', script: APP, instances: 3, guards: { recycle } }],
      });
      await root.running('web');
      const address = await root.address('web');
      const first = root.events
        .filter((e) => e.app === 'web' && e.to === 'ready')
        .map((e) => e.pid as number);
      const mark = root.events.length;
      const load = startLoad(address, { connections: 12, maxSeconds: 60 });
      const recycled = await root.waitForCount(
        (e) => e.app === 'web' && e.guard === cause && e.ms !== undefined,
        3,
        `three workers recycled (${cause})`,
        20_000,
      );
      const stats = await load.stop();
      expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
      expect(stats.ok).toBe(stats.requests);
      expect(stats.requests).toBeGreaterThan(100);
      expect(recycled.map((e) => e.pid).sort()).toEqual([...first].sort());
      expect(recycled.every((e) => e.level === 30 && e.msg.includes(`replaced (${cause})`))).toBe(true);
      expect(mostStartingAtOnce(root.events, mark)).toBe(1);
      await stop(root);
    },
    40_000,
  );
});
