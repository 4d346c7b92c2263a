// The crash-loop limit with the built-in defaults (maxRestarts 10, backoff 100 ms x2 up to 15 s,
// stableAfter 10 s), as validate promises it: an app that throws at once and one that fails 1.2 s after
// boot both go errored after exactly 11 failed starts in a row. (Before, the limit counted restarts
// within a 1 m window: the first errored after ~66 s, the second was restarted every 15 s forever.)
// A healthy app SIGKILLed from outside again and again never errors.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isAlive } from '../helpers/processes.js';
import { fixtureApp, type LogEvent, startRoot } from '../helpers/root.js';

const workerEvents = (events: LogEvent[], app: string) =>
  events.filter((e) => e.app === app && e.worker !== undefined);

describe('crash-loop limit with the defaults', () => {
  it('errors an instant crasher and a 1.2 s crasher after exactly the failed starts validate promises', async () => {
    // Both apps in one root, so the two minute-long loops run side by side.
    const root = startRoot({
      apps: [
        fixtureApp('instant', 'crash-at-boot.cjs', { instances: 1 }),
        fixtureApp('late', 'crash-after-boot.cjs', { instances: 1 }),
      ],
    });
    const validated = await runCli(['validate', '--json'], { cwd: root.dir });
    expect(validated.code).toBe(0);
    const promised = JSON.parse(validated.stdout).apps.map(
      (a: { crashLoopLimit: { failedStarts: number; backoffMs: number } }) => a.crashLoopLimit,
    );
    expect(promised).toEqual([
      { failedStarts: 11, backoffMs: 55_500 },
      { failedStarts: 11, backoffMs: 55_500 },
    ]);
    const errored = await Promise.all(
      ['instant', 'late'].map((app) =>
        root.waitFor((e) => e.app === app && e.to === 'errored', `${app} errored`, { timeoutMs: 150_000 }),
      ),
    );
    const took: Record<string, number> = {};
    for (const [i, app] of ['instant', 'late'].entries()) {
      const events = workerEvents(root.events, app);
      const starts = events.filter((e) => e.to === 'starting');
      const crashes = events.filter((e) => e.to === 'crashed');
      const backoffs = events.filter((e) => typeof e.delay === 'number');
      expect(starts, `${app} starts`).toHaveLength(promised[i].failedStarts);
      expect(crashes, `${app} failed starts`).toHaveLength(promised[i].failedStarts);
      expect(backoffs.map((e) => e.delay)).toEqual([
        100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 15_000, 15_000,
      ]);
      expect(backoffs.reduce((sum, e) => sum + (e.delay as number), 0)).toBe(promised[i].backoffMs);
      expect(backoffs.map((e) => e.failedStarts)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      took[app] = (errored[i]?.time as number) - (starts[0]?.time as number);
      // No sooner than promised: the backoff was waited, and each start's own run time adds to it.
      expect(took[app]).toBeGreaterThanOrEqual(promised[i].backoffMs);
    }
    expect(errored[0]?.reason).toBe(
      'exit code 1: Error: boom at boot; 11 failed starts in a row (restart.maxRestarts 10)',
    );
    expect(errored[1]?.reason).toBe(
      'exit code 1: Error: connect ECONNREFUSED 127.0.0.1:5432; 11 failed starts in a row (restart.maxRestarts 10)',
    );
    // The late crasher served before each failure: ready, then crashed before stableAfter.
    const late = workerEvents(root.events, 'late');
    expect(late.filter((e) => e.to === 'ready')).toHaveLength(11);
    console.info(
      `crash-loop limit (defaults): instant errored after ${took.instant} ms, late (1.2 s) after ${took.late} ms; ` +
        `promised: 11 failed starts, at least ${promised[0].backoffMs} ms`,
    );
    // Nothing is left, so the root ends on its own: an app errored.
    expect(await root.waitForExit()).toEqual({ code: 3, signal: null });
  }, 180_000);

  it('never errors a healthy app whose serving workers are SIGKILLed from outside, 15 times in a row', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] });
    await root.running('web');
    let ready = root.events.find((e) => e.app === 'web' && e.to === 'ready') as LogEvent;
    const kills: number[] = [];
    // Each kill lands on a worker that is ready and far from stableAfter (10 s): were outside kills
    // counted, the 11th would error the app.
    for (let i = 0; i < 15; i++) {
      const pid = ready.pid as number;
      expect(isAlive(pid)).toBe(true);
      const from = root.events.length;
      process.kill(pid, 'SIGKILL');
      kills.push(pid);
      ready = await root.waitFor(
        (e) => e.app === 'web' && e.to === 'ready' && e.pid !== pid,
        `replacement ${i + 1}`,
        {
          from,
        },
      );
      await root.running('web', from);
    }
    const events = workerEvents(root.events, 'web');
    const crashes = events.filter((e) => e.to === 'crashed');
    expect(crashes.map((e) => e.pid)).toEqual(kills);
    for (const c of crashes) expect(c).toMatchObject({ signal: 'SIGKILL', reason: 'killed by SIGKILL' });
    // Restarted at once, and never counted as a failed start.
    const backoffs = events.filter((e) => typeof e.delay === 'number');
    expect(backoffs).toHaveLength(15);
    for (const b of backoffs) expect(b).toMatchObject({ delay: 0, failedStarts: 0 });
    expect(root.events.some((e) => e.app === 'web' && e.to === 'errored')).toBe(false);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
