// `clusterd profile` and `clusterd heap` against a real clusterd: a CPU profile of a worker kept busy in
// a known function names it, a heap snapshot parses and holds the fixture's marker class, the files are
// 0600 and never written over a file or through a link, the refusals say why with their codes, and the
// profiled workers go on as they were (same pid, no restart). Nothing is left behind (helpers/root.ts).
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/protocol.js';
import { BIN, runCli } from '../helpers/cli.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

function get(address: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${address}${path}`, { agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

async function status(root: Root): Promise<Status> {
  const result = await runCli(['status', '--json'], { cwd: root.dir, env: root.env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Status;
}

const workersOf = (s: Status, app: string) =>
  s.apps.find((a) => a.name === app)?.workers.map((w) => ({ id: w.id, pid: w.pid, restarts: w.restarts }));

describe('clusterd profile and clusterd heap', () => {
  it('profiles a busy worker and snapshots a heap without restarting them, refusing what it cannot do', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'profile-app.cjs', {
          instances: 2,
          env: { PORT: '0' },
          // A heartbeat shorter than nothing a snapshot could take: the guard is paused meanwhile.
          guards: { heartbeat: { timeout: '1s', interval: '250ms' } },
        }),
        fixtureApp('booting', 'never-listens.cjs', { instances: 1, readyTimeout: '60s' }),
        {
          name: 'sleeper',
          command: ['/bin/sh', '-c', 'exec sleep 1000'],
          readiness: 'loaded',
          readySettle: '100ms',
        },
      ],
    });
    await root.running('web');
    await root.running('sleeper');
    await root.waitFor((e) => e.app === 'booting' && e.to === 'starting', 'booting worker starting');
    const address = await root.address('web');
    const cli = (...args: string[]) => runCli(args, { cwd: root.dir, env: root.env, timeoutMs: 20_000 });
    const before = workersOf(await status(root), 'web');

    // (1) A CPU profile over 1 s, of the first ready worker, while requests keep it busy.
    let busy = true;
    const driving = (async () => {
      while (busy) await Promise.all([get(address, '/spin?ms=15'), get(address, '/spin?ms=15')]);
    })();
    const cpu = await cli('profile', 'web', '--cpu', '1s', '--output', 'busy.cpuprofile');
    busy = false;
    await driving;
    expect(cpu.code, cpu.stderr).toBe(0);
    const path = join(root.dir, 'busy.cpuprofile');
    expect(cpu.stdout).toMatch(
      new RegExp(
        `^CPU profile of web/0 \\(pid \\d+\\), the first ready worker: [\\d.]+ KiB in 1\\.\\d s, the worker paused \\d+ ms -> ${path}\\n$`,
      ),
    );
    expect(cpu.stderr).toMatch(/^profiling web\/0 \(pid \d+, the first ready worker\) for 1s\.\.\.\n$/);
    const profile = JSON.parse(readFileSync(path, 'utf8')) as {
      nodes: { callFrame: { functionName: string } }[];
      samples: number[];
    };
    expect(profile.samples.length).toBeGreaterThan(0);
    expect(profile.nodes.map((n) => n.callFrame.functionName)).toContain('spinInKnownFunctionForProfile');
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // (2) A heap snapshot of worker 1, under the default name in the current directory.
    const heap = await cli('heap', 'web', '1', '--json');
    expect(heap.code, heap.stderr).toBe(0);
    const taken = JSON.parse(heap.stdout) as {
      path: string;
      worker: number;
      pid: number;
      bytes: number;
      pauseMs: number;
    };
    const pid1 = before?.find((w) => w.id === 1)?.pid;
    expect(taken).toMatchObject({ app: 'web', kind: 'heap', worker: 1, pid: pid1 });
    expect(taken.path).toMatch(new RegExp(`^${root.dir}/web-1-${pid1}-\\d{8}T\\d{6}\\.heapsnapshot$`));
    expect(statSync(taken.path).mode & 0o777).toBe(0o600);
    expect(statSync(taken.path).size).toBe(taken.bytes);
    expect(taken.pauseMs).toBeGreaterThan(0);
    const snapshot = JSON.parse(readFileSync(taken.path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(snapshot)).toEqual(expect.arrayContaining(['snapshot', 'nodes', 'strings']));
    expect(snapshot.strings).toContain('ClusterdHeapMarker');

    // (3) Refusals, each with its code; nothing written.
    const refused = async (args: string[], code: string, message: RegExp) => {
      const result = await cli(...args, '--json');
      expect(result.code, result.stderr).toBe(1);
      expect(JSON.parse(result.stdout).error.code).toBe(code);
      expect(result.stderr).toMatch(message);
    };
    await refused(['heap', 'nope', '0'], 'CLUSTERD_ERR_UNKNOWN_APP', /no app named "nope"/);
    await refused(
      ['heap', 'web', '7'],
      'CLUSTERD_ERR_UNKNOWN_WORKER',
      /web: heap snapshot failed: the app has no worker 7 \(its workers: 0, 1\)/,
    );
    await refused(
      ['profile', 'sleeper'],
      'CLUSTERD_ERR_NOT_PROFILABLE',
      /sleeper runs a program \(command\), not Node\.js cluster workers/,
    );
    await refused(
      ['heap', 'booting', '0'],
      'CLUSTERD_ERR_WORKER_NOT_READY',
      /booting: heap snapshot failed: worker 0 \(pid \d+\) is starting: not ready yet/,
    );
    writeFileSync(join(root.dir, 'taken.heapsnapshot'), 'mine');
    writeFileSync(join(root.dir, 'target'), 'theirs');
    symlinkSync(join(root.dir, 'target'), join(root.dir, 'link.heapsnapshot'));
    await refused(
      ['heap', 'web', '0', '-o', 'taken.heapsnapshot'],
      'CLUSTERD_ERR_OUTPUT_FILE',
      /taken\.heapsnapshot exists already; clusterd never overwrites a file/,
    );
    await refused(
      ['heap', 'web', '0', '-o', 'link.heapsnapshot'],
      'CLUSTERD_ERR_OUTPUT_FILE',
      /link\.heapsnapshot is a symbolic link/,
    );
    expect(readFileSync(join(root.dir, 'taken.heapsnapshot'), 'utf8')).toBe('mine');
    expect(readFileSync(join(root.dir, 'target'), 'utf8')).toBe('theirs');
    expect(lstatSync(join(root.dir, 'link.heapsnapshot')).isSymbolicLink()).toBe(true);
    const bad = await cli('profile', 'web', '--cpu', '10');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--cpu must be a duration such as 10s/);

    // (5) The same workers serve, never restarted, and no guard acted on them.
    expect(workersOf(await status(root), 'web')).toEqual(before);
    expect(before?.every((w) => w.restarts === 0)).toBe(true);
    expect(root.events.filter((e) => e.app === 'web' && e.guard !== undefined)).toEqual([]);
    expect(
      readdirSync(root.dir)
        .filter((f) => /\.(cpuprofile|heapsnapshot)$/.test(f))
        .sort(),
    ).toEqual(
      [
        'busy.cpuprofile',
        'link.heapsnapshot',
        'taken.heapsnapshot',
        taken.path.slice(root.dir.length + 1),
      ].sort(),
    );
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('removes the partial file when the worker exits during its profile, or the CLI is interrupted', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'profile-app.cjs', { instances: 1, env: { PORT: '0' } })],
    });
    await root.running('web');
    const [worker] = workersOf(await status(root), 'web') ?? [];
    const file = join(root.dir, 'cut.cpuprofile');
    // A CLI under way: resolves with its exit code and stderr, once the file exists (the worker is chosen).
    const profiling = async () => {
      const cli = spawn(
        process.execPath,
        [BIN, 'profile', 'web', '0', '--cpu', '5s', '-o', 'cut.cpuprofile'],
        {
          cwd: root.dir,
          env: root.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      cli.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
        cli.on('close', (code) => resolve({ code, stderr })),
      );
      await until(() => existsSync(file), 'the profile file to be created', 10_000);
      return { cli, exited };
    };

    // Ctrl-C: the file goes, the worker stops profiling (another profile of it is taken at once).
    const first = await profiling();
    first.cli.kill('SIGINT');
    expect(await first.exited).toEqual({
      code: 1,
      stderr: expect.stringMatching(/clusterd: profile interrupted; nothing was written\n$/),
    });
    expect(existsSync(file)).toBe(false);
    const again = await runCli(['profile', 'web', '0', '--cpu', '100ms', '-o', 'again.cpuprofile'], {
      cwd: root.dir,
      env: root.env,
    });
    expect(again.code, again.stderr).toBe(0);

    // The worker killed meanwhile: the file goes, and the reason is said.
    const second = await profiling();
    process.kill(worker?.pid as number, 'SIGKILL');
    expect(await second.exited).toEqual({
      code: 1,
      stderr: expect.stringMatching(
        /clusterd: web: profile failed: worker 0 \(pid \d+\): it exited before its CPU profile was written\n$/,
      ),
    });
    expect(existsSync(file)).toBe(false);
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  }, 20_000);

  it('refuses a draining worker, saying so', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'profile-app.cjs', { instances: 2, env: { PORT: '0' } })],
    });
    await root.running('web');
    const address = await root.address('web');
    // A request held by each worker (round-robin hands the two connections one each): slot 1's worker,
    // scaled away, drains until its request is answered.
    const held = Promise.all([get(address, '/hold?ms=2500'), get(address, '/hold?ms=2500')]);
    const scaled = runCli(['scale', 'web', '1'], { cwd: root.dir, env: root.env });
    await root.waitFor((e) => e.app === 'web' && e.worker === 1 && e.to === 'draining', 'worker 1 draining');
    const heap = await runCli(['heap', 'web', '1', '--json'], { cwd: root.dir, env: root.env });
    expect(heap.code, heap.stderr).toBe(1);
    expect(JSON.parse(heap.stdout).error.code).toBe('CLUSTERD_ERR_WORKER_NOT_READY');
    expect(heap.stderr).toMatch(/web: heap snapshot failed: worker 1 \(pid \d+\) is draining\n$/);
    await held;
    expect((await scaled).code).toBe(0);
    expect(readdirSync(root.dir).filter((f) => f.endsWith('.heapsnapshot'))).toEqual([]);
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  }, 20_000);
});
