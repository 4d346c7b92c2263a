// Live config reload of a JS or TS config whose apps live in a file it imports: on SIGHUP the supervisor
// sees the edited import, every time (each load runs in a fresh process, so no module cache is stale).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, startRoot } from '../helpers/root.js';

const server = join(FIXTURES, 'http-server.cjs');
const app = (name: string, instances: number) => ({ name, script: server, instances });

describe('live config reload of a config module', () => {
  it.each([
    {
      config: 'cluster.config.mjs',
      entry: "import { apps } from './apps.mjs';\nexport default { apps };\n",
      apps: 'apps.mjs',
      write: (apps: object[]) => `export const apps = ${JSON.stringify(apps, null, 2)};\n`,
    },
    {
      config: 'cluster.config.ts',
      entry:
        "import { apps } from './apps';\nconst config: { apps: object[] } = { apps };\nexport default config;\n",
      apps: 'apps.ts',
      write: (apps: object[]) => `export const apps: object[] = ${JSON.stringify(apps, null, 2)};\n`,
    },
  ])('applies an edited import of $config on SIGHUP, each time', async ({ config, entry, apps, write }) => {
    // startRoot also writes a cluster.config.json; the path argument makes `start` use the module.
    const root = startRoot(
      {},
      { files: { [config]: entry, [apps]: write([app('web', 1)]) }, args: [config] },
    );
    await root.running('web');
    const reload = async (next: object[]) => {
      const mark = root.events.length;
      writeFileSync(join(root.dir, apps), write(next));
      root.signal('SIGHUP');
      const reloaded = await root.waitFor(
        (e) => String(e.msg).startsWith('config reload'),
        'the config reload',
        { from: mark },
      );
      expect(reloaded.msg).toMatch(/^config reloaded/);
      return { mark, changes: reloaded.changes };
    };

    const first = await reload([app('web', 2), app('api', 1)]);
    expect(first.changes).toEqual(['web 1->2 workers', '+api']);
    await Promise.all([
      root.waitFor((e) => e.app === 'web' && e.to === 2, 'web scaled to 2', { from: first.mark }),
      root.running('api', first.mark),
    ]);

    const second = await reload([app('web', 2)]);
    expect(second.changes).toEqual(['-api']);
    await root.waitFor(
      (e) => e.app === 'api' && e.to === 'stopped' && e.worker === undefined,
      'api stopped',
      { from: second.mark },
    );

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
