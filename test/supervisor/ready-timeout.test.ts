// A worker not ready within readyTimeout is stopped as any worker is (drain, the stop signal, SIGKILL at
// shutdown.timeout), never SIGKILLed first: a queue consumer under the default readiness may be mid-job.
// Its exit is still a failed start, restarted by the policy, and the log says why and how it ended.
import { describe, expect, it } from 'vitest';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const fast = { backoff: { initial: '50ms', factor: 1, max: '50ms' } };
const said = (pid: unknown, msg: string) => (e: LogEvent) =>
  e.app === 'queue' && e.pid === pid && e.stream === 'stdout' && e.msg === msg;
const worker = (to: string) => (e: LogEvent) => e.app === 'queue' && e.worker === 0 && e.to === to;

describe('a worker not ready within readyTimeout', () => {
  it('gets the stop signal, not SIGKILL, and its slot restarts once it has exited', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('queue', 'busy-never-ready.cjs', {
          instances: 1,
          readyTimeout: '1s',
          shutdown: { timeout: '3s' },
          restart: fast,
        }),
      ],
    });
    const started = await root.waitFor(worker('starting'), 'the first worker');
    const crashed = await root.waitFor(worker('crashed'), 'the readiness timeout');
    expect(crashed.pid).toBe(started.pid);
    expect(root.events.some(said(started.pid, 'got SIGTERM'))).toBe(true);
    expect(root.events.some(said(started.pid, 'job finished'))).toBe(true);
    expect(crashed).toMatchObject({ from: 'draining', code: 0, signal: null });
    expect(crashed.reason).toMatch(
      /^not ready within 1s \(readiness: listening\): it never listened on a port; .*needs readiness "loaded"; stopped with SIGTERM, exited 0 after \d+ms$/,
    );
    console.info(`readiness timeout: ${crashed.reason}`);
    // It drained from the moment of the timeout, said so, and ended well before shutdown.timeout.
    const draining = root.events.find((e) => worker('draining')(e) && e.pid === started.pid) as LogEvent;
    expect(draining.reason).toMatch(/^not ready within 1s .*; stopping it: SIGTERM, SIGKILL after 3s$/);
    expect(crashed.time - draining.time).toBeLessThan(3_000);
    // A failed start: the slot backs off, then starts a new worker, after the first one exited.
    const backoff = await root.waitFor(
      (e) => e.app === 'queue' && e.worker === 0 && typeof e.delay === 'number',
      'the backoff',
    );
    expect(backoff.failedStarts).toBe(1);
    const next = await root.waitFor(
      (e) => worker('starting')(e) && e.pid !== started.pid,
      'the restarted worker',
    );
    expect(root.events.indexOf(next)).toBeGreaterThan(root.events.indexOf(crashed));
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('that ignores its stop signal is SIGKILLed at shutdown.timeout, not before', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('queue', 'busy-never-ready.cjs', {
          instances: 1,
          readyTimeout: '1s',
          shutdown: { timeout: '800ms' },
          restart: { ...fast, policy: 'never' },
          env: { IGNORE_STOP: '1' },
        }),
      ],
    });
    const started = await root.waitFor(worker('starting'), 'the worker');
    const draining = await root.waitFor(worker('draining'), 'the readiness timeout');
    await root.waitFor(said(started.pid, 'got SIGTERM'), 'the stop signal');
    const crashed = await root.waitFor(worker('crashed'), 'the SIGKILL');
    expect(crashed).toMatchObject({ from: 'draining', signal: 'SIGKILL', code: null });
    expect(crashed.reason).toMatch(
      /^not ready within 1s .*; stopped with SIGTERM, killed with SIGKILL at shutdown\.timeout \(800ms\)$/,
    );
    const took = crashed.time - draining.time;
    console.info(`SIGKILL ${took} ms after the stop began (shutdown.timeout 800ms)`);
    expect(took).toBeGreaterThanOrEqual(800);
    // restart policy never: the app ends, and clusterd with it.
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('is not left behind, nor restarted, when clusterd stops while it is being stopped', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('queue', 'busy-never-ready.cjs', {
          instances: 1,
          readyTimeout: '1s',
          shutdown: { timeout: '1500ms' },
          restart: fast,
          env: { IGNORE_STOP: '1' },
        }),
      ],
    });
    const started = await root.waitFor(worker('starting'), 'the worker');
    const draining = await root.waitFor(worker('draining'), 'the readiness timeout');
    await root.waitFor(said(started.pid, 'got SIGTERM'), 'the stop signal');
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    const crashed = root.events.find(worker('crashed'));
    expect(crashed).toMatchObject({ pid: started.pid, signal: 'SIGKILL' });
    // Its own deadline held: the stop of clusterd neither waited longer nor started another worker.
    expect((crashed as LogEvent).time - draining.time).toBeGreaterThanOrEqual(1_500);
    expect(root.events.filter(worker('starting'))).toHaveLength(1);
    expect(root.events.some((e) => e.app === 'queue' && typeof e.delay === 'number')).toBe(false);
  });

  it("runs the clusterd/worker helpers' onDrain and onShutdown, then exits 0", async () => {
    const root = startRoot({
      apps: [
        fixtureApp('queue', 'never-ready-helpers.mjs', {
          instances: 1,
          readyTimeout: '1s',
          shutdown: { timeout: '3s' },
          restart: { ...fast, policy: 'never' },
        }),
      ],
    });
    const started = await root.waitFor(worker('starting'), 'the worker');
    const crashed = await root.waitFor(worker('crashed'), 'the readiness timeout');
    const lines = root.events.filter((e) => e.pid === started.pid && e.stream === 'stdout').map((e) => e.msg);
    expect(lines).toEqual([
      'working',
      'drain began (draining: true)',
      'cleanup started (draining: true)',
      'cleanup done',
    ]);
    expect(crashed).toMatchObject({ code: 0, signal: null });
    expect(crashed.reason).toMatch(/; stopped with SIGTERM, exited 0 after \d+ms$/);
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
