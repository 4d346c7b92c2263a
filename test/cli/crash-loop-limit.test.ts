// What the real binary says about the crash-loop limit: `validate` tells when an app gives up with its
// settings, and a config still setting the removed `restart.window` is refused with what replaced it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { testEnv } from '../helpers/root.js';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

describe('the crash-loop limit on the command line', () => {
  it('validate says after how many failed starts, and about how long, each app gives up', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({
        apps: [
          { name: 'defaults', script: 'server.js' },
          {
            name: 'tight',
            script: 'server.js',
            restart: { maxRestarts: 3, backoff: { initial: '1s', max: '2s' } },
          },
          { name: 'none', script: 'server.js', restart: { maxRestarts: 0 } },
          { name: 'never', script: 'server.js', restart: { policy: 'never' } },
        ],
      }),
      'server.js': '',
    });
    const r = await runCli(['validate'], { cwd: dir });
    expect(r.code).toBe(0);
    const givesUp = r.stdout.split('\n').filter((line) => line.startsWith('  gives up  '));
    expect(givesUp).toEqual([
      // 100 ms + 200 ms + ... + 12.8 s + 15 s + 15 s.
      '  gives up  after 11 failed starts in a row (restart.maxRestarts 10), about 55.5s plus the time each start runs',
      // 1 s + 2 s + 2 s.
      '  gives up  after 4 failed starts in a row (restart.maxRestarts 3), about 5s plus the time each start runs',
      '  gives up  at the first failed start, with no restart (restart.maxRestarts 0)',
      '  gives up  never restarts (restart.policy never)',
    ]);
    expect(r.stdout).toContain('  restart   on-failure, backoff 100ms x2 up to 15s, stable after 10s\n');
    const json = JSON.parse((await runCli(['validate', '--json'], { cwd: dir })).stdout);
    expect(json.apps.map((a: { crashLoopLimit: unknown }) => a.crashLoopLimit)).toEqual([
      { failedStarts: 11, backoffMs: 55_500 },
      { failedStarts: 4, backoffMs: 5_000 },
      { failedStarts: 1, backoffMs: 0 },
      { failedStarts: 11, backoffMs: 55_500 },
    ]);
    expect(json.apps[0].restart).not.toHaveProperty('window');
  });

  it('refuses restart.window, removed, saying what replaced it: validate and start exit 78, no stack trace', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json':
        '{\n  "apps": [\n    { "name": "web", "script": "server.js", "restart": { "window": "1m" } }\n  ]\n}\n',
      'server.js': '',
    });
    const line =
      'clusterd: cluster.config.json:3:58 /apps/0/restart/window (app "web"): restart.window was removed: ' +
      'restart.maxRestarts now counts failed starts in a row, however long they take; ' +
      'remove "window"; see docs/reliability.md ("What counts as a crash loop") [CLUSTERD_ERR_CONFIG_REMOVED_KEY]';
    for (const command of ['validate', 'start']) {
      const r = await runCli([command], { cwd: dir, env: testEnv() });
      expect(r.code, `${command}: ${r.stderr}`).toBe(78);
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(r.stderr.trimEnd().split('\n')).toEqual([line]);
    }
    const json = JSON.parse((await runCli(['validate', '--json'], { cwd: dir })).stdout);
    expect(json.errors).toEqual([
      expect.objectContaining({
        code: 'CLUSTERD_ERR_CONFIG_REMOVED_KEY',
        file: join(dir, 'cluster.config.json'),
        pointer: '/apps/0/restart/window',
        hint: 'remove "window"; see docs/reliability.md ("What counts as a crash loop")',
      }),
    ]);
  });
});
