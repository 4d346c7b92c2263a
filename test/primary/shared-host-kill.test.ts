// A shared primary (primary/host.ts) as a real process, driven here as the root drives it: an app with
// log files is SIGKILLed on its own (what the root does to an app it gives up on while the group's other
// apps run on). Its workers die, its context ends, and its log files are closed: the host lives on, and
// an open file left behind would be rotated beside the app's next context's (a review finding).
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { type HostMessage, PROTOCOL_VERSION } from '../../src/protocol.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { freePort, get } from '../helpers/http.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { testEnv } from '../helpers/root.js';

const ENTRY = join(REPO_ROOT, 'dist/primary/entry.js');

/** The files a process has open, by their paths. */
const openFiles = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return []; // closed meanwhile
    }
  });

let host: ChildProcess | null = null;
afterEach(() => {
  if (host?.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
});

describe('a shared primary, one app SIGKILLed', () => {
  it("closes that app's log files and keeps running", async () => {
    const port = await freePort();
    const dir = writeFiles(tempDir(), {
      'app.cjs': `console.log('up ' + process.pid);
require('node:http').createServer((_q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');`,
      'cluster.config.json': JSON.stringify({
        apps: [
          {
            name: 'a',
            script: 'app.cjs',
            instances: 2,
            primaryGroup: 'g',
            env: { PORT: port },
            logs: { file: 'logs/a.log', errorFile: 'logs/a.err' },
          },
        ],
      }),
    });
    const config = await loadConfig({ cwd: dir });
    const app = config.apps[0];
    const env = testEnv();
    const tag = env.CLUSTERD_TEST_TAG as string;

    const messages: HostMessage[] = [];
    const child = fork(ENTRY, ['--group', 'g'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    host = child;
    child.stdout?.resume();
    child.stderr?.resume();
    child.on('message', (m) => messages.push(m as HostMessage));
    const seen = (test: (m: HostMessage) => boolean) => messages.some(test);

    await until(() => seen((m) => m.type === 'host'), 'the host says hello');
    expect(messages[0]).toMatchObject({ type: 'host', version: PROTOCOL_VERSION });
    child.send({ type: 'attach', app: 'a' });
    child.send({
      type: 'to',
      app: 'a',
      message: { type: 'request', id: 1, request: { op: 'start', app, logFormat: 'json' } },
    });
    await until(
      () => seen((m) => m.type === 'from' && m.message.type === 'reply' && m.message.id === 1),
      'the start answered',
      15_000,
    );
    const reply = messages.find((m) => m.type === 'from' && m.message.type === 'reply');
    expect(reply).toMatchObject({ message: { outcome: { ok: true } } });
    expect((await get(`127.0.0.1:${port}`)).body).toBe('ok');
    const logFile = join(dir, 'logs/a.log');
    await until(() => existsSync(logFile), 'the log file');
    const pid = child.pid as number;
    expect(openFiles(pid)).toContain(logFile);
    const workers = taggedProcesses(tag).filter((p) => p !== pid);
    expect(workers).toHaveLength(2);

    child.send({ type: 'signal', app: 'a', signal: 'SIGKILL' });
    await until(() => seen((m) => m.type === 'ended' && m.app === 'a'), 'the app ended');
    await until(() => taggedProcesses(tag).every((p) => p === pid), 'its workers gone');
    await until(() => !openFiles(pid).some((f) => f.startsWith(join(dir, 'logs'))), 'its log files closed');
    expect(child.exitCode).toBeNull();

    child.send({ type: 'close' });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(child.exitCode).toBe(0);
    expect(taggedProcesses(tag), 'processes left behind').toEqual([]);
  });
});
