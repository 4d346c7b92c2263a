// Finding the clusterd a command is about when the directory has no config under the searched names:
// the one clusterd running a config file of the directory under another name (the README's
// `npm start` runs cluster.config.example.json), a clear error when there are several, today's when none.
import { describe, expect, it } from 'vitest';
import { chooseRunning, configCandidates } from '../../src/control/locate.js';
import { ErrorCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

describe('which running clusterd (pure)', () => {
  it('takes the files a config could be, by extension', () => {
    expect(
      configCandidates(['README.md', 'b.YAML', 'a.json', 'x.ts', 'notes.txt', 'run.cjs', 'Makefile', '.env']),
    ).toEqual(['a.json', 'b.YAML', 'run.cjs', 'x.ts']);
  });

  it('picks the one running, none for none, and names them all when there are several', () => {
    expect(chooseRunning('/srv/app', [])).toBeUndefined();
    expect(chooseRunning('/srv/app', ['/srv/app/other.json'])).toBe('/srv/app/other.json');
    expect(() => chooseRunning('/srv/app', ['/srv/app/a.json', '/srv/app/b.yaml'])).toThrow(
      expect.objectContaining({
        code: ErrorCode.SEVERAL_RUNNING,
        message:
          'clusterd runs for 2 config files in /srv/app (a.json, b.yaml); pass --config PATH to say which',
      }),
    );
  });
});

describe('a clusterd running a config of another name', () => {
  it('is found from its directory; two are told apart only by --config; none is the usual error', async () => {
    const web = fixtureApp('web', 'http-server.cjs', { instances: 1 });
    const root = startRoot({ apps: [web] }, { configName: 'other-name.json' });
    await root.running('web');
    const cli = (args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

    const status = await cli(['status']);
    expect([status.code, status.stderr]).toEqual([0, '']);
    expect(status.stdout).toMatch(/^clusterd \d+, other-name\.json, up /);
    expect((await cli(['reload'])).stdout).toMatch(/^web: reloaded, 1 worker replaced/);

    // A second one in the same directory, with the same runtime directory.
    const runtime = {
      XDG_RUNTIME_DIR: String(root.env.XDG_RUNTIME_DIR),
      RUNTIME_DIRECTORY: String(root.env.RUNTIME_DIRECTORY),
    };
    const api = fixtureApp('api', 'http-server.cjs', { instances: 1 });
    const second = startRoot({ apps: [api] }, { configName: 'third.yaml', dir: root.dir, env: runtime });
    await second.running('api');
    const several = await cli(['status']);
    expect([several.code, several.stdout, several.stderr]).toEqual([
      1,
      '',
      'clusterd: clusterd runs for 2 config files in this directory (other-name.json, third.yaml); pass --config PATH to say which\n',
    ]);
    const chosen = JSON.parse((await cli(['status', '--json', '--config', 'third.yaml'])).stdout);
    expect(chosen.apps.map((a: { name: string }) => a.name)).toEqual(['api']);

    for (const r of [root, second]) r.signal('SIGTERM');
    await Promise.all([root.waitForExit(), second.waitForExit()]);
    const none = await cli(['status']);
    expect([none.code, none.stderr]).toEqual([
      66,
      'clusterd: no config file in this directory; run from the project or pass --config PATH\n',
    ]);
  });
});
