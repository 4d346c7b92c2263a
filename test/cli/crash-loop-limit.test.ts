// What the real binary says about the crash-loop limit: `validate` tells when an app gives up with its
// settings.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

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
});
