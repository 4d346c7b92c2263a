// `clusterd monit` in a real terminal (tmux): against a real clusterd under real traffic, its screen
// shows the workers as `status` knows them, follows a reload the operator asked for with its keys (new
// pids, the event), filters, redraws at a new size, and gives the terminal back as it was on `q`.
// Without a terminal it prints `status`.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';
import { Tmux } from '../helpers/tmux.js';
import { startTraffic } from '../helpers/traffic.js';

let tmux: Tmux | null = null;
afterEach(() => {
  tmux?.kill();
  tmux = null;
});

async function pids(root: Root, app: string): Promise<number[]> {
  const status = await runCli(['status', '--json'], { cwd: root.dir, env: root.env });
  const parsed = JSON.parse(status.stdout) as { apps: { name: string; workers: { pid: number }[] }[] };
  return parsed.apps.find((a) => a.name === app)?.workers.map((w) => w.pid) ?? [];
}

const row = (screen: string, pid: number) => screen.split('\n').find((l) => l.includes(` ${pid} `)) ?? '';

describe('clusterd monit', () => {
  it('shows the workers, follows a reload asked with its keys, filters, resizes and quits cleanly', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'http-server.cjs', { instances: 2 }),
        fixtureApp('other', 'http-server.cjs', { instances: 1 }),
      ],
    });
    await Promise.all([root.running('web'), root.running('other')]);
    const address = await root.address('web');
    const before = await pids(root, 'web');
    // Through a shell that says how monit exited and then waits, so the terminal's state after it can be read.
    tmux = Tmux.start(
      root.dir,
      ['sh', '-c', '"$0" "$1" monit; echo "monit exited $?"; sleep 120', process.execPath, BIN],
      { columns: 150, rows: 45, env: root.env },
    );
    const t = tmux;
    let screen = await t.waitFor(
      (s) => before.every((pid) => s.includes(` ${pid} `)),
      'the workers on the screen',
    );
    expect(screen).toContain('2 apps, 3 workers');
    expect(t.format('alternate_on')).toBe('1');

    // Live traffic shows up as a rate on the app's workers.
    const traffic = startTraffic(address, { concurrency: 2 });
    try {
      screen = await t.waitFor(
        (s) =>
          before.every((pid) =>
            /\s(\d{2,}|[1-9]\.\d)\s+\S+%\s/.test(row(s, pid).split(/\s+ready\s+/)[1] ?? ''),
          ),
        'a request rate on both workers',
      );
    } finally {
      await traffic.stop();
    }
    expect(screen).toMatch(/req\/s .*[▁▂▃▄▅▆▇█]/);

    // Select web (the first row), reload it with r, confirm with y: the screen follows the new workers.
    t.keys('r');
    await t.waitFor((s) => s.includes('reload web? y to confirm'), 'the confirmation');
    t.keys('y');
    screen = await t.waitFor((s) => /web: reloaded, 2 workers replaced/.test(s), 'the reload done', 30_000);
    const after = await pids(root, 'web');
    expect(after.some((pid) => before.includes(pid))).toBe(false);
    screen = await t.waitFor(
      (s) => after.every((pid) => s.includes(` ${pid} `)),
      'the new workers on the screen',
    );
    expect(screen).toMatch(/web reloaded: 2 workers replaced/);
    for (const pid of before) expect(row(screen, pid)).toBe('');

    // Down to worker 1: its line is the reversed one.
    t.keys('Down', 'Down');
    await until(
      () => t.screen(true).some((l) => l.includes('\x1b[7m') && l.includes(String(after[1]))),
      'worker 1 selected',
      5_000,
      100,
    );

    // A filter that matches nothing, then one that matches `other` only.
    t.keys('/', 'o', 't', 'h', 'Enter');
    screen = await t.waitFor((s) => s.includes('filter: oth') && !s.includes(` ${after[0]} `), 'the filter');
    expect(screen).toMatch(/^other\s+running/m);
    t.keys('Escape');
    await t.waitFor((s) => s.includes(` ${after[0]} `), 'the filter cleared');

    // A narrower, shorter terminal: redrawn to its size.
    t.resize(90, 20);
    screen = await t.waitFor((s) => s.split('\n')[19]?.includes('q quit') === true, 'the footer on line 20');
    for (const line of screen.split('\n')) expect(line.trimEnd().length).toBeLessThanOrEqual(90);

    // A refused action says why and changes nothing.
    t.keys('s', '0', 'x', 'Enter');
    await t.waitFor((s) => s.includes('N, +N or -N'), 'a bad count refused');

    t.keys('q');
    // The shell's screen is back as it was (empty), with the cursor.
    screen = await t.waitFor((s) => s.includes('monit exited'), 'monit to exit', 5_000);
    expect(screen.trim()).toBe('monit exited 0');
    expect(t.format('alternate_on')).toBe('0');
    expect(t.format('cursor_flag')).toBe('1');
    // The apps are as they were.
    expect(await pids(root, 'web')).toEqual(after);

    t.kill();
    tmux = null;
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    await until(
      () => taggedProcesses(String(root.env.CLUSTERD_TEST_TAG)).length === 0,
      'nothing left',
      5_000,
    );
  }, 60_000);

  it('quits at once during a long reload (which goes on), and gives the terminal back on SIGTERM', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('slow', 'slow-ready.cjs', {
          instances: 1,
          readiness: 'message',
          env: { READY_AFTER_MS: 4000 },
          readyTimeout: '20s',
        }),
      ],
    });
    await root.running('slow', 0);
    const shell =
      'stty -a | grep -o -- "-\\?icanon" > stty-before; "$0" "$1" monit; echo "monit exited $?"; stty -a | grep -o -- "-\\?icanon"; sleep 120';
    tmux = Tmux.start(root.dir, ['sh', '-c', shell, process.execPath, BIN], {
      columns: 120,
      rows: 40,
      env: root.env,
    });
    const t = tmux;
    await t.waitFor((s) => s.includes('1 app, 1 worker'), 'monit');
    t.keys('r');
    await t.waitFor((s) => s.includes('reload slow? y'), 'the confirmation');
    t.keys('y');
    await t.waitFor((s) => s.includes('reload slow: under way'), 'the reload under way');
    const quitAt = Date.now();
    t.keys('q');
    // Its exit status, then the line discipline's icanon flag as the shell found it after.
    const exited = (s: string) => /monit exited \d+\n\s*-?icanon/.test(s);
    const screen = await t.waitFor(exited, 'monit to exit', 3_000);
    // The new worker needs 4 s to be ready: monit did not wait for it.
    expect(Date.now() - quitAt).toBeLessThan(2_500);
    expect(screen).toContain('the reload of slow goes on in clusterd');
    expect(screen).toMatch(/monit exited 0\n\s*icanon/);
    await root.waitFor((e) => e.app === 'slow' && e.reload === 'done', 'the reload done', {
      timeoutMs: 15_000,
    });
    t.kill();

    // SIGTERM to monit: the screen, the cursor and the line discipline as they were.
    tmux = Tmux.start(root.dir, ['sh', '-c', shell, process.execPath, BIN], {
      columns: 120,
      rows: 40,
      env: root.env,
    });
    const u = tmux;
    await u.waitFor((s) => s.includes('1 app, 1 worker'), 'monit again');
    const pid = Number(u.run(['list-panes', '-t', 't', '-F', '#{pane_pid}']).trim());
    // The shell's child: monit itself.
    const monit = Number(
      execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')[0],
    );
    process.kill(monit, 'SIGTERM');
    const after = await u.waitFor(exited, 'monit to exit on SIGTERM', 3_000);
    expect(after).toMatch(/monit exited 143\n\s*icanon/);
    expect(u.format('alternate_on')).toBe('0');
    expect(u.format('cursor_flag')).toBe('1');
    u.kill();
    tmux = null;
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);

  it('prints status when not on a terminal, and refuses an unknown app', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] });
    await root.running('web');
    const plain = await runCli(['monit'], { cwd: root.dir, env: root.env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^APP\s+APP STATE\s+WORKER/m);
    expect(plain.stdout).toMatch(/^web\s+running\s+0\s+\d+\s+ready/m);
    expect(plain.stdout).not.toContain('\x1b');
    const unknown = await runCli(['monit', 'nope'], { cwd: root.dir, env: root.env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no app named "nope"');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const usage = await runCli(['monit', 'a', 'b'], { cwd: root.dir, env: root.env });
    expect(usage.code).toBe(64);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
