// `clusterd events [app] [--json]` through the real CLI against a real root: the root's events as they are
// logged, as JSON lines or as readable lines, until the clusterd stops (then it exits 0).
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

function follow(root: Root, args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'events', ...args], {
    cwd: root.dir,
    env: root.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out.text += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { out, exited };
}

describe('clusterd events', () => {
  it('streams the events as JSON lines or readable lines, and ends with the clusterd', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] });
    await root.running('web');
    const json = follow(root, ['--json']);
    const human = follow(root, ['web']);
    // Reloads until both followers have shown a whole one (each connects in the meantime).
    const parsed = () =>
      json.out.text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    const whole = () => {
      const events = parsed();
      const start = events.findIndex((e) => e.reload === 'started');
      const done = events.findLastIndex((e) => e.reload === 'done');
      return start !== -1 && done > start ? events.slice(start, done + 1) : null;
    };
    const humanWhole = () => {
      const start = human.out.text.indexOf(' web reload started\n');
      return start !== -1 && human.out.text.indexOf(' web reloaded: 1 workers', start) !== -1;
    };
    while (!(whole() && humanWhole())) {
      expect((await runCli(['reload'], { cwd: root.dir, env: root.env })).code).toBe(0);
    }
    expect(whole()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ app: 'web', worker: 0, to: 'starting', level: 30 }),
        expect.objectContaining({ app: 'web', worker: 0, to: 'ready', address: expect.any(String) }),
        expect.objectContaining({ app: 'web', reload: 'done', replaced: 1, msg: expect.any(String) }),
      ]),
    );
    expect(human.out.text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} web reload started$/m);
    expect(human.out.text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} web\[0\] worker ready on 127\.0\.0\.1:\d+$/m);

    root.signal('SIGTERM');
    await root.waitForExit();
    expect(await json.exited).toBe(0);
    expect(await human.exited).toBe(0);
    // The supervisor's own events reach the follower of every app, not the follower of one.
    expect(json.out.text).toMatch(/"msg":"SIGTERM: stopping gracefully/);
    expect(human.out.text).not.toMatch(/SIGTERM/);
    expect([json.out.stderr, human.out.stderr]).toEqual(['', '']);

    const none = await runCli(['events'], { cwd: root.dir, env: root.env });
    expect([none.code, none.stderr]).toEqual([
      69,
      'clusterd: clusterd is not running for cluster.config.json\n',
    ]);
  });
});
