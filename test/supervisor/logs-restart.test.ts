// `clusterd logs` keeps an app's recent lines across every kind of restart: a worker's, its primary's
// (killed from outside), `clusterd restart <app>` and `clusterd stop <app>` then `start <app>`. The last
// two replace the root's runner of the app; its recent lines and its `logs --follow` readers used to go
// with the old runner, so `logs` came back empty and a follower heard nothing more from the app.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { isAlive, until } from '../helpers/processes.js';
import { type LogEvent, type Root, startRoot } from '../helpers/root.js';

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });
// Each worker says which process it is as it boots: every restart adds a line of its own.
const APP =
  'console.log("boot " + process.pid); require("node:http").createServer((_q, s) => s.end("ok")).listen(0, "127.0.0.1");';

const boots = (events: LogEvent[], from = 0) =>
  events.slice(from).filter((e) => e.app === 'web' && String(e.msg).startsWith('boot '));

describe('clusterd logs across restarts', () => {
  it('still shows the lines printed before a worker, primary or app restart, and keeps following the app', async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 1 }] },
      { files: { 'app.cjs': APP } },
    );
    await root.running('web');
    const first = await root.waitFor(
      (e) => e.app === 'web' && String(e.msg).startsWith('boot '),
      'a boot line',
    );

    // A follower from the start: it must hear every restart's boot line, whatever replaced what.
    const follow = spawn(process.execPath, [BIN, 'logs', 'web', '--follow', '--lines', '0'], {
      cwd: root.dir,
      env: root.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let followed = '';
    follow.stdout.setEncoding('utf8').on('data', (d: string) => {
      followed += d;
    });
    try {
      // The follower is subscribed once `logs --follow` shows the next line: a worker restart's.
      let mark = root.events.length;
      const worker = first.pid as number;
      process.kill(worker, 'SIGKILL');
      await until(() => boots(root.events, mark).length > 0, 'a new worker to boot', 15_000);
      const restarts: { how: string; run: () => Promise<void> }[] = [
        {
          how: 'primary killed',
          run: async () => {
            const primary = root.events.filter((e) => typeof e.primary === 'number').at(-1)
              ?.primary as number;
            process.kill(primary, 'SIGKILL');
            await until(() => !isAlive(primary), 'the primary to die');
          },
        },
        {
          how: 'clusterd restart web',
          run: async () => {
            const r = await cli(root, ['restart', 'web']);
            expect(r.code, r.stderr).toBe(0);
          },
        },
        {
          how: 'clusterd stop web, then start web',
          run: async () => {
            const stopped = await cli(root, ['stop', 'web']);
            expect(stopped.code, stopped.stderr).toBe(0);
            const started = await cli(root, ['start', 'web']);
            expect(started.code, started.stderr).toBe(0);
          },
        },
      ];
      for (const { how, run } of restarts) {
        const before = boots(root.events).map((e) => String(e.msg));
        mark = root.events.length;
        await run();
        await until(() => boots(root.events, mark).length > 0, `a new boot line after ${how}`, 15_000);
        const now = boots(root.events).map((e) => String(e.msg));
        const recent = await cli(root, ['logs', 'web', '--lines', '100']);
        expect(recent.code, recent.stderr).toBe(0);
        for (const line of now)
          expect(recent.stdout, `"${line}" in logs after ${how}`).toContain(`"${line}"`);
        expect(before.length).toBeLessThan(now.length);
      }
      // The follower saw the boot line of every restart after it connected (the first worker restart's
      // may have come before it was subscribed): the last app's too, from the runner that replaced its own.
      const last = String(boots(root.events).at(-1)?.msg);
      await until(() => followed.includes(`"${last}"`), `"${last}" in logs --follow`, 5_000).catch(() => {});
      expect(followed, 'logs --follow after the app was replaced').toContain(`"${last}"`);
    } finally {
      follow.kill();
      await new Promise((r) => follow.once('close', r));
    }
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);
});
