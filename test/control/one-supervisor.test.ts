// One supervisor per config, against real racing processes: five `clusterd start` at once leave exactly
// one running; a live root that cannot answer (SIGSTOPped, its backlog full) is never taken for stale;
// a stopping root removes only the socket it bound, and its lock.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { socketOf } from '../helpers/control.js';
import { tempDir } from '../helpers/files.js';
import { until } from '../helpers/processes.js';
import { noneLeft, project } from '../helpers/project.js';
import { FIXTURES, Root, startRoot } from '../helpers/root.js';

const web = { name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 1 };

const ALREADY =
  /^clusterd: clusterd is already running for \S+cluster\.config\.json \(pid (\d+), control socket \S+\.sock\)$/;

describe('one supervisor per config', () => {
  it('lets exactly one of five concurrent starts run; the others say it is already running', async () => {
    const { dir, env, tag } = project([web]);
    const closed: Promise<unknown>[] = [];
    const roots = Array.from({ length: 5 }, () => {
      const child = spawn(process.execPath, [BIN, 'start', '--log-format', 'json'], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const root = new Root(child, tag, dir);
      closed.push(new Promise((resolve) => child.once('close', () => resolve(root))));
      return root;
    });
    try {
      await until(() => roots.filter((r) => r.exited).length >= 4, 'four starts to give up', 15_000);
      const winner = roots.find((r) => !r.exited) as Root;
      await winner.running('web');
      for (const loser of roots.filter((r) => r.exited)) {
        await new Promise(
          (resolve) => loser.child.once('close', resolve).stderr?.readableEnded && resolve(0),
        );
        expect(loser.exited).toEqual({ code: 1, signal: null });
        const lines = loser.output.filter((line) => !line.startsWith('{'));
        expect(lines).toEqual([expect.stringMatching(ALREADY)]);
        expect(ALREADY.exec(String(lines[0]))?.[1]).toBe(String(winner.child.pid));
      }
      expect(roots.filter((r) => r.exited)).toHaveLength(4);
      expect((await runCli(['status', '--json'], { cwd: dir, env })).code).toBe(0);
      expect((await runCli(['shutdown'], { cwd: dir, env })).code).toBe(0);
      expect(await winner.waitForExit()).toEqual({ code: 0, signal: null });
    } finally {
      for (const root of roots) if (!root.exited) root.child.kill('SIGKILL');
      await noneLeft(tag);
    }
  });

  it('never replaces a live root that cannot answer (SIGSTOPped, backlog full)', async () => {
    const root = startRoot({ apps: [web] });
    await root.running('web');
    const path = socketOf(root);
    const flood: Socket[] = [];
    root.signal('SIGSTOP');
    try {
      // Fill the listen backlog: the next connect is refused with EAGAIN, which once meant "stale".
      for (let full = false; !full && flood.length < 5_000; ) {
        const socket = connect(path);
        flood.push(socket);
        full = await new Promise<boolean>((resolve) => {
          socket.once('connect', () => resolve(false));
          socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EAGAIN'));
        });
      }
      const twin = await runCli(['start', '--log-format', 'json'], { cwd: root.dir, env: root.env });
      expect([twin.code, twin.stderr.trim()]).toEqual([1, expect.stringMatching(ALREADY)]);
      expect(ALREADY.exec(twin.stderr.trim())?.[1]).toBe(String(root.child.pid));
      expect(lstatSync(path).isSocket()).toBe(true);
    } finally {
      for (const socket of flood) socket.destroy();
      root.signal('SIGCONT');
    }
    expect((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).code).toBe(0);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('removes on stop only the socket it bound, and its lock', async () => {
    const root = startRoot({ apps: [web] });
    await root.running('web');
    const path = socketOf(root);
    const lock = path.replace(/\.sock$/, '.lock');
    expect(existsSync(lock)).toBe(true);
    // Another socket now has the name (ours moved aside): stopping must not unlink it.
    renameSync(path, `${path}.moved`);
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(path, resolve));
    try {
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
      expect(lstatSync(path).isSocket()).toBe(true);
      expect(existsSync(lock)).toBe(false);
    } finally {
      other.close();
    }
  });

  it('refuses a runtime directory that is a symlink, starting nothing', async () => {
    const { dir, env, tag } = project([web]);
    const real = join(tempDir(), 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(dirname(real), 'link');
    symlinkSync(real, link);
    const start = await runCli(['start'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: link } });
    expect([start.code, start.stderr]).toEqual([
      1,
      `clusterd: refusing ${link}: ${link} is a symbolic link (to ${real}), not a directory; fix or remove it\n`,
    ]);
    const status = await runCli(['status'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: link } });
    expect([status.code, status.stderr]).toEqual([
      1,
      expect.stringContaining(`is a symbolic link (to ${real}), not a directory; nothing was sent`),
    ]);
    await noneLeft(tag);
  });
});
