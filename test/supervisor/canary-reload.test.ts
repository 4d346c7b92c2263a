// Canary reloads of a real app under real traffic (fresh connections from 4 loops, so that round-robin
// hands the canary its natural share): a release answering 500 to a fifth of its requests, one three
// times slower (a timer, not CPU), and one that crashes after 10 s of serving are rolled back with the
// old workers serving; a good one proceeds with no failed request; no traffic gives the configured
// outcome; a weight gives the canary its share with least-connections. Each release is read from
// release.json at its workers' start (canary-release.cjs), as new code on disk would be.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

interface Release {
  name: string;
  errorEvery?: number;
  delayMs?: number;
  crashAfterMs?: number;
}

const canary = { warmup: '1s', observe: '4s', minRequests: 100 };

function start(
  release: Release,
  extra: Record<string, unknown> = {},
  settings: Record<string, unknown> = canary,
) {
  const root = startRoot(
    {
      apps: [
        fixtureApp('web', 'canary-release.cjs', { instances: 3, reload: { canary: settings }, ...extra }),
      ],
    },
    { files: { 'release.json': JSON.stringify(release) } },
  );
  return root;
}

function deploy(root: Root, release: Release, args: string[] = []) {
  writeFileSync(join(root.dir, 'release.json'), JSON.stringify(release));
  return runCli(['reload', 'web', ...args], { cwd: root.dir, env: root.env });
}

async function releasesServing(address: string, n = 30): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(((await getJson(address)) as { release: string }).release);
  return seen;
}

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
      /web: canary failed: failed requests \(5xx or unfinished\) \d+(\.\d)?% vs 0%; its canaries were drained, the old workers serve/,
    );
    expect(reload.stdout).toMatch(
      /errors +\d+\.\d+% +0\.00% +5xx or unfinished at most \+1 points \(z-test, 99%\) +FAIL/,
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

  it('rolls back a release that crashes after 10 s of serving, at its crash', async () => {
    const root = start({ name: 'one' }, {}, { ...canary, observe: '20s' });
    await root.running('web');
    const address = await root.address('web');
    const traffic = startTraffic(address, { concurrency: 2 });
    await traffic.answered(20);
    const started = Date.now();
    const reload = await deploy(root, { name: 'two', crashAfterMs: 10_000 });
    const took = Date.now() - started;
    await traffic.stop();
    expect(reload.code, reload.stdout + reload.stderr).toBe(4);
    expect(reload.stdout).toMatch(/canary failed: canary worker 0 exited: exit code 1/);
    // At the crash, not at the end of the 20 s window.
    expect(took).toBeLessThan(18_000);
    expect(await releasesServing(address)).toEqual(new Set(['one']));
  });

  it('follows insufficientTraffic when the canary gets no traffic', async () => {
    const root = start({ name: 'one' }, {}, { ...canary, observe: '1s' });
    await root.running('web');
    const address = await root.address('web');
    const fail = await deploy(root, { name: 'two' });
    expect(fail.code, fail.stdout + fail.stderr).toBe(5);
    expect(fail.stderr).toMatch(/web: reload failed: canary: too little traffic/);
    expect(fail.stdout).toMatch(
      /canary had too little traffic: too little traffic to judge: 0 canary and 0 baseline requests/,
    );
    expect(await releasesServing(address, 5)).toEqual(new Set(['one']));
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({
        apps: [
          fixtureApp('web', 'canary-release.cjs', {
            instances: 3,
            reload: { canary: { ...canary, observe: '1s', insufficientTraffic: 'pass' } },
          }),
        ],
      }),
    );
    const up = await runCli(['up'], { cwd: root.dir, env: root.env });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toMatch(
      /canary had too little traffic: .*; the reload went on \(insufficientTraffic: "pass"\)/,
    );
    expect(await releasesServing(address, 5)).toEqual(new Set(['two']));
  });

  it('reloads an app that cannot have a canary without one when all are asked for, and refuses it named', async () => {
    const root = startRoot(
      {
        apps: [
          fixtureApp('web', 'canary-release.cjs', {
            instances: 2,
            reload: { canary: { warmup: '0s', observe: '500ms', insufficientTraffic: 'pass' } },
          }),
          {
            name: 'sleeper',
            command: ['/bin/sh', '-c', 'exec sleep 1000'],
            readiness: 'loaded',
            readySettle: '100ms',
          },
        ],
      },
      { files: { 'release.json': JSON.stringify({ name: 'one' }) } },
    );
    await root.running('web');
    await root.running('sleeper');
    const all = await runCli(['reload', '--canary'], { cwd: root.dir, env: root.env });
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.stdout).toMatch(/web: canary had too little traffic/);
    expect(all.stdout).toMatch(/sleeper: no canary: canary reloads judge a release by its requests/);
    expect(all.stdout).toMatch(/sleeper: reloaded, 1 worker replaced/);
    const named = await runCli(['reload', 'sleeper', '--canary'], { cwd: root.dir, env: root.env });
    expect(named.code).toBe(64);
    expect(named.stderr).toMatch(
      /sleeper: reload failed: reload --canary: canary reloads judge a release by its requests/,
    );
  });

  it('reports every app of a reload: the canary that passed and deployed, the one rolled back (exit 4)', async () => {
    const settings = { warmup: '500ms', observe: '2s', minRequests: 50 };
    const app = (name: string) =>
      fixtureApp(name, 'canary-release.cjs', { instances: 2, cwd: name, reload: { canary: settings } });
    const root = startRoot(
      { apps: [app('good'), app('bad')] },
      {
        files: {
          'good/release.json': JSON.stringify({ name: 'one', delayMs: 2 }),
          'bad/release.json': JSON.stringify({ name: 'one', delayMs: 2 }),
        },
      },
    );
    await root.running('good');
    await root.running('bad');
    const good = startTraffic(await root.address('good'), { concurrency: 2 });
    const bad = startTraffic(await root.address('bad'), { concurrency: 2 });
    await good.answered(20);
    await bad.answered(20);
    writeFileSync(join(root.dir, 'good/release.json'), JSON.stringify({ name: 'two', delayMs: 2 }));
    writeFileSync(
      join(root.dir, 'bad/release.json'),
      JSON.stringify({ name: 'two', errorEvery: 2, delayMs: 2 }),
    );
    const reload = await runCli(['reload'], { cwd: root.dir, env: root.env });
    await good.stop();
    await bad.stop();
    expect(reload.code, reload.stdout + reload.stderr).toBe(4);
    expect(reload.stdout).toMatch(/good: canary passed: no regression; the reload went on/);
    expect(reload.stdout).toMatch(/good: reloaded, 2 workers replaced/);
    expect(reload.stdout).toMatch(/bad: canary failed: failed requests \(5xx or unfinished\)/);
    expect(reload.stderr).toMatch(/bad: reload failed: canary:/);
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
