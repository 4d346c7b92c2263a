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

  it('refuses a start script that is not node (next start) unless main exists', () => {
    expect(detect({ name: 'web', scripts: { start: 'next start' } })).toEqual({
      ok: false,
      reasons: [
        `package.json's "start" script "next start": it runs "next", not node`,
        'package.json has no "main", and there is no index.js',
      ],
    });
    // npm init writes "main": "index.js" into every package: a missing one beside `next start` is no answer.
    expect(detect({ name: 'web', main: 'index.js', scripts: { start: 'next start' } })).toMatchObject({
      ok: false,
      reasons: [expect.any(String), `package.json's "main" is "index.js", which does not exist`],
    });
    const found = detect({ name: 'web', main: 'server.js', scripts: { start: 'next start' } }, ['server.js']);
    expect(found).toMatchObject({ ok: true, app: { script: 'server.js' } });
    expect(found.ok && found.notes).toEqual([
      `package.json's "start" script "next start": it runs "next", not node; used server.js instead`,
    ]);
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
