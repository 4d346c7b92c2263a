// PM2's value formats and command lines, read as PM2 (and npm's shell) read them.
import { describe, expect, it } from 'vitest';
import { parseNodeCommand, shellWords } from '../../src/import/pm2/command.js';
import { clusterdName } from '../../src/import/pm2/map-name.js';
import { pm2Instances } from '../../src/import/pm2/map-pool.js';
import { packageRunner, scriptTarget } from '../../src/import/pm2/npm.js';
import { mergeKeys } from '../../src/import/pm2/read.js';
import { argList, pm2Size, pm2Time, splitArgs } from '../../src/import/pm2/values.js';

describe('PM2 values', () => {
  it('splits an argument string as PM2 does', () => {
    expect(splitArgs('-r tsconfig-paths/register --transpile-only src/server.ts')).toEqual([
      '-r',
      'tsconfig-paths/register',
      '--transpile-only',
      'src/server.ts',
    ]);
    expect(splitArgs(`  "a b"  'c d' e  `)).toEqual(['a b', 'c d', 'e']);
    // PM2 keeps the quotes of key="value" words.
    expect(splitArgs('--name="my app" --x=1')).toEqual(['--name="my app"', '--x=1']);
    expect(splitArgs('"open')).toEqual(['"open']);
    expect(argList(['--port', 3000, true])).toEqual(['--port', '3000', 'true']);
    expect(argList({ a: 1 })).toBeNull();
  });

  it('reads max_memory_restart sizes and min_uptime times', () => {
    expect(pm2Size('300M')).toBe('300MB');
    expect(pm2Size('1G')).toBe('1GB');
    expect(pm2Size('200K')).toBe('200KB');
    expect(pm2Size('1048576')).toBe(1048576);
    expect(pm2Size(524288000)).toBe(524288000);
    for (const refused of ['1.5G', '300MB', '300m', 0, -1, 'max']) expect(pm2Size(refused)).toBeNull();
    expect(pm2Time(1000)).toBe(1000);
    expect(pm2Time('5000')).toBe(5000);
    expect(pm2Time('30s')).toBe('30s');
    expect(pm2Time('1h')).toBe('1h');
    expect(pm2Time('1d')).toBeNull();
  });

  it('reads instances as PM2 does: "max" is 0, other strings parseInt or 0', () => {
    expect(pm2Instances('max')).toBe(0);
    expect(pm2Instances('4')).toBe(4);
    expect(pm2Instances('-1')).toBe(-1);
    expect(pm2Instances('lots')).toBe(0);
    expect(pm2Instances(2.7)).toBe(2);
    expect(pm2Instances(true)).toBeNull();
  });

  it('makes names clusterd accepts, unique ignoring case', () => {
    expect(clusterdName('api', new Set())).toBe('api');
    expect(clusterdName('Test es6 modules', new Set())).toBe('Test-es6-modules');
    expect(clusterdName('server:production', new Set())).toBe('server-production');
    expect(clusterdName('@scope/app', new Set())).toBe('scope-app');
    expect(clusterdName('API', new Set(['api']))).toBe('API-2');
    expect(clusterdName('***', new Set())).toBe('app');
  });

  it('applies YAML merge keys as js-yaml does', () => {
    const base = { instances: 2, env: { A: '1' } };
    expect(mergeKeys({ apps: [{ '<<': base, name: 'web', instances: 4 }] })).toEqual({
      apps: [{ name: 'web', instances: 4, env: { A: '1' } }],
    });
    expect(mergeKeys({ '<<': [{ a: 1 }, { a: 2, b: 2 }] })).toEqual({ a: 1, b: 2 });
  });
});

describe('command lines', () => {
  it('splits words as sh does', () => {
    expect(shellWords(`node "my server.js" --x='a b' c\\ d`)).toEqual([
      'node',
      'my server.js',
      '--x=a b',
      'c d',
    ]);
    expect(shellWords('node "open')).toBeNull();
  });

  it('reads a command that runs a Node.js file', () => {
    expect(
      parseNodeCommand(
        'NODE_ENV=production node --enable-source-maps -r dotenv/config server.js --port 3000',
      ),
    ).toEqual({
      ok: true,
      command: {
        env: { NODE_ENV: 'production' },
        nodeArgs: ['--enable-source-maps', '-r', 'dotenv/config'],
        script: 'server.js',
        args: ['--port', '3000'],
      },
    });
    expect(parseNodeCommand('cross-env PORT=80 node dist/main.js')).toMatchObject({
      ok: true,
      command: { env: { PORT: '80' }, script: 'dist/main.js', args: [] },
    });
  });

  it('gives up on what is not one', () => {
    expect(parseNodeCommand('next start')).toEqual({ ok: false, reason: 'it runs "next", not node' });
    expect(parseNodeCommand('tsc && node dist/server.js')).toMatchObject({ ok: false });
    expect(parseNodeCommand('node server.js > out.log')).toMatchObject({ ok: false });
    expect(parseNodeCommand('node -e "require(1)"')).toMatchObject({ ok: false });
    expect(parseNodeCommand('node --inspect')).toMatchObject({ ok: false });
  });

  it('finds the package.json script a package manager runs', () => {
    expect(packageRunner('npm')).toBe('npm');
    expect(packageRunner('/usr/local/bin/yarn')).toBe('yarn');
    expect(packageRunner('node')).toBeNull();
    expect(scriptTarget('npm', ['start'])).toEqual({ name: 'start', extra: [] });
    expect(scriptTarget('npm', ['run', 'serve', '--', '--port', '80'])).toEqual({
      name: 'serve',
      extra: ['--port', '80'],
    });
    expect(scriptTarget('npm', ['install'])).toBeNull();
    expect(scriptTarget('yarn', ['serve'])).toEqual({ name: 'serve', extra: [] });
    expect(scriptTarget('pnpm', ['run', 'start:prod'])).toEqual({ name: 'start:prod', extra: [] });
    expect(scriptTarget('npm', [])).toBeNull();
  });
});
