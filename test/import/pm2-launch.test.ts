// How a launch is followed to the Node.js file that serves (src/import/pm2/launch.ts), on projects given
// as plain values: package.json scripts, bins, CLIs that spawn their server, loaders and watchers.
import { describe, expect, it } from 'vitest';
import { type LaunchContext, resolveLine, resolveWords } from '../../src/import/pm2/launch.js';
import { parseJsonc, projectContext } from '../../src/import/pm2/project.js';
import { tempDir, writeFiles } from '../helpers/files.js';

function project(files: Record<string, unknown>, bins: Record<string, string> = {}): LaunchContext {
  return {
    isFile: (file) => Object.hasOwn(files, file),
    readJson: (file) => (Object.hasOwn(files, file) ? files[file] : null),
    binTarget: (bin) => bins[bin] ?? null,
  };
}

const ok = (result: ReturnType<typeof resolveLine>) => {
  if (!result.ok) throw new Error(`not resolved: ${result.reason}`);
  return result.launch;
};

describe('import pm2: following a launch to its Node.js file', () => {
  it('reads variables, cross-env, node options and arguments off a command line', () => {
    expect(
      ok(
        resolveLine(
          'cross-env NODE_ENV=production PORT=80 node --max-old-space-size=512 dist/main.js -v',
          project({}),
        ),
      ),
    ).toEqual({
      command: {
        env: { NODE_ENV: 'production', PORT: '80' },
        nodeArgs: ['--max-old-space-size=512'],
        script: 'dist/main.js',
        args: ['-v'],
      },
      notes: [],
    });
  });

  it('follows npm, yarn and pnpm scripts through one another, with extra arguments', () => {
    const ctx = project({
      'package.json': {
        scripts: { start: 'npm run serve -- --port 4000', serve: 'yarn run real', real: 'node server.js' },
      },
    });
    expect(ok(resolveWords(['npm', 'start'], {}, ctx)).command).toMatchObject({
      script: 'server.js',
      args: ['--port', '4000'],
    });
    // A loop gives up instead of recursing for ever.
    const loop = project({ 'package.json': { scripts: { start: 'npm run a', a: 'npm start' } } });
    expect(resolveWords(['npm', 'start'], {}, loop)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('too deep'),
    });
  });

  it('runs the last command of `build && serve`, saying the build does not run, and follows a cd', () => {
    const launch = ok(
      resolveLine('npm run build && cd api && NODE_ENV=production node index.js', project({})),
    );
    expect(launch).toMatchObject({
      cwd: 'api',
      command: { script: 'index.js', env: { NODE_ENV: 'production' } },
    });
    expect(launch.notes.join('\n')).toContain('"npm run build" ran first under PM2');
    expect(resolveLine('node a.js | tee log', project({}))).toMatchObject({ ok: false });
    expect(resolveLine('node a.js & node b.js', project({}))).toMatchObject({ ok: false });
  });

  it('follows `cd /abs` as an absolute directory, and refuses a cd or && it cannot follow', () => {
    expect(ok(resolveLine('cd /srv/app && node server.js', project({}))).cwd).toBe('/srv/app');
    expect(ok(resolveLine('cd api && cd /srv/app && node server.js', project({}))).cwd).toBe('/srv/app');
    expect(ok(resolveLine('cd /srv && cd app && node server.js', project({}))).cwd).toBe('/srv/app');
    // A bin of this project is not one of /srv/app's.
    const bins = project({ 'package.json': {} }, { next: 'node_modules/next/dist/bin/next' });
    expect(ok(resolveLine('cd /srv/app && next start', bins)).notes.join('\n')).toContain(
      'next is not installed here',
    );
    for (const line of [
      'cd && node a.js',
      'cd ~/app && node a.js',
      'cd - && node a.js',
      'cd a b && node a.js',
    ])
      expect(resolveLine(line, project({}))).toMatchObject({
        ok: false,
        reason: expect.stringContaining('depends on the shell'),
      });
    for (const line of ['&& node a.js', 'node a.js &&', 'npm run build && && node a.js'])
      expect(resolveLine(line, project({}))).toMatchObject({
        ok: false,
        reason: expect.stringContaining('shell syntax error'),
      });
  });

  it('maps loaders to Node.js options: tsx, ts-node, npx tsx', () => {
    expect(ok(resolveLine('tsx src/index.ts', project({}))).command).toMatchObject({
      nodeArgs: ['--import', 'tsx'],
      script: 'src/index.ts',
    });
    expect(
      ok(resolveLine('npx --yes ts-node -r tsconfig-paths/register src/main.ts', project({}))).command,
    ).toMatchObject({
      nodeArgs: ['--require', 'ts-node/register', '-r', 'tsconfig-paths/register'],
      script: 'src/main.ts',
    });
    expect(resolveLine('tsx watch src/index.ts', project({}))).toMatchObject({ ok: false });
  });

  it('takes the file a watcher runs, and says clusterd start --watch does the watching', () => {
    const launch = ok(resolveLine('nodemon --watch src -e ts src/server.ts', project({})));
    expect(launch.command).toMatchObject({
      nodeArgs: ['--require', 'ts-node/register'],
      script: 'src/server.ts',
    });
    expect(launch.notes.join('')).toContain('clusterd start --watch');
  });

  it("runs a bin's JavaScript file when the bin serves from its own process (next start)", () => {
    const ctx = project({}, { 'react-router-serve': 'node_modules/@react-router/serve/bin.cjs' });
    expect(ok(resolveLine('react-router-serve ./build/server/index.js', ctx)).command).toEqual({
      env: {},
      nodeArgs: [],
      script: 'node_modules/@react-router/serve/bin.cjs',
      args: ['./build/server/index.js'],
    });
    // yarn <bin> runs a bin when package.json has no script of that name.
    const yarn = project({ 'package.json': { scripts: {} } }, { next: 'node_modules/next/dist/bin/next' });
    expect(ok(resolveWords(['yarn', 'next', 'start'], {}, yarn)).command).toMatchObject({
      script: 'node_modules/next/dist/bin/next',
      args: ['start'],
    });
    expect(resolveLine('next dev', yarn)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('development server'),
    });
  });

  it('maps nest start to the file it spawns, from nest-cli.json and tsconfig outDir', () => {
    const built = project({ 'dist/src/main.js': true });
    expect(ok(resolveLine('nest start', built)).command.script).toBe('dist/src/main.js');
    expect(ok(resolveLine('nest start', project({}))).command.script).toBe('dist/main.js');
    const custom = project({
      'nest-cli.json': { entryFile: 'app', sourceRoot: 'apps/api' },
      'tsconfig.build.json': { compilerOptions: { outDir: './build/' } },
    });
    expect(ok(resolveLine('nest start', custom)).command.script).toBe('build/app.js');
    expect(resolveLine('nest start --watch', built)).toMatchObject({ ok: false });
  });

  it('maps nuxt start (Nuxt 3) to the built .output/server/index.mjs, Nuxt 2 to its bin', () => {
    const three = project({ 'package.json': { dependencies: { nuxt: '^3.13.0' } } });
    expect(ok(resolveLine('nuxt start', three)).command.script).toBe('.output/server/index.mjs');
    const two = project(
      { 'package.json': { dependencies: { nuxt: '2.17.3' } } },
      { nuxt: 'node_modules/nuxt/bin/nuxt.js' },
    );
    expect(ok(resolveLine('nuxt start', two)).command).toMatchObject({
      script: 'node_modules/nuxt/bin/nuxt.js',
      args: ['start'],
    });
  });

  it('says which programs are not Node.js, and refuses PM2 itself', () => {
    expect(resolveLine('python3 -u serve.py', project({}))).toMatchObject({ ok: false, notNode: true });
    expect(resolveLine('pm2-runtime start ecosystem.config.js', project({}))).toMatchObject({
      ok: false,
      notNode: false,
    });
  });
});

describe('import pm2: JSON with comments', () => {
  it('reads tsconfig.json as tsc does: comments and trailing commas, with strings kept whole', () => {
    const text = `{
  /* Visit https://aka.ms/tsconfig */
  "compilerOptions": {
    "outDir": "./build", // where tsc writes
    "experimentalDecorators": true,
    "paths": { "a//b": ["x/*,]"], },
  },
}`;
    expect(parseJsonc(text)).toEqual({
      compilerOptions: { outDir: './build', experimentalDecorators: true, paths: { 'a//b': ['x/*,]'] } },
    });
    expect(() => parseJsonc('{ "a": ')).toThrow(SyntaxError);
  });

  it('finds `nest start`’s file from a tsconfig.json with comments', () => {
    const dir = writeFiles(tempDir(), {
      'tsconfig.json': '{\n  // tsc --init\n  "compilerOptions": { "outDir": "./build", },\n}\n',
    });
    expect(ok(resolveLine('nest start', projectContext(dir))).command.script).toBe('build/main.js');
  });
});
