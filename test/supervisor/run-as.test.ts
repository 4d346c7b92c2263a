// Apps run as another user: a real local user made with useradd, real workers forked with its uid/gid,
// real HTTP. Creating users and forking as them needs root, so those tests run only as root (CI runs
// them in a root container); the config errors are checked whoever runs the suite.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { getJson } from '../helpers/http.js';
import { FIXTURES, fixtureApp, startRoot } from '../helpers/root.js';

const isRoot = process.getuid?.() === 0;
const made: string[] = [];

// A unique local user with its own group and no home directory; removed after the test, even a failed one.
function makeUser(): { name: string; uid: number; gid: number } {
  const name = `cdtest-${randomBytes(4).toString('hex')}`;
  execFileSync('useradd', [
    '--no-create-home',
    '--home-dir',
    `/nonexistent/${name}`,
    '--user-group',
    '--shell',
    '/usr/sbin/nologin',
    name,
  ]);
  made.push(name);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

afterEach(() => {
  for (const name of made.splice(0)) {
    // --force: a failed test may leave the user's workers running until the root helper kills them
    // (after this hook), and a plain userdel refuses a user with live processes.
    execFileSync('userdel', ['--force', name], { stdio: 'ignore' });
    try {
      execFileSync('groupdel', [name], { stdio: 'ignore' });
    } catch {
      // userdel removed the user's own group (USERGROUPS_ENAB).
    }
  }
});

describe('apps run as another user', () => {
  // Needs root: useradd, and forking workers with another uid.
  it.skipIf(!isRoot)(
    'forks the workers with the user uid and gid, through a reload, and warns only for root apps',
    async () => {
      const user = makeUser();
      const logs = tempDir();
      const root = startRoot({
        apps: [
          fixtureApp('web', 'report-ids.cjs', {
            instances: 2,
            user: user.name,
            cwd: FIXTURES,
            logs: { file: join(logs, 'web.log') },
          }),
          fixtureApp('admin', 'report-ids.cjs', { instances: 1, cwd: FIXTURES }),
        ],
      });
      await root.running('web');
      await root.running('admin');
      const address = await root.address('web');
      const first = await getJson(address);
      expect(first).toMatchObject({
        uid: user.uid,
        gid: user.gid,
        // libuv drops the supervisor's supplementary groups (setgroups(0)) before setgid/setuid.
        groups: [user.gid],
        HOME: `/nonexistent/${user.name}`,
        USER: user.name,
        LOGNAME: user.name,
      });
      // The app run as root is named once; the app with a user is not.
      const warnings = root.events.filter((e) => /runs as root; set user to drop privileges/.test(e.msg));
      expect(warnings.map((e) => [e.app, e.msg, e.level])).toEqual([
        ['admin', 'app admin runs as root; set user to drop privileges', 40],
      ]);
      // The primary stays root: it must signal and reap the workers and own the log files.
      const primary = await root.waitFor(
        (e) => e.app === 'web' && typeof e.primary === 'number',
        'web primary',
      );
      expect(statSync(`/proc/${primary.primary}`).uid).toBe(0);
      // Its log file: the supervisor's, readable by the app's group, not writable by the app.
      const log = statSync(join(logs, 'web.log'));
      expect([log.uid, log.gid, (log.mode & 0o777).toString(8)]).toEqual([0, user.gid, '640']);

      const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env });
      expect(reload.code, reload.stderr).toBe(0);
      const after = await getJson(address);
      expect(after).toMatchObject({ uid: user.uid, gid: user.gid });
      expect(after.pid).not.toBe(first.pid);

      root.signal('SIGTERM');
      expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
      // startRoot's afterEach asserts no process of this root is left.
    },
  );

  // Needs root: a user other than the supervisor's, to be denied what root may read.
  it.skipIf(!isRoot)(
    "says in the failed start's reason that the user cannot enter the cwd or read the script",
    async () => {
      const user = makeUser();
      // tempDir() is 0700 root: the user cannot enter it.
      const closed = tempDir();
      copyFileSync(join(FIXTURES, 'report-ids.cjs'), join(closed, 'server.cjs'));
      // A directory the user may enter, holding a script only root may read.
      const open = tempDir();
      chmodSync(open, 0o755);
      copyFileSync(join(FIXTURES, 'report-ids.cjs'), join(open, 'server.cjs'));
      chmodSync(join(open, 'server.cjs'), 0o600);
      const never = { policy: 'never' };
      const root = startRoot({
        apps: [
          {
            name: 'closed',
            script: join(closed, 'server.cjs'),
            cwd: closed,
            instances: 1,
            user: user.name,
            restart: never,
          },
          {
            name: 'unreadable',
            script: join(open, 'server.cjs'),
            cwd: open,
            instances: 1,
            user: user.name,
            restart: never,
          },
        ],
      });
      const reason = (app: string) =>
        root.waitFor(
          (e) => e.app === app && e.to === 'crashed' && typeof e.reason === 'string',
          `${app} failed`,
        );
      const who = `user ${user.name} (uid ${user.uid}, gid ${user.gid})`;
      expect((await reason('closed')).reason).toContain(
        `${who} cannot enter its working directory ${closed} (mode 0700, owner 0:0)`,
      );
      expect((await reason('unreadable')).reason).toContain(
        `${who} cannot read its script ${join(open, 'server.cjs')} (mode 0600, owner 0:0)`,
      );
      root.signal('SIGTERM');
      await root.waitForExit();
    },
  );

  // Needs root: useradd, and forking workers with another uid.
  it.skipIf(!isRoot)(
    'a config reload that sets user rolls the app onto it; a missing user changes nothing',
    async () => {
      const user = makeUser();
      const config = (extra: object) => ({
        apps: [fixtureApp('web', 'report-ids.cjs', { instances: 1, cwd: FIXTURES, ...extra })],
      });
      const root = startRoot(config({}));
      await root.running('web');
      const address = await root.address('web');
      expect(await getJson(address)).toMatchObject({ uid: 0 });

      const reload = async (extra: object, outcome: string) => {
        const mark = root.events.length;
        writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify(config(extra)));
        root.signal('SIGHUP');
        return root.waitFor((e) => String(e.msg).startsWith(outcome), outcome, { from: mark });
      };
      const missing = `cdtest-missing-${randomBytes(4).toString('hex')}`;
      const failed = await reload({ user: missing }, 'config reload failed');
      expect(failed.msg).toContain(`user "${missing}" does not exist`);
      expect(await getJson(address)).toMatchObject({ uid: 0 });

      const mark = root.events.length;
      const done = await reload({ user: user.name }, 'config reloaded');
      expect(done.changes).toEqual(['web rolled (runAs)']);
      await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'web rolled', { from: mark });
      expect(await getJson(address)).toMatchObject({ uid: user.uid, gid: user.gid, USER: user.name });
      root.signal('SIGTERM');
      expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    },
  );

  it('refuses a user that does not exist: exit 78, the pointer, no stack trace', async () => {
    const name = `cdtest-missing-${randomBytes(4).toString('hex')}`;
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({ apps: [fixtureApp('web', 'http-server.cjs', { user: name })] }),
    });
    for (const command of ['validate', 'start']) {
      const result = await runCli([command, 'cluster.config.json'], { cwd: dir });
      expect(result.code, result.stderr).toBe(78);
      expect(result.stderr).toContain(`/apps/0/user (app "web"): user "${name}" does not exist`);
      expect(result.stderr).toContain('CLUSTERD_ERR_CONFIG_UNKNOWN_USER');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a user database that fails (getent exits 1) is a config error, not a stack trace', async () => {
    const bin = tempDir();
    writeFiles(bin, { getent: '#!/bin/sh\nexit 1\n' });
    chmodSync(join(bin, 'getent'), 0o755);
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({
        apps: [fixtureApp('web', 'http-server.cjs', { user: 'web' })],
      }),
    });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const result = await runCli(['validate', 'cluster.config.json'], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(78);
    expect(result.stderr).toContain(
      '/apps/0/user (app "web"): cannot look up user "web": getent passwd failed (exit code 1)',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  // Needs root: to run the CLI as an unprivileged user made for the test.
  it.skipIf(!isRoot)(
    'a non-root supervisor asked to run an app as another user refuses before forking',
    async () => {
      const user = makeUser();
      const dir = tempDir();
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, 'state'), { mode: 0o700 });
      writeFiles(dir, {
        'cluster.config.json': JSON.stringify({
          apps: [fixtureApp('web', 'http-server.cjs', { user: 'root' })],
        }),
      });
      const asUser = { uid: user.uid, gid: user.gid };
      // Its own user is allowed, and validate says whom the workers run as.
      writeFiles(dir, {
        'own.json': JSON.stringify({ apps: [fixtureApp('web', 'http-server.cjs', { user: user.name })] }),
      });
      const own = await runAs(asUser, ['validate', 'own.json'], dir);
      expect(own.code, own.stderr).toBe(0);
      expect(own.stdout).toContain(`  runs as   user ${user.name} (uid ${user.uid}, gid ${user.gid})`);
      for (const command of ['validate', 'start']) {
        const result = await runAs(asUser, [command, 'cluster.config.json'], dir);
        expect(result.code, result.stderr).toBe(78);
        expect(result.stderr).toContain(
          `/apps/0/user (app "web"): running workers as user "root", gid 0 needs a root supervisor; this one runs as uid ${user.uid}, gid ${user.gid}`,
        );
        expect(result.stderr).toContain('CLUSTERD_ERR_CONFIG_PRIVILEGE');
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
    },
  );
});

// The CLI run with another uid and gid (no shell), its output collected.
function runAs(ids: { uid: number; gid: number }, args: string[], cwd: string) {
  try {
    const stdout = execFileSync(process.execPath, [BIN, ...args], {
      cwd,
      ...ids,
      env: { PATH: process.env.PATH ?? '', XDG_RUNTIME_DIR: join(cwd, 'state') },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}
