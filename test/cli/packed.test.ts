// clusterd as a user gets it: `npm pack`, `npm install` of the tarball in a fresh project, then
// `npx clusterd init`, `validate`, `start --detach`, `status` and `shutdown` there, on the pinned Node.js.
// The installed package must run no install script (npm 11 warns of any: issue 27).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, runCommand } from '../helpers/cli.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { freePort, get } from '../helpers/http.js';
import { noneLeft } from '../helpers/project.js';
import { testEnv } from '../helpers/root.js';

// The `node` devDependency's binary, alone in its folder: the machine's own Node.js may be older than
// clusterd's minimum, and npm, npx and clusterd's bin all run on the first `node` on PATH.
const PINNED_NODE = join(REPO_ROOT, 'node_modules/node/bin');

const SERVER = `// The project's own server: answers every request with the pid of the worker that served it.
require('node:http')
  .createServer((req, res) => res.end(JSON.stringify({ pid: process.pid })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

/** Asserts a command succeeded, showing its output when it did not. */
function succeeded(r: CliResult): string {
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code: 0, signal: null });
  return r.stdout;
}

describe('the packed package', () => {
  it('installs with no install script and runs a project through npx', async () => {
    // npm test's pretest has built dist/: packing without scripts does not build it a second time
    // (prepack would) while other test files run from it.
    expect(existsSync(join(REPO_ROOT, 'dist/cli/bin.js')), 'dist/ is built (npm run build)').toBe(true);
    const env = testEnv();
    env.PATH = [PINNED_NODE, env.PATH].join(delimiter);
    const tag = String(env.CLUSTERD_TEST_TAG);
    const packs = tempDir();
    const packed = succeeded(
      await runCommand('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packs], {
        env,
        timeoutMs: 30_000,
      }),
    );
    const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toContain('dist/cli/bin.js');
    expect(paths).toContain('schemas/cluster.config.schema.json');
    // The dashboard's page ships as it is served (health.dashboard).
    expect(paths).toContain('dashboard/index.html');
    expect(
      paths.filter((p) => !/^(dist|schemas|dashboard)\/|^[^/]+$/.test(p) || p.endsWith('.tsbuildinfo')),
    ).toEqual([]);

    const port = await freePort();
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({
        name: 'packed-app',
        version: '1.0.0',
        private: true,
        scripts: { start: `PORT=${port} node server.js` },
      }),
      'server.js': SERVER,
    });
    try {
      // Its runtime dependencies' metadata comes from the registry; their tarballs, from the npm cache the
      // repository's own npm ci filled.
      const install = await runCommand(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', join(packs, filename)],
        { cwd: dir, env, timeoutMs: 60_000 },
      );
      succeeded(install);
      expect(install.stdout + install.stderr).not.toMatch(/install.scripts?/i);
      const installed = JSON.parse(readFileSync(join(dir, 'node_modules/clusterd/package.json'), 'utf8'));
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
        expect(installed.scripts?.[hook], hook).toBeUndefined();

      // --no: the installed clusterd or a failure, never one fetched from the registry.
      const npx = (...args: string[]) => runCommand('npx', ['--no', 'clusterd', ...args], { cwd: dir, env });
      expect(succeeded(await npx('init'))).toMatch(/app packed-app: runs server\.js/);
      // instances "max" is one worker per CPU: two are enough, on any machine.
      const configFile = join(dir, 'cluster.config.json');
      const config = JSON.parse(readFileSync(configFile, 'utf8'));
      expect(config.apps[0]).toMatchObject({ script: 'server.js', env: { PORT: String(port) } });
      config.apps[0].instances = 2;
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      succeeded(await npx('validate'));

      expect(succeeded(await npx('start', '--detach'))).toMatch(
        /^clusterd started in the background \(pid \d+\): packed-app x2\n/,
      );
      expect(JSON.parse((await get(`127.0.0.1:${port}`)).body)).toMatchObject({ pid: expect.any(Number) });
      const status = succeeded(await npx('status'));
      expect(status.match(/^packed-app +running +\d +\d+ +ready /gm)).toHaveLength(2);
      expect(succeeded(await npx('shutdown'))).toMatch(/is shutting down/);
    } finally {
      await noneLeft(tag);
    }
  }, 120_000);
});
