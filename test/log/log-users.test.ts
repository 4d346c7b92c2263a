// Log files against the real process tree: a root started under umask 000 still makes its log directories
// 0750 and its files 0640 (rotated ones included), and, as root, a second local user who plants a symbolic
// link to a root-owned file (in a directory of theirs, or in a sticky world-writable one) gets nothing
// written through it, while the app keeps running and `status` shows the refused file.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { get } from '../helpers/http.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { FIXTURES, Root, startRoot, testEnv } from '../helpers/root.js';

const chatty = join(FIXTURES, 'log-chatty.cjs');
const tags: string[] = [];

afterEach(async () => {
  for (const tag of tags.splice(0)) {
    try {
      await until(() => taggedProcesses(tag).length === 0, 'processes to exit', 3_000);
    } finally {
      for (const pid of taggedProcesses(tag)) process.kill(pid, 'SIGKILL');
    }
  }
});

// `clusterd start` under umask 000, the way a careless unit or shell would start it. The shell string is
// fixed; the command and its arguments are passed as "$@", never spliced into it.
function startUnderUmask000(config: object): Root {
  const dir = writeFiles(tempDir(), { 'cluster.config.json': JSON.stringify(config) });
  const tag = randomUUID();
  tags.push(tag);
  const env = testEnv(tag);
  const child = spawn(
    'sh',
    ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, BIN, 'start', '--log-format', 'json'],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const root = new Root(child, tag, dir);
  root.env = env;
  return root;
}

const mode = (path: string) => lstatSync(path).mode & 0o7777;

describe('log files under umask 000', () => {
  it('creates directories 0750 and files 0640, the rotated ones too', async () => {
    const root = startUnderUmask000({
      apps: [
        {
          name: 'chatty',
          script: chatty,
          instances: 1,
          logs: { file: 'logs/deep/app.log', maxSize: 1000, maxFiles: 2 },
        },
      ],
    });
    try {
      await root.running('chatty');
      const address = await root.address('chatty');
      const logs = join(root.dir, 'logs', 'deep');
      // Bursts of 10 lines (~1500 bytes in the file) into 1000-byte files, each one seen on the console
      // (the primary tees it to the file at the same time) before the next: one rotation per burst.
      for (let burst = 1; burst <= 4; burst += 1) {
        await get(address, '/chat?n=10');
        const seen = () => root.output.filter((l) => l.includes('chatty line 9 ')).length;
        await until(() => seen() >= burst, `burst ${burst} on the console`);
      }
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
      expect(readdirSync(logs).sort()).toEqual(['app.log', 'app.log.1', 'app.log.2']);
      expect([mode(join(root.dir, 'logs')), mode(logs)]).toEqual([0o750, 0o750]);
      for (const name of readdirSync(logs)) expect([name, mode(join(logs, name))]).toEqual([name, 0o640]);
    } finally {
      if (root.exited === null) root.child.kill('SIGKILL');
    }
  });
});

// Needs root: it creates a second local user (useradd/userdel) and acts as them (setpriv), as the attack
// it reproduces needs a root clusterd and another account.
describe.skipIf(process.getuid?.() !== 0)('a root clusterd and another local user', () => {
  it('writes nothing through a link they planted, in their directory or a sticky shared one', async () => {
    const user = `cdtest-${randomBytes(4).toString('hex')}`;
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    try {
      const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
      const gid = execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim();
      const as = (...command: string[]) =>
        execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...command]);
      const base = tempDir();
      chmodSync(base, 0o755);
      // A root-owned file the other user can neither read nor write (ld.so.preload in the report).
      const victim = join(base, 'victim');
      writeFileSync(victim, 'precious\n', { mode: 0o600 });
      // Theirs: a directory they own (as a home directory would be), where they plant the link.
      const theirs = join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o755 });
      chownSync(theirs, Number(uid), Number(gid));
      as('ln', '-s', victim, join(theirs, 'app.log'));
      // Shared: root's, world-writable and sticky like /tmp (so it passes the directory rule).
      const shared = join(base, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      as('ln', '-s', victim, join(shared, 'app.log'));
      expect(lstatSync(join(shared, 'app.log')).uid).toBe(Number(uid));

      const app = (name: string, file: string) => ({ name, script: chatty, instances: 1, logs: { file } });
      const root = startRoot({
        apps: [app('theirs', join(theirs, 'app.log')), app('shared', join(shared, 'app.log'))],
      });
      await Promise.all([root.running('theirs'), root.running('shared')]);
      const refused = (name: string) =>
        root.waitFor((e) => e.app === name && e.msg.startsWith('cannot write log file'), `${name} refused`);
      expect(await refused('theirs')).toMatchObject({
        level: 50,
        error: 'UNSAFE_PATH',
        msg: expect.stringContaining(`the directory ${theirs} is owned by ${user} (uid ${uid}), not by root`),
      });
      expect(await refused('shared')).toMatchObject({
        level: 50,
        error: 'SYMLINK',
        msg: expect.stringContaining(`${join(shared, 'app.log')} is a symbolic link`),
      });
      // The apps serve, their output still reaches the console, and status lists both files.
      const status = JSON.parse(
        (await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout,
      );
      expect(status.apps.map((a: { state: string }) => a.state)).toEqual(['running', 'running']);
      expect(status.logFaults.map((f: { error: string }) => f.error).sort()).toEqual([
        'SYMLINK',
        'UNSAFE_PATH',
      ]);
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(statSync(victim).mode & 0o777).toBe(0o600);
    } finally {
      execFileSync('userdel', [user]);
    }
  });
});
