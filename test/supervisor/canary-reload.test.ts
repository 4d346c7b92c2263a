// Canary reloads of a real app under real traffic (fresh connections from 4 loops, so that round-robin
// hands the canary its natural share): a release answering 500 to a fifth of its requests and one three
// times slower (a timer, not CPU) are rolled back with the old workers serving; a good one proceeds with
// no failed request; a weight gives the canary its share with least-connections. The other outcomes are
// in canary-outcomes.test.ts (two files, so that their waits overlap).
import { describe, expect, it } from 'vitest';
import { canary, deploy, releasesServing, start } from '../helpers/canary.js';
import { runCli } from '../helpers/cli.js';
import { startTraffic } from '../helpers/traffic.js';

describe('canary reloads under load', () => {
  it('rolls back a release answering 500 to a fifth of its requests: only the canary share of its window failed', async () => {
    const root = start({ name: 'one', delayMs: 2 });
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address);
    await traffic.answered(50);
    const from = root.events.length;
    const reload = await deploy(root, { name: 'two', errorEvery: 5, delayMs: 2 });
    const outcomes = await traffic.stop();
    expect(reload.code, reload.stderr).toBe(4);
    expect(reload.stderr).toMatch(/web: reload failed: canary: failed requests \(5xx or unfinished\)/);
    expect(reload.stdout).toMatch(
      /web: canary failed: failed requests \(5xx or unfinished\) \d+(\.\d)?% vs \d+(\.\d)?%; its canaries were drained, the old workers serve/,
    );
    expect(reload.stdout).toMatch(
      // The old workers' share: requests under way at the window's end, noise of a few hundredths.
      /errors +\d+\.\d+% +0\.\d\d% +5xx or unfinished at most \+1 points \(z-test, 99%\) +FAIL/,
    );
    // Failures: only the canary's 500s. It got about a quarter of the requests of its window (3 old
    // workers beside it), a fifth of which failed: at most that share of the deploy's requests failed.
    const started = root.events.findIndex((e, i) => i >= from && e.canary === 'started');
    const judged = root.events.find((e) => e.canary === 'judged');
    expect(judged).toMatchObject({ outcome: 'fail', proceed: false });
    const window = outcomes.filter((o) => o.start >= (root.events[started]?.time as number));
    const failed = outcomes.filter((o) => o.error);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((o) => o.error === 'status 500')).toBe(true);
    expect(failed.length / window.length).toBeLessThanOrEqual((1 / 4) * (1 / 5) * 1.5);
    // The old workers serve, all of them, and only them.
    expect(await releasesServing(address)).toEqual(new Set(['one']));
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    expect(status.apps[0].workers.map((w: { state: string }) => w.state)).toEqual([
      'ready',
      'ready',
      'ready',
    ]);
  });

  it('rolls back a release three times slower', async () => {
    const root = start({ name: 'one', delayMs: 20 });
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address);
    await traffic.answered(50);
    const reload = await deploy(root, { name: 'two', delayMs: 60 });
    await traffic.stop();
    expect(reload.code, reload.stdout + reload.stderr).toBe(4);
    // p99 or, with fewer than 1,000 requests each, the highest percentile they have enough for.
    expect(reload.stdout).toMatch(/canary failed: p\d+ latency \d+(\.\d)? ms vs \d+(\.\d)? ms/);
    expect(reload.stdout).toMatch(/latency +\d+\.\d+ ms +\d+\.\d+ ms +p\d+ at most 1\.5x or \+5 ms.* FAIL/);
    expect(await releasesServing(address)).toEqual(new Set(['one']));
  });

  it('lets a good release through with no failed request, and reports the canary that passed', async () => {
    const root = start({ name: 'one', delayMs: 2 });
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address);
    await traffic.answered(50);
    const reload = await deploy(root, { name: 'two', delayMs: 2 });
    await traffic.answered(50);
    const outcomes = await traffic.stop();
    expect(reload.code, reload.stdout + reload.stderr).toBe(0);
    expect(reload.stdout).toMatch(/web: canary passed: no regression; the reload went on/);
    expect(reload.stdout).toMatch(/web: reloaded, 3 workers replaced/);
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    expect(await releasesServing(address)).toEqual(new Set(['two']));
    // Each step of the canary is an event (what `clusterd events` shows live).
    expect(root.events.filter((e) => e.canary).map((e) => [e.canary, e.outcome])).toEqual([
      ['started', undefined],
      ['observing', undefined],
      ['judged', 'pass'],
    ]);
    // --no-canary: a hotfix goes out at once.
    const hotfix = await deploy(root, { name: 'three', delayMs: 2 }, ['--no-canary']);
    expect(hotfix.code, hotfix.stderr).toBe(0);
    expect(hotfix.stdout).not.toMatch(/canary/);
    expect(root.events.filter((e) => e.canary)).toHaveLength(3);
    expect(await releasesServing(address)).toEqual(new Set(['three']));
  });

  it('gives the canary its weight of new connections with least-connections balancing', async () => {
    const root = start(
      { name: 'one', delayMs: 2 },
      { balancing: 'least-connections' },
      { ...canary, weight: 0.5 },
    );
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address);
    await traffic.answered(50);
    const reload = await deploy(root, { name: 'two', delayMs: 2 }, ['--json']);
    await traffic.stop();
    expect(reload.code, reload.stderr).toBe(0);
    const [result] = JSON.parse(reload.stdout) as {
      canary: { checks: { check: string; canary: number; baseline: number }[] };
    }[];
    const traffic2 = result?.canary.checks.find((c) => c.check === 'traffic');
    const share = (traffic2?.canary ?? 0) / ((traffic2?.canary ?? 0) + (traffic2?.baseline ?? 1));
    // Half, where its natural share would be a quarter.
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
  });
});
