// Log files that cannot be written: a full disk (/dev/full), a path under a regular file, a disk too slow
// (a FIFO nobody reads), and `start --detach` without a usable state directory. The apps keep running,
// the problem is reported once per file, not once per line, and nothing waits or piles up behind it.
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configId } from '../../src/control/paths.js';
import { LogFile, type LogFileReport, MAX_BUFFERED } from '../../src/log/file.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { get } from '../helpers/http.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { FIXTURES, type LogEvent, startRoot, testEnv } from '../helpers/root.js';

const chatty = join(FIXTURES, 'log-chatty.cjs');
const line = (i: number) => `{"level":30,"msg":"line ${i}"}\n`;

function logFile(file: string) {
  const reports: LogFileReport[] = [];
  const stream = new LogFile(file, {
    maxSize: 1024 * 1024,
    maxFiles: 2,
    retryMs: 20,
    report: (r) => reports.push(r),
  });
  return { stream, reports };
}

describe('a log file that cannot be written', () => {
  it('under a regular file: reported once, its lines dropped, written again once the path is fixed', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'logs'), 'a file, not a directory');
    const { stream, reports } = logFile(join(dir, 'logs', 'app.log'));
    for (let i = 0; i < 5000; i += 1) stream.write(line(i));
    expect(reports).toEqual([
      {
        state: 'failing',
        file: join(dir, 'logs', 'app.log'),
        error: 'ENOTDIR',
        message: `ENOTDIR: ${join(dir, 'logs')} is not a directory`,
      },
    ]);
    rmSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'logs'));
    await until(
      () => stream.write('written again\n') && reports.length === 2,
      'the file to be written again',
    );
    expect(reports[1]).toEqual({
      state: 'writing',
      file: join(dir, 'logs', 'app.log'),
      dropped: expect.any(Number),
    });
    expect((reports[1] as { dropped: number }).dropped).toBeGreaterThanOrEqual(5000);
    await new Promise((resolve) => stream.end(resolve));
    expect(readFileSync(join(dir, 'logs', 'app.log'), 'utf8')).toMatch(/^written again\n/);
  });

  it('on a full disk (/dev/full): ENOSPC reported once for thousands of lines and many retries', async () => {
    // The device itself: a symbolic link to it is refused (see log-symlinks.test.ts).
    const file = '/dev/full';
    const { stream, reports } = logFile(file);
    for (let i = 0; i < 10_000; i += 1) stream.write(line(i));
    await until(() => reports.length > 0, 'the report');
    // Writes keep coming for a while: every 20 ms the file is tried again, and fails the same way.
    let polls = 0;
    await until(() => stream.write(line(polls)) && ++polls >= 30, 'more writes');
    expect(reports).toEqual([
      { state: 'failing', file, error: 'ENOSPC', message: expect.stringMatching(/ENOSPC/) },
    ]);
    stream.destroy();
  });

  it('too slow to keep up (a FIFO nobody reads): bounded, reported, written again once it drains', async () => {
    const fifo = join(tempDir(), 'slow.log');
    execFileSync('mkfifo', [fifo]);
    const { stream, reports } = logFile(fifo);
    try {
      const chunk = `${'x'.repeat(1023)}\n`;
      for (let i = 0; i < (MAX_BUFFERED / 1024) * 2; i += 1) stream.write(chunk);
      expect(reports).toEqual([
        { state: 'failing', file: fifo, error: 'BACKLOG', message: expect.any(String) },
      ]);
    } finally {
      createReadStream(fifo).resume();
    }
    await until(() => stream.write('more\n') && reports.length === 2, 'the backlog to drain', 10_000);
    expect(reports[1]).toMatchObject({ state: 'writing', dropped: expect.any(Number) });
    expect((reports[1] as { dropped: number }).dropped).toBeGreaterThanOrEqual(8 * 1024);
    stream.destroy();
  });

  it('keeps the apps serving and restarting on a full disk and under a regular file, one report each', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const app = (name: string, file: string) => ({ name, script: chatty, instances: 2, logs: { file } });
    const root = startRoot({
      apps: [app('full', '/dev/full'), app('notdir', join(dir, 'not-a-dir', 'sub', 'app.log'))],
    });
    await Promise.all([root.running('full'), root.running('notdir')]);
    const addresses = [await root.address('full'), await root.address('notdir')];
    const written = () => root.output.filter((l) => l.includes('chatty line')).length;
    const chat = () => Promise.all(addresses.map((a) => get(a, '/chat?n=5000')));
    await chat();
    await chat();
    // A worker killed is replaced as usual.
    for (const name of ['full', 'notdir']) {
      const ready = (e: LogEvent) => e.app === name && e.to === 'ready';
      const worker = root.events.find(ready);
      process.kill(Number(worker?.pid), 'SIGKILL');
      await root.waitForCount(ready, 3, `${name} to replace its worker`);
    }
    await chat();
    // Every line still reaches the console.
    await until(() => written() >= 30_000, 'every line on the console', 10_000);
    const reports = root.events.filter((e) => e.msg.startsWith('cannot write log file'));
    expect(reports).toHaveLength(2);
    expect(reports.find((e) => e.app === 'full')).toMatchObject({
      level: 50,
      file: '/dev/full',
      error: 'ENOSPC',
      msg: expect.stringMatching(
        /no space left on device, write; its lines are dropped until it can be written again/,
      ),
    });
    expect(reports.find((e) => e.app === 'notdir')).toMatchObject({
      level: 50,
      file: join(dir, 'not-a-dir', 'sub', 'app.log'),
      error: 'ENOTDIR',
      msg: expect.stringContaining(`: ENOTDIR: ${join(dir, 'not-a-dir')} is not a directory; its lines`),
    });
    console.info(`log faults: ${reports.length} reports for ${written()} lines written by 2 apps`);
    for (const address of addresses) expect((await get(address)).status).toBe(200);
    const status = await runCli(['status', '--json'], { cwd: root.dir, env: root.env });
    const faults = JSON.parse(status.stdout).logFaults as { app: string; error: string }[];
    expect(faults.map((f) => [f.app, f.error]).sort()).toEqual([
      ['full', 'ENOSPC'],
      ['notdir', 'ENOTDIR'],
    ]);
    // The table says it too, under the workers.
    const table = await runCli(['status'], { cwd: root.dir, env: root.env });
    expect(table.stdout).toMatch(
      /^log file not written \(full\): .*: ENOSPC since .*, its lines are dropped$/m,
    );
    expect(table.stdout).toMatch(/^log file not written \(notdir\): .*: ENOTDIR since /m);
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });
});

describe('start --detach and its log', () => {
  function project() {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({ apps: [{ name: 'web', script: chatty, instances: 1 }] }),
    });
    const env = testEnv();
    return { dir, env, tag: String(env.CLUSTERD_TEST_TAG) };
  }

  it('refuses in one line, starting nothing, when the state or runtime directory cannot be created', async () => {
    const { dir, env, tag } = project();
    const file = join(tempDir(), 'state');
    writeFileSync(file, '');
    const detach = await runCli(['start', '--detach'], { cwd: dir, env: { ...env, XDG_STATE_HOME: file } });
    expect([detach.code, detach.stdout, detach.stderr]).toEqual([
      1,
      '',
      `clusterd: cannot create ${file}/clusterd/logs (ENOTDIR: ${file} is not a directory); fix it, or point XDG_STATE_HOME elsewhere\n`,
    ]);
    const runtime = join(file, 'clusterd');
    const start = await runCli(['start'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: runtime } });
    expect([start.code, start.stderr]).toEqual([
      1,
      `clusterd: cannot create ${runtime} (ENOTDIR: ${file} is not a directory); fix it, or point RUNTIME_DIRECTORY elsewhere\n`,
    ]);
    expect(taggedProcesses(tag)).toEqual([]);
    expect(existsSync(join(String(env.XDG_RUNTIME_DIR), 'clusterd'))).toBe(false);
  });

  it('refuses in one line, starting nothing, when its own log file is a symbolic link', async () => {
    const { dir, env, tag } = project();
    const logs = join(String(env.XDG_STATE_HOME), 'clusterd', 'logs');
    mkdirSync(logs, { recursive: true, mode: 0o700 });
    const file = join(logs, `${basename(dir)}-${configId(join(dir, 'cluster.config.json'))}.log`);
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, file);
    const detach = await runCli(['start', '--detach'], { cwd: dir, env });
    expect([detach.code, detach.stdout, detach.stderr]).toEqual([
      1,
      '',
      `clusterd: cannot open log file ${file}: ${file} is a symbolic link; clusterd never writes a log file through one (whoever made it could point it at any file): remove it\n`,
    ]);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(taggedProcesses(tag)).toEqual([]);
  });

  // Its log file's name is fixed and a symbolic link there is refused, so the full disk is a device node
  // made with mknod at that name, which needs root.
  it.skipIf(process.getuid?.() !== 0)(
    'runs, and shows in status, when its own log file cannot be written',
    async () => {
      const { dir, env, tag } = project();
      const logs = join(String(env.XDG_STATE_HOME), 'clusterd', 'logs');
      mkdirSync(logs, { recursive: true, mode: 0o700 });
      const file = join(logs, `${basename(dir)}-${configId(join(dir, 'cluster.config.json'))}.log`);
      execFileSync('mknod', [file, 'c', '1', '7']);
      try {
        const started = await runCli(['start', '--detach'], { cwd: dir, env });
        expect([started.code, started.stderr]).toEqual([0, '']);
        const status = JSON.parse((await runCli(['status', '--json'], { cwd: dir, env })).stdout);
        expect(status.apps).toMatchObject([{ name: 'web', state: 'running' }]);
        expect(status.logFaults).toEqual([
          {
            file,
            error: 'ENOSPC',
            message: expect.stringMatching(/no space left on device/),
            since: expect.any(Number),
          },
        ]);
        expect((await runCli(['shutdown'], { cwd: dir, env })).code).toBe(0);
        await until(() => taggedProcesses(tag).length === 0, 'every process to exit', 10_000);
      } finally {
        for (const pid of taggedProcesses(tag)) process.kill(pid, 'SIGKILL');
      }
    },
  );
});
