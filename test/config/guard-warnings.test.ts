// What `validate` warns about the guards of a valid config, against this machine's limits, and how it
// describes them.
import { describe, expect, it } from 'vitest';
import { describeGuards } from '../../src/cli/format.js';
import { guardWarnings } from '../../src/config/guards.js';
import { runCli } from '../helpers/cli.js';
import { resolvedApp } from '../helpers/fake-pool.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const MB = 1024 ** 2;
const off = resolvedApp().guards;
const app = (name: string, instances: number, limit: number | null, hardLimit: number | null = null) => ({
  name,
  instances,
  guards: { ...off, memory: { ...off.memory, limit, hardLimit } },
});

describe('guard warnings', () => {
  it("warns when the workers' limits add up to more than the cgroup's memory.max", () => {
    const apps = [app('web', 4, 512 * MB), app('jobs', 2, 256 * MB, 768 * MB)];
    const [warning, ...more] = guardWarnings(apps, { memoryMax: 2048 * MB, platform: 'linux' });
    expect(more).toEqual([]);
    expect(warning).toMatch(
      /^the workers may use 4 x 512MB \(web\) \+ 2 x 768MB \(jobs\) = 3.5GB before their memory guards act, more than this cgroup's memory.max \(2GB\)/,
    );
    expect(guardWarnings(apps, { memoryMax: 4096 * MB, platform: 'linux' })).toEqual([]);
    expect(guardWarnings(apps, { memoryMax: null, platform: 'linux' })).toEqual([]);
    // No guard, nothing to compare.
    expect(guardWarnings([app('web', 64, null)], { memoryMax: 1, platform: 'linux' })).toEqual([]);
  });

  it('warns where there is no /proc to read memory from', () => {
    expect(guardWarnings([app('web', 2, 512 * MB)], { memoryMax: null, platform: 'darwin' })).toEqual([
      "guards.memory reads each worker's memory from /proc, which darwin does not have: web will not be guarded here",
    ]);
  });

  it('describes the guards in a line, and nothing when there are none', () => {
    expect(describeGuards(off)).toBe('');
    expect(
      describeGuards({
        memory: { limit: 512 * MB, hardLimit: 1024 * MB, interval: 1_000 },
        heartbeat: { timeout: 30_000, interval: 1_000 },
        recycle: { maxAge: 86_400_000, cron: '0 4 * * *', timezone: 'UTC', jitter: 300_000 },
      }),
    ).toBe(
      'memory replaced over 512MB, killed over 1GB (RSS every 1s); heartbeat every 1s, replaced after 30s without an answer; recycled at 24h old (+ up to 5m); recycled at "0 4 * * *" UTC (+ up to 5m)',
    );
  });

  it('validate prints the guards, and lists warnings under --json', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({
        apps: [{ name: 'web', script: 'server.js', instances: 2, guards: { memory: { limit: '300MB' } } }],
      }),
      'server.js': '',
    });
    const human = await runCli(['validate'], { cwd: dir });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('  guards    memory replaced over 300MB (RSS every 1s)\n');
    const json = await runCli(['validate', '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      warnings: expect.any(Array),
      apps: [{ guards: { memory: { limit: 300 * MB, hardLimit: null, interval: 1_000 } } }],
    });
  });
});
