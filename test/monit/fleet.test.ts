// The fleet sampler on fake time: it samples only while watched, one sample at a time, keeps the last
// minutes, and a halted loop whose sample was still under way does not come back beside a new one.
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/protocol.js';
import { Fleet, type FleetSample, fleetSample, onlyApp } from '../../src/supervisor/fleet.js';

function status(pid = 1): Status {
  return {
    pid,
    config: '/c.json',
    environment: null,
    uptime: 5,
    apps: [
      {
        name: 'web',
        state: 'running',
        instances: 1,
        primary: 10,
        replaced: {},
        requests: null,
        workers: [
          {
            id: 0,
            pid: 11,
            state: 'ready',
            restarts: 0,
            script: '/srv/app.js',
            connections: null,
            uptime: 1,
            cpu: 1,
            memory: 2,
            requests: null,
          },
        ],
      },
      { name: 'api', state: 'running', instances: 0, primary: 20, replaced: {}, requests: null, workers: [] },
    ],
  };
}

function harness() {
  let now = 1_000_000;
  const timers: { at: number; fn: () => void }[] = [];
  const asked: ((s: Status) => void)[] = [];
  const fleet = new Fleet({
    sample: () => new Promise<Status>((resolve) => asked.push(resolve)),
    timer: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    },
    now: () => now,
    keepMs: 10_000,
  });
  const advance = async (ms: number) => {
    now += ms;
    for (const t of timers.filter((x) => x.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
    await Promise.resolve();
  };
  const answer = async (s = status()) => {
    asked.shift()?.(s);
    await new Promise((r) => setImmediate(r));
  };
  return { fleet, timers, asked, advance, answer, clock: () => now };
}

describe('fleet sampler', () => {
  it('samples every second only while someone watches', async () => {
    const h = harness();
    expect(h.asked).toHaveLength(0);
    const got: FleetSample[] = [];
    const stop = h.fleet.subscribe((s) => got.push(s));
    expect(h.fleet.watched).toBe(true);
    expect(h.asked).toHaveLength(1);
    await h.answer();
    expect(got).toHaveLength(1);
    // The next one a second after the first began, not before, and never two at once.
    await h.advance(999);
    expect(h.asked).toHaveLength(0);
    await h.advance(1);
    expect(h.asked).toHaveLength(1);
    await h.advance(5_000);
    expect(h.asked).toHaveLength(1);
    await h.answer();
    // It took 5 s: the next one at once.
    await h.advance(0);
    expect(h.asked).toHaveLength(1);
    await h.answer();
    stop();
    expect(h.fleet.watched).toBe(false);
    // No sampling timer: only the one that forgets the samples once they are old.
    expect(h.timers.map((t) => t.at - h.clock())).toEqual([10_000]);
    await h.advance(10_000);
    expect(h.asked).toHaveLength(0);
    expect(got).toHaveLength(3);
  });

  it('stamps each sample when it began: a slow status does not bring the next sample closer', async () => {
    const h = harness();
    const got: FleetSample[] = [];
    h.fleet.subscribe((s) => got.push(s));
    const began = h.clock();
    // The first status takes 300 ms, the next answers at once: still a second apart.
    await h.advance(300);
    await h.answer();
    await h.advance(700);
    await h.answer();
    expect(got.map((s) => s.at - began)).toEqual([0, 1_000]);
  });

  it('a sample under way when the last watcher left does not start a second loop when one returns', async () => {
    const h = harness();
    const stop = h.fleet.subscribe(() => {});
    stop();
    h.fleet.subscribe(() => {});
    expect(h.asked).toHaveLength(2);
    await h.answer(); // the old loop's: recorded by nobody's loop, no timer
    await h.answer(); // the new loop's
    expect(h.timers).toHaveLength(1);
  });

  it('keeps the last minutes, drops the entry paths, and a failed sample is skipped', async () => {
    const h = harness();
    h.fleet.subscribe(() => {});
    for (let i = 0; i < 15; i++) {
      await h.answer();
      await h.advance(1_000);
    }
    const kept = h.fleet.history();
    expect(kept.length).toBeGreaterThanOrEqual(10);
    expect(kept.length).toBeLessThanOrEqual(11);
    expect(h.clock() - (kept[0] as FleetSample).at).toBeLessThanOrEqual(10_000);
    expect(h.fleet.history(h.clock() - 2_500)).toHaveLength(2);
    expect(JSON.stringify(kept)).not.toContain('/srv/app.js');
    h.asked.shift();
    // A sampling that fails: the loop goes on.
    const failing = new Fleet({
      sample: () => Promise.reject(new Error('x')),
      timer: (_ms, fn) => {
        queueMicrotask(() => h.timers.push({ at: 0, fn }));
        return () => {};
      },
      now: () => 0,
    });
    const stop = failing.subscribe(() => {});
    await new Promise((r) => setImmediate(r));
    expect(failing.history()).toHaveLength(0);
    expect(h.timers.some((t) => t.at === 0)).toBe(true);
    stop();
  });

  it('a last watcher that leaves while given a sample (dropped for falling behind) leaves no timer', async () => {
    const h = harness();
    let stop: () => void = () => {};
    stop = h.fleet.subscribe(() => stop());
    await h.answer();
    expect(h.fleet.watched).toBe(false);
    // Only the timer that forgets the kept sample later; no sampling timer.
    expect(h.timers).toHaveLength(1);
    expect(h.timers[0]?.at).toBe(h.clock() + 10_000);
    // A new watcher within the second: one sampling loop, one sample a second.
    h.fleet.subscribe(() => {});
    expect(h.timers).toHaveLength(0);
    expect(h.asked).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      await h.answer();
      expect(h.timers).toHaveLength(1);
      await h.advance(1_000);
      expect(h.asked).toHaveLength(1);
    }
  });

  it('forgets what it kept once it is old, when nobody watches', async () => {
    const h = harness();
    const stop = h.fleet.subscribe(() => {});
    await h.answer();
    await h.advance(1_000);
    await h.answer();
    stop();
    expect(h.fleet.history()).toHaveLength(2);
    await h.advance(9_500);
    expect(h.fleet.history()).toHaveLength(1);
    await h.advance(1_000);
    expect(h.fleet.history()).toHaveLength(0);
    expect(h.timers).toHaveLength(0);
  });

  it('one app of a sample', () => {
    const s = fleetSample(status(), 5);
    expect(onlyApp(s, 'api').apps.map((a) => a.name)).toEqual(['api']);
    expect(onlyApp(s, undefined)).toBe(s);
    expect(s.apps[0]?.workers[0]).not.toHaveProperty('script');
  });
});
