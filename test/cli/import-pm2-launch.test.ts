// `clusterd import pm2` on the launch forms real PM2 users write (issue 27), end to end with the built
// binary: npm/yarn scripts that run a package's bin, `interpreter: 'none'`, `script: 'node'` with the file
// in args, ts-node and npx tsx as interpreters, an ecosystem file in a subfolder of the project, a cwd
// that does not exist on this machine, and a .json file with a repeated key.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

// A package with a bin, installed as npm installs it: the package's file, and node_modules/.bin/<bin>
// a relative symbolic link to it.
function installBin(dir: string, pkg: string, bin: string, file: string, text = '#!/usr/bin/env node\n') {
  writeFiles(dir, {
    [`node_modules/${pkg}/package.json`]: JSON.stringify({ name: pkg, bin: { [bin]: file } }),
    [`node_modules/${pkg}/${file}`]: text,
  });
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(`../${pkg}/${file}`, join(dir, 'node_modules/.bin', bin));
}

async function imported(dir: string, file = 'ecosystem.config.js', extra: string[] = []) {
  const r = await runCli(['import', 'pm2', file, '-o', '-', ...extra], { cwd: dir });
  expect(r.stderr).not.toMatch(STACK_LINE);
  return { ...r, apps: r.stdout ? (JSON.parse(r.stdout).apps as Record<string, unknown>[]) : [] };
}

describe('clusterd import pm2: launch forms', () => {
  it("follows npm start to next's bin and yarn run to a script, and says what the last line means", async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'web', script: 'npm', args: 'start', instances: 2, exec_mode: 'cluster' },
  { name: 'api', script: 'yarn run serve' },
  { name: 'jobs', script: 'npm run worker' },
] };
`,
      'package.json': JSON.stringify({
        scripts: {
          start: 'cross-env NODE_ENV=production PORT=3000 next start',
          serve: 'npm run build && node --enable-source-maps dist/api.js',
          worker: 'tsx src/worker.ts',
        },
      }),
      'dist/api.js': '',
      'src/worker.ts': '',
    });
    installBin(dir, 'next', 'next', 'dist/bin/next');
    const r = await imported(dir);
    expect(r.code).toBe(0);
    expect(r.apps).toEqual([
      expect.objectContaining({
        name: 'web',
        script: 'node_modules/next/dist/bin/next',
        args: ['start'],
        env: { NODE_ENV: 'production', PORT: '3000' },
      }),
      expect.objectContaining({ name: 'api', script: 'dist/api.js', nodeArgs: ['--enable-source-maps'] }),
      expect.objectContaining({ name: 'jobs', script: 'src/worker.ts', nodeArgs: ['--import', 'tsx'] }),
    ]);
    expect(r.stderr).toMatch(/^web\s+script\s+changed\s+script, args\s+npm runs package.json's "cross-env/m);
    expect(r.stderr).toContain('"npm run build" ran first under PM2');
    expect(r.stderr).not.toMatch(/not node|Node\.js apps only/);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^clusterd: every app runs as it did under PM2 \(\d+ options work differently/,
    );
  });

  it("maps `nest start` to the file it spawns, not to nest's CLI", async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [{ name: 'api', script: 'npm', args: 'run start:prod' }] };\n`,
      'package.json': JSON.stringify({ scripts: { 'start:prod': 'NODE_ENV=production nest start' } }),
      'nest-cli.json': JSON.stringify({ collection: '@nestjs/schematics', sourceRoot: 'src' }),
      'dist/main.js': '',
    });
    installBin(dir, '@nestjs/cli', 'nest', 'bin/nest.js');
    const r = await imported(dir);
    expect(r.code).toBe(0);
    expect(r.apps[0]).toMatchObject({ script: 'dist/main.js', env: { NODE_ENV: 'production' } });
    expect(r.stderr).toContain('"nest start" compiles, then runs node dist/main.js as a child process');
  });

  it("runs interpreter 'none' with npm, script 'node' with its file in args, ts-node and npx tsx", async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'a', script: 'npm', args: 'start', interpreter: 'none' },
  { name: 'b', script: 'node', args: '--max-old-space-size=256 server.js --port 4000' },
  { name: 'c', script: 'node server.js', interpreter: 'none' },
  { name: 'd', script: 'src/main.ts', interpreter: './node_modules/.bin/ts-node' },
  { name: 'e', script: 'src/main.ts', interpreter: 'npx', interpreter_args: 'tsx' },
] };
`,
      'package.json': JSON.stringify({ scripts: { start: 'node server.js' } }),
      'server.js': '',
      'src/main.ts': '',
    });
    const r = await imported(dir);
    expect(r.code).toBe(0);
    expect(r.apps.map((a) => [a.name, a.script, a.args, a.nodeArgs])).toEqual([
      ['a', 'server.js', undefined, undefined],
      ['b', 'server.js', ['--port', '4000'], ['--max-old-space-size=256']],
      ['c', 'server.js', undefined, undefined],
      ['d', 'src/main.ts', undefined, ['--require', 'ts-node/register']],
      ['e', 'src/main.ts', undefined, ['--import', 'tsx']],
    ]);
  });

  it('a TypeScript script without an interpreter runs with the loader the project has, never type stripping silently', async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [{ name: 'api', script: 'src/main.ts' }] };\n`,
      'package.json': JSON.stringify({ devDependencies: { 'ts-node': '^10.9.2' } }),
      'src/main.ts': '',
    });
    const r = await imported(dir);
    expect(r.apps[0]).toMatchObject({ nodeArgs: ['--require', 'ts-node/register'] });
    // Decorators and no loader: Node.js's type stripping cannot run it, and that is a loss.
    writeFiles(dir, {
      'package.json': '{}',
      'tsconfig.json': JSON.stringify({ compilerOptions: { experimentalDecorators: true } }),
    });
    const nest = await imported(dir);
    expect(nest.code).toBe(2);
    expect(nest.stderr).toMatch(
      /^api\s+script\s+unsupported\s+-\s+PM2 runs TypeScript with Bun; Node.js's type stripping cannot run/m,
    );
  });

  it('takes relative paths from the project root for a file in a subfolder, or from --cwd', async () => {
    const dir = writeFiles(tempDir(), {
      'config/pm2/ecosystem.config.js': `module.exports = { apps: [{ name: 'api', script: 'dist/server.js', cwd: '.' }, { name: 'web', script: 'npm', args: 'start', cwd: 'web' }] };\n`,
      'package.json': '{"name": "root"}',
      'dist/server.js': '',
      'web/package.json': JSON.stringify({ scripts: { start: 'node index.js' } }),
      'web/index.js': '',
    });
    const r = await runCli(['import', 'pm2', 'config/pm2/ecosystem.config.js'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`taken as ${dir} (--cwd DIR to change it)`);
    // Written in the project root, where clusterd start finds it.
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps).toMatchObject([
      { name: 'api', script: 'dist/server.js' },
      { name: 'web', script: 'index.js', cwd: 'web' },
    ]);
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
    // --cwd names where pm2 start ran.
    const other = await imported(dir, 'config/pm2/ecosystem.config.js', ['--cwd', join(dir, 'web')]);
    expect(other.apps[0]).toMatchObject({ name: 'api', script: 'dist/server.js' });
    expect(other.stderr).toContain('This machine cannot run the config yet');
    const bad = await runCli(
      ['import', 'pm2', 'config/pm2/ecosystem.config.js', '--cwd', 'nowhere', '-o', '-'],
      { cwd: dir },
    );
    expect([bad.code, bad.stderr]).toEqual([64, expect.stringContaining('--cwd must be a directory')]);
  });

  it('writes an app whose cwd does not exist here, npm start or a file, and exits 2 saying it cannot run here yet', async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'web', script: 'npm', args: 'start', cwd: '/var/www/web-not-here' },
  { name: 'api', script: 'server.js', cwd: '/var/www/api-not-here' },
] };
`,
      'package.json': JSON.stringify({ scripts: { start: 'node dist/main.js' } }),
    });
    const r = await imported(dir);
    expect(r.code).toBe(2);
    expect(r.apps).toMatchObject([
      { name: 'web', script: 'dist/main.js', cwd: '/var/www/web-not-here' },
      { name: 'api', script: 'server.js', cwd: '/var/www/api-not-here' },
    ]);
    expect(r.stderr).toContain(`read from ${dir}, as the cwd /var/www/web-not-here does not exist here`);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'clusterd: the config is written, but this machine cannot run it yet (see above)',
    );
  });

  it('reads a .json file with a repeated key as PM2 does, the last one winning, and names the key', async () => {
    const dir = writeFiles(tempDir(), {
      'process.json':
        '{\n  "apps": [{\n    "name": "api",\n    "script": "server.js",\n    "instances": 2,\n    "instances": 4\n  }]\n}\n',
      'server.js': '',
    });
    const r = await imported(dir, 'process.json');
    expect(r.code).toBe(0);
    expect(r.apps[0]).toMatchObject({ instances: 4 });
    expect(r.stderr).toMatch(
      /^-\s+instances\s+changed\s+-\s+repeated at line 6 of the file: the last one wins/m,
    );
  });

  it('gives up on a bin whose pnpm shim leads to a FIFO, instead of blocking on it', async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': "module.exports = { apps: [{ name: 'web', script: 'npm', args: 'start' }] };\n",
      'package.json': JSON.stringify({ scripts: { start: 'foo serve' } }),
      'node_modules/.bin/foo': '#!/bin/sh\nexec node "$basedir/../foo/bin.js" "$@"\n',
    });
    mkdirSync(join(dir, 'node_modules/foo'));
    execFileSync('mkfifo', [join(dir, 'node_modules/foo/bin.js')]);
    const r = await imported(dir);
    // Not followed to a Node.js file, so the app is what PM2 runs: npm, a program (issue 29).
    expect(r.code, r.stderr).not.toBe(78);
    expect(r.apps).toMatchObject([{ name: 'web', command: ['npm', 'start'] }]);
    expect(r.stderr).toContain(
      `it runs "foo", which is no Node.js file nor a bin of this project's node_modules`,
    );
  });

  it('keeps the absolute directory of `cd /abs &&` as the cwd, from the app cwd too', async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'web', script: 'npm', args: 'start' },
  { name: 'api', cwd: 'sub', script: 'cd /srv/api && node server.js' },
] };
`,
      'package.json': JSON.stringify({ scripts: { start: 'cd /srv/web && node server.js' } }),
      'sub/server.js': '',
    });
    const r = await imported(dir);
    expect(r.apps).toMatchObject([
      { name: 'web', script: 'server.js', cwd: '/srv/web' },
      { name: 'api', script: 'server.js', cwd: '/srv/api' },
    ]);
  });
});
