// What clusterd init reads from a project's package.json: the app's name and the file it runs.
import { describe, expect, it } from 'vitest';
import type { PackageJson } from '../../src/import/pm2/project.js';
import { appName, type Detection, detectApp, isAppName } from '../../src/init/detect.js';

function detect(pkg: PackageJson | null, files: string[] = [], wanted = {}): Detection {
  return detectApp({ pkg, dirName: 'my-project', isFile: (file) => files.includes(file) }, wanted);
}

describe('clusterd init: the app of a package.json', () => {
  it('runs main when there is no start script', () => {
    expect(detect({ name: 'api', main: 'app.js' }, ['app.js'])).toEqual({
      ok: true,
      app: { name: 'api', script: 'app.js' },
      source: `package.json's "main"`,
      notes: [],
    });
    // As Node.js resolves it: lib is lib/index.js.
    expect(detect({ name: 'api', main: 'lib' }, ['lib/index.js'])).toMatchObject({
      app: { script: 'lib/index.js' },
    });
    // Not built yet: taken as written (validate will say it is missing until the build has run).
    expect(detect({ name: 'api', main: 'dist/index.js' })).toMatchObject({
      ok: true,
      app: { script: 'dist/index.js' },
    });
  });

  it('runs the file a `node server.js` start script runs, before main', () => {
    const found = detect({ name: 'api', main: 'index.js', scripts: { start: 'node server.js' } }, [
      'index.js',
      'server.js',
    ]);
    expect(found).toEqual({
      ok: true,
      app: { name: 'api', script: 'server.js' },
      source: `package.json's "start" script`,
      command: 'node server.js',
      notes: [],
    });
  });

  it("keeps a start script's node options, arguments and variables", () => {
    const found = detect({
      name: 'api',
      scripts: {
        start: 'NODE_ENV=production node --enable-source-maps dist/index.js --port 3000',
        prestart: 'npm run build',
      },
    });
    expect(found).toMatchObject({
      ok: true,
      app: {
        name: 'api',
        script: 'dist/index.js',
        nodeArgs: ['--enable-source-maps'],
        args: ['--port', '3000'],
        env: { NODE_ENV: 'production' },
      },
    });
    expect(found.ok && found.notes).toEqual([
      `package.json's "start" script: its prestart script does not run under clusterd; run it yourself before clusterd start`,
    ]);
  });

  it("runs server.js with no start script, as npm start does, and node .'s main", () => {
    expect(detect({ name: 'api' }, ['server.js'])).toMatchObject({
      app: { script: 'server.js' },
      command: 'node server.js',
    });
    expect(detect({ name: 'api', main: 'app.js', scripts: { start: 'node .' } }, ['app.js'])).toMatchObject({
      app: { script: 'app.js' },
    });
    expect(detect({ name: 'api' }, ['index.js'])).toMatchObject({ app: { script: 'index.js' } });
  });

  it('runs `tsx src/index.ts` as node --import tsx, and says what that needs', () => {
    const found = detect({ name: 'api', scripts: { start: 'tsx src/index.ts' } });
    expect(found).toMatchObject({
      ok: true,
      app: { script: 'src/index.ts', nodeArgs: ['--import', 'tsx'] },
    });
    expect(found.ok && found.notes.join()).toContain('tsx must stay installed');
    // tsx watch is a development watcher: no file to take from it.
    expect(detect({ name: 'api', scripts: { start: 'tsx watch src/index.ts' } })).toMatchObject({
      ok: false,
    });
  });

  it('refuses a start script that runs no Node.js (python) unless main exists', () => {
    const reason = `package.json's "start" script "python3 app.py": it runs "python3", which is no Node.js file nor a bin of this project's node_modules`;
    expect(detect({ name: 'web', scripts: { start: 'python3 app.py' } })).toEqual({
      ok: false,
      reasons: [reason, 'package.json has no "main", and there is no index.js'],
    });
    // npm init writes "main": "index.js" into every package: a missing one beside such a script is no answer.
    expect(detect({ name: 'web', main: 'index.js', scripts: { start: 'python3 app.py' } })).toMatchObject({
      ok: false,
      reasons: [expect.any(String), `package.json's "main" is "index.js", which does not exist`],
    });
    const found = detect({ name: 'web', main: 'server.js', scripts: { start: 'python3 app.py' } }, [
      'server.js',
    ]);
    expect(found).toMatchObject({ ok: true, app: { script: 'server.js' } });
    expect(found.ok && found.notes).toEqual([`${reason}; used server.js instead`]);
  });

  it('follows a bin to its JavaScript file (next start), or to the file a CLI spawns (nest, nuxt)', () => {
    const next = detectApp({
      pkg: { name: 'web', scripts: { start: 'next start -p 3000' } },
      dirName: 'web',
      isFile: () => false,
      binTarget: (bin) => (bin === 'next' ? 'node_modules/next/dist/bin/next' : null),
    });
    expect(next).toMatchObject({
      ok: true,
      app: { script: 'node_modules/next/dist/bin/next', args: ['start', '-p', '3000'] },
    });
    // Not installed yet: where next puts its bin.
    expect(detect({ name: 'web', scripts: { start: 'next start' } })).toMatchObject({
      ok: true,
      app: { script: 'node_modules/next/dist/bin/next', args: ['start'] },
    });
    // nest start compiles, then spawns node dist/main: that file is the app (nest-cli.json's entryFile).
    const nest = detectApp({
      pkg: { name: 'api', scripts: { 'start:prod': 'node dist/main', start: 'nest start' } },
      dirName: 'api',
      isFile: (f) => f === 'dist/src/server.js',
      readJson: (f) => (f === 'nest-cli.json' ? { sourceRoot: 'src', entryFile: 'server' } : null),
    });
    expect(nest).toMatchObject({ ok: true, app: { script: 'dist/src/server.js' } });
    expect(nest.ok && nest.notes.join('\n')).toContain(
      '"nest start" compiles, then runs node dist/src/server.js',
    );
    const nuxt = detect({
      name: 'site',
      scripts: { start: 'nuxt start' },
      dependencies: { nuxt: '^3.12.0' },
    } as never);
    expect(nuxt).toMatchObject({ ok: true, app: { script: '.output/server/index.mjs' } });
    // cross-env and a cd before it.
    expect(
      detect({ name: 'w', scripts: { start: 'cd server && cross-env NODE_ENV=production node index.js' } }),
    ).toMatchObject({
      ok: true,
      app: { script: 'index.js', cwd: 'server', env: { NODE_ENV: 'production' } },
    });
    expect(detect({ name: 'w', scripts: { start: 'next dev' } })).toMatchObject({ ok: false });
  });

  it('sets readiness "loaded" for a project that looks like a worker without a server', () => {
    const worker = detect({ name: 'jobs', main: 'worker.js', dependencies: { bullmq: '^5.0.0' } } as never, [
      'worker.js',
    ]);
    expect(worker).toMatchObject({ ok: true, app: { script: 'worker.js', readiness: 'loaded' } });
    expect(worker.ok && worker.notes.join('\n')).toContain('package.json has bullmq and no HTTP server');
    const api = detect({ name: 'api', main: 'a.js', dependencies: { bullmq: '1', express: '5' } } as never, [
      'a.js',
    ]);
    expect(api).toMatchObject({ ok: true, app: { script: 'a.js' } });
    expect(api.ok && api.app.readiness).toBeUndefined();
  });

  it('needs a package.json, or --script', () => {
    expect(detect(null, ['server.js'])).toEqual({ ok: false, reasons: ['there is no package.json'] });
    expect(detect(null, [], { script: 'app.js' })).toEqual({
      ok: true,
      app: { name: 'my-project', script: 'app.js' },
      source: '--script',
      notes: [],
    });
  });

  it('--script and --name win over package.json', () => {
    const found = detect({ name: 'api', scripts: { start: 'node server.js' } }, ['server.js'], {
      name: 'web',
      script: 'dist/web.js',
    });
    expect(found).toMatchObject({ ok: true, app: { name: 'web', script: 'dist/web.js' } });
  });

  it('names the app from package.json without its scope, else from the directory', () => {
    expect(appName({ name: '@acme/api' }, 'x')).toBe('api');
    expect(appName({ name: 'my.service_2' }, 'x')).toBe('my.service_2');
    expect(appName({ name: 'Weird Name!' }, 'x')).toBe('Weird-Name');
    expect(appName({}, 'my-project')).toBe('my-project');
    expect(appName(null, ' ~/ ')).toBe('app');
    expect(appName({ name: 'a'.repeat(200) }, 'x').length).toBeLessThanOrEqual(64);
    for (const name of ['api', 'Weird-Name', 'app', 'a'.repeat(64)]) expect(isAppName(name)).toBe(true);
    for (const name of ['@acme/api', '-api', '', 'a'.repeat(65)]) expect(isAppName(name)).toBe(false);
  });
});
