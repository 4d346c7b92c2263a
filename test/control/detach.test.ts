// `clusterd start --detach`: returns once every app is ready (or one failed), logs to a file, refuses a
// twin, and `clusterd shutdown` ends it without leaving a process.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { isAlive, taggedProcesses, until } from '../helpers/processes.js';
import { noneLeft, project } from '../helpers/project.js';
import { FIXTURES } from '../helpers/root.js';

// An app that throws at boot and goes errored after one restart.
const boomApp = {
  name: 'boom',
  script: join(FIXTURES, 'crash-at-boot.cjs'),
  instances: 1,
  restart: { maxRestarts: 1, backoff: { initial: '10ms' } },
};

describe('start --detach', () => {
  it('returns once every app is ready, refuses a twin, and shuts down cleanly', async () => {
    const { dir, env, tag } = project([
      { name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 2 },
    ]);
    try {
      const started = await runCli(['start', '--detach'], { cwd: dir, env });
      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(
        /^clusterd started in the background \(pid (\d+)\): web x2\nlogs: .+\.log\n$/,
      );
      const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
      const status = JSON.parse((await runCli(['status', '--json'], { cwd: dir, env })).stdout);
      expect(status).toMatchObject({ pid, apps: [{ name: 'web', state: 'running' }] });

      const twin = await runCli(['start', '--detach'], { cwd: dir, env });
      expect([twin.code, twin.stderr]).toEqual([
        1,
        expect.stringMatching(new RegExp(`already running for cluster\\.config\\.json \\(pid ${pid}\\)`)),
      ]);

      const logs = join(String(env.XDG_STATE_HOME), 'clusterd', 'logs');
      const [file] = readdirSync(logs).filter((f) => f.endsWith('.log'));
      expect(readFileSync(join(logs, String(file)), 'utf8')).toMatch(/"msg":"app running"/);

      expect((await runCli(['shutdown'], { cwd: dir, env })).code).toBe(0);
      await until(() => !isAlive(pid), 'the supervisor to exit', 10_000);
      expect(existsSync(join(String(env.XDG_RUNTIME_DIR), 'clusterd', `${file}`))).toBe(false);
    } finally {
      await noneLeft(tag);
    }
  });

  it('fails with the reason when an app cannot start', async () => {
    const { dir, env, tag } = project([
      { name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 1 },
      boomApp,
    ]);
    try {
      const started = await runCli(['start', '--detach'], { cwd: dir, env });
      expect(started.code).toBe(1);
      expect(started.stderr).toMatch(
        /^clusterd: boom failed to start: app errored: exit code 1: Error: boom at boot/,
      );
      // The app that did start keeps serving, to be inspected; shutdown ends it.
      expect(started.stderr).toMatch(
        /the supervisor keeps running \(pid \d+\); logs: .*; stop it with clusterd shutdown/,
      );
      expect((await runCli(['shutdown'], { cwd: dir, env })).code).toBe(0);
    } finally {
      await noneLeft(tag);
    }
  });

  it('says why when the supervisor itself ends because nothing could start', async () => {
    const { dir, env, tag } = project([boomApp]);
    try {
      const started = await runCli(['start', '--detach'], { cwd: dir, env });
      // Seen either while the supervisor reports the app errored (1) or once it has ended because of it (3).
      expect([1, 3]).toContain(started.code);
      expect(started.stderr).toMatch(
        /boom.*app errored: exit code 1: Error: boom at boot; 2 failed starts in a row \(restart.maxRestarts 1\)/,
      );
    } finally {
      await noneLeft(tag);
    }
  });

  // Its own startup errors come before its log is open: they reach the terminal through its stderr,
  // and this start's reason wins over an earlier run's in the log.
  it("reports the supervisor's own startup error, not an earlier run's", async () => {
    const { dir, env, tag } = project([boomApp]);
    try {
      const first = await runCli(['start', '--detach'], { cwd: dir, env });
      expect(first.stderr).toMatch(/boom at boot/);
      await noneLeft(tag);
      // The runtime directory (the control socket's) is a regular file: the supervisor refuses to start.
      const notDir = join(dir, 'not-a-directory');
      writeFiles(dir, { 'not-a-directory': '' });
      const refused = { ...env, XDG_RUNTIME_DIR: notDir, RUNTIME_DIRECTORY: notDir };
      const started = await runCli(['start', '--detach'], { cwd: dir, env: refused });
      expect(started.code).toBe(1);
      // The directory refused is the runtime directory itself or its clusterd/ (which variable names it
      // decides): either way the one line says which, and why.
      const where = notDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(started.stderr).toMatch(
        new RegExp(
          `^clusterd: the supervisor exited \\(code 1\\): cannot create ${where}(/clusterd)? \\(E[A-Z]+: ${where} is not a directory\\)`,
        ),
      );
      expect(started.stderr).not.toMatch(/boom/);
      expect(started.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      const logs = join(String(env.XDG_STATE_HOME), 'clusterd', 'logs');
      const [stderrFile] = readdirSync(logs).filter((f) => f.endsWith('.stderr'));
      expect(statSync(join(logs, String(stderrFile))).mode & 0o777).toBe(0o600);
    } finally {
      await noneLeft(tag);
    }
  });

  it('reports an invalid config in the terminal, before starting anything', async () => {
    const { dir, env, tag } = project([{ name: 'web', script: 'missing.js' }]);
    const r = await runCli(['start', '--detach'], { cwd: dir, env });
    expect([r.code, r.stderr]).toEqual([78, expect.stringMatching(/CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND/)]);
    expect(taggedProcesses(tag)).toEqual([]);
  });
});
