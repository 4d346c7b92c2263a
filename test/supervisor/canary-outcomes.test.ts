// Canary reloads' other outcomes, on a real app: a release that crashes after 10 s of serving is rolled
// back at its crash; no traffic gives the configured outcome; an app that cannot have a canary is
// reloaded without one when all are asked for, and refused when named; a reload of several apps reports
// each one's verdict.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canary, deploy, releasesServing, start } from '../helpers/canary.js';
import { runCli } from '../helpers/cli.js';
import { fixtureApp, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

describe('canary reload outcomes', () => {
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
});
