// PM2 ecosystem files in the shapes PM2's docs and examples show, imported: the resulting config and
// the verdict of each option. Real files in a temp directory; the config goes through clusterd's own
// validation (checkImported) as the CLI's does.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { PM2_OPTIONS } from '../../src/import/pm2/catalogue.js';
import { checkImported } from '../../src/import/pm2/check.js';
import { convertEcosystem, SCHEMA_REF } from '../../src/import/pm2/convert.js';
import type { Verdict } from '../../src/import/pm2/mapping.js';
import { readEcosystem } from '../../src/import/pm2/read.js';
import { tempDir, writeFiles } from '../helpers/files.js';

async function importFile(files: Record<string, string>, file: string) {
  const dir = writeFiles(tempDir(), files);
  const conversion = convertEcosystem(await readEcosystem(join(dir, file)));
  const machine = checkImported(conversion.config, join(dir, 'cluster.config.json'), 'json');
  const verdict = (app: string | null, option: string): Omit<Verdict, 'app' | 'option'> => {
    const found = conversion.verdicts.find((v) => v.app === app && v.option === option);
    if (!found) throw new Error(`no verdict for ${app} ${option}`);
    const { app: _, option: __, ...rest } = found;
    return rest;
  };
  return { dir, ...conversion, apps: conversion.config.apps, machine, verdict };
}

// The settings every imported app gets from PM2's defaults.
const PM2_DEFAULTS = { restart: { policy: 'always' }, shutdown: { signal: 'SIGINT' } };

describe('clusterd import pm2: ecosystem files', () => {
  it('module.exports with env_production and cluster mode on every CPU (PM2 quick start)', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps : [{
    name   : "app1",
    script : "./app.js",
    instances : "max",
    exec_mode : "cluster",
    env_production: {
       NODE_ENV: "production"
    },
    env_development: {
       NODE_ENV: "development"
    }
  }]
}
`,
        'app.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.config.$schema).toBe(SCHEMA_REF);
    expect(r.apps).toEqual([
      {
        name: 'app1',
        script: './app.js',
        instances: 'max',
        environments: { production: { NODE_ENV: 'production' }, development: { NODE_ENV: 'development' } },
        ...PM2_DEFAULTS,
      },
    ]);
    expect(r.verdict('app1', 'name')).toEqual({ kind: 'mapped', target: 'name', note: '' });
    expect(r.verdict('app1', 'script')).toMatchObject({ kind: 'mapped', target: 'script' });
    expect(r.verdict('app1', 'instances')).toMatchObject({ kind: 'changed', target: 'instances' });
    expect(r.verdict('app1', 'instances').note).toMatch(/availableParallelism.*every CPU/);
    expect(r.verdict('app1', 'exec_mode')).toMatchObject({ kind: 'mapped', target: '' });
    expect(r.verdict('app1', 'env_production')).toMatchObject({
      kind: 'mapped',
      target: 'environments.production',
      note: expect.stringContaining('clusterd start --env production'),
    });
    expect(r.verdict('app1', 'env_development')).toMatchObject({ target: 'environments.development' });
    expect(r.verdict('app1', '(autorestart not set: true)')).toMatchObject({ target: 'restart.policy' });
    expect(r.verdict('app1', '(stop signal: SIGINT)')).toMatchObject({ target: 'shutdown.signal' });
    expect(r.verdicts.every((v) => v.kind !== 'unsupported')).toBe(true);
    expect(r.machine).toEqual([]);
  });

  it('export default in .mjs, with watch as a path and a directory as the script (pm2 init, ES)', async () => {
    const r = await importFile(
      {
        'ecosystem.config.mjs': `const config = {
  apps : [{
    script: 'index.js',
    watch: '.'
  }, {
    script: './service-worker/',
    watch: ['./service-worker']
  }],
  deploy : {
    production : { user : 'SSH_USERNAME', host : 'SSH_HOSTMACHINE', ref : 'origin/master' }
  }
};

export default config;
`,
        'index.js': '',
        'service-worker/index.js': '',
      },
      'ecosystem.config.mjs',
    );
    expect(r.apps).toEqual([
      {
        name: 'index',
        script: 'index.js',
        instances: 1,
        ...PM2_DEFAULTS,
        readiness: 'loaded',
        watch: { paths: ['.'] },
      },
      {
        name: 'service-worker',
        script: 'service-worker/index.js',
        instances: 1,
        ...PM2_DEFAULTS,
        readiness: 'loaded',
        watch: { paths: ['./service-worker'] },
      },
    ]);
    expect(r.verdict('index', '(name not set)')).toMatchObject({ kind: 'mapped', target: 'name' });
    expect(r.verdict('index', 'watch')).toMatchObject({ kind: 'changed', target: 'watch.paths' });
    expect(r.verdict('index', 'watch').note).toMatch(/reloads the app worker by worker \(PM2 restarts it\)/);
    expect(r.verdict('index', '(exec_mode not set: fork)')).toMatchObject({
      kind: 'changed',
      target: 'readiness',
    });
    expect(r.verdict('service-worker', 'script')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('a directory'),
    });
    // pm2 deploy changes nothing in how the apps run: nothing is lost.
    expect(r.verdict(null, 'deploy')).toMatchObject({
      kind: 'ignored',
      note: expect.stringContaining('no deploy'),
    });
  });

  it('export default in a .js file of a "type": "module" package', async () => {
    const r = await importFile(
      {
        'package.json': JSON.stringify({ type: 'module' }),
        'ecosystem.config.js': `export default {
  apps: [{ name: 'api', script: 'server.js', instances: 4, shutdown_with_message: true }],
};
`,
        'server.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps).toEqual([{ name: 'api', script: 'server.js', instances: 4, ...PM2_DEFAULTS }]);
    expect(r.verdict('api', 'shutdown_with_message')).toMatchObject({
      kind: 'unsupported',
      note: expect.stringContaining('onShutdown from clusterd/worker'),
    });
  });

  it('strict JSON with wait_ready, kill_timeout and listen_timeout (PM2 example wait-ready)', async () => {
    const r = await importFile(
      {
        'ecosystem.json': JSON.stringify({
          apps: [
            {
              name: 'app',
              script: 'app.js',
              instances: 2,
              exec_mode: 'cluster',
              wait_ready: true,
              kill_timeout: 2000,
              listen_timeout: 1000,
            },
          ],
        }),
        'app.js': '',
      },
      'ecosystem.json',
    );
    expect(r.apps[0]).toEqual({
      name: 'app',
      script: 'app.js',
      instances: 2,
      restart: { policy: 'always' },
      readiness: 'message',
      readyTimeout: 1000,
      shutdown: { signal: 'SIGINT', timeout: 2000 },
    });
    expect(r.verdict('app', 'instances')).toEqual({ kind: 'mapped', target: 'instances', note: '' });
    expect(r.verdict('app', 'wait_ready')).toMatchObject({ kind: 'mapped', target: 'readiness' });
    expect(r.verdict('app', 'kill_timeout')).toMatchObject({ kind: 'changed', target: 'shutdown.timeout' });
    expect(r.verdict('app', 'kill_timeout').note).toMatch(/drains/);
    expect(r.verdict('app', 'listen_timeout')).toMatchObject({ kind: 'changed', target: 'readyTimeout' });
    expect(r.verdict('app', 'listen_timeout').note).toMatch(/ready anyway.*failed start/);
  });

  it('a .json file in JavaScript syntax, evaluated as PM2 does, with a bash app as a program (PM2 example)', async () => {
    const r = await importFile(
      {
        'process.json': `{
  // PM2 evaluates .json files: comments, unquoted keys and single quotes work
  apps : [{
    name               : 'HTTP-API',
    script             : 'apps/http.js',
    exec_mode          : 'cluster',
    instances          : 'max',
    max_memory_restart : '260M',
    ignore_watch       : ['node_modules'],
    watch              : true,
    env : { NODE_ENV : 'normal' },
    env_production : { NODE_ENV : 'production' }
  }, {
    name               : 'Worker',
    script             : 'apps/worker.js'
  }, {
    name               : 'Checks',
    script             : 'apps/connection_check.sh'
  }]
}
`,
        'apps/http.js': '',
        'apps/worker.js': '',
        'apps/connection_check.sh': 'echo ok',
      },
      'process.json',
    );
    expect(r.apps.map((a) => a.name)).toEqual(['HTTP-API', 'Worker', 'Checks']);
    expect(r.apps[0]).toMatchObject({
      instances: 'max',
      env: { NODE_ENV: 'normal' },
      environments: { production: { NODE_ENV: 'production' } },
      watch: true,
      guards: { memory: { limit: '260MB' } },
    });
    expect(r.verdict('HTTP-API', 'ignore_watch')).toMatchObject({ kind: 'changed', target: '' });
    expect(r.verdict('HTTP-API', 'max_memory_restart')).toMatchObject({
      kind: 'changed',
      target: 'guards.memory.limit',
    });
    // PM2 runs a .sh file with bash: clusterd runs the same command, as a program (issue 29).
    expect(r.dropped).toEqual([]);
    expect(r.apps[2]).toEqual({
      name: 'Checks',
      command: ['bash', 'apps/connection_check.sh'],
      ...PM2_DEFAULTS,
    });
    expect(r.verdict('Checks', 'script')).toMatchObject({
      kind: 'mapped',
      target: 'command',
      note: expect.stringMatching(/^PM2 runs a \.sh file with bash: imported as a program/),
    });
  });

  it('YAML, with a merge key (PM2 example process.yml)', async () => {
    const r = await importFile(
      {
        'process.yml': `defaults: &defaults
  max_memory_restart: 200K
  env:
    NODE_ENV: development
apps:
  - <<: *defaults
    name : 'HTTP-API'
    script: 'apps/http.js'
    instances: 4
    env_production:
      NODE_ENV : 'production'
  - name : 'Worker'
    script: 'apps/worker.js'
    max_memory_restart: 1048576
`,
        'apps/http.js': '',
        'apps/worker.js': '',
      },
      'process.yml',
    );
    expect(r.apps[0]).toMatchObject({
      name: 'HTTP-API',
      instances: 4,
      env: { NODE_ENV: 'development' },
      environments: { production: { NODE_ENV: 'production' } },
      guards: { memory: { limit: '200KB' } },
    });
    expect(r.apps[1]).toMatchObject({ name: 'Worker', guards: { memory: { limit: 1048576 } } });
    expect(r.verdict('HTTP-API', '(exec_mode not set: cluster)')).toMatchObject({ kind: 'mapped' });
    expect(r.verdict(null, 'defaults')).toMatchObject({ kind: 'ignored' });
  });

  it('a bare array of apps in JSON, and in a CommonJS module', async () => {
    const json = await importFile(
      {
        'apps.json': JSON.stringify([
          { name: 'api', script: 'api.js', args: '--port 3000 --name "my api"' },
          { name: 'api', script: 'api.js', args: ['--port', 3001] },
        ]),
        'api.js': '',
      },
      'apps.json',
    );
    expect(json.apps.map((a) => [a.name, a.args])).toEqual([
      ['api', ['--port', '3000', '--name', 'my api']],
      ['api-2', ['--port', '3001']],
    ]);
    expect(json.verdict('api', 'args')).toMatchObject({
      kind: 'mapped',
      note: 'split into words as PM2 splits them',
    });
    expect(json.verdict('api-2', 'name')).toMatchObject({
      kind: 'changed',
      note: expect.stringMatching(/^renamed from "api"/),
    });
    const cjs = await importFile(
      {
        'ecosystem.config.cjs': `module.exports = [{ script: 'worker.js', node_args: '--max-old-space-size=512' }];`,
        'worker.js': '',
      },
      'ecosystem.config.cjs',
    );
    expect(cjs.apps).toEqual([
      {
        name: 'worker',
        script: 'worker.js',
        nodeArgs: ['--max-old-space-size=512'],
        instances: 1,
        ...PM2_DEFAULTS,
        readiness: 'loaded',
      },
    ]);
    expect(cjs.verdict('worker', 'node_args')).toMatchObject({ kind: 'mapped', target: 'nodeArgs' });
  });

  it('instances 0, -1 and -2, and fork mode with several instances', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: [
  { name: 'zero', script: 'app.js', instances: 0, exec_mode: 'cluster' },
  { name: 'minus-one', script: 'app.js', instances: -1 },
  { name: 'minus-two', script: 'app.js', instances: -2, exec_mode: 'cluster_mode' },
  { name: 'forked', script: 'app.js', instances: 3, exec_mode: 'fork' },
] };
`,
        'app.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps.map((a) => [a.name, a.instances, a.readiness])).toEqual([
      ['zero', 'max', undefined],
      ['minus-one', 'max', undefined],
      ['minus-two', 'max', undefined],
      ['forked', 3, 'loaded'],
    ]);
    expect(r.verdict('zero', 'instances').kind).toBe('changed');
    expect(r.verdict('minus-one', 'instances')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('"max" runs 1 more worker than PM2 would'),
    });
    // PM2 picks cluster mode for -1 but fork mode for -2 when exec_mode is not set.
    expect(r.verdict('minus-one', '(exec_mode not set: cluster)').kind).toBe('mapped');
    expect(r.verdict('minus-two', 'instances').note).toContain('runs 2 more workers');
    expect(r.verdict('forked', 'exec_mode')).toMatchObject({
      kind: 'changed',
      target: 'readiness',
      note: expect.stringContaining('share the ports'),
    });
  });

  it('watch with ignore_watch and watch_delay (PM2 watch docs)', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [{
    script: "app.js",
    watch: ["server", "client"],
    // Delay between restart
    watch_delay: 1000,
    ignore_watch : ["node_modules", "client/img", "[\\\\/\\\\\\\\]\\\\./"],
    watch_options: { followSymlinks: false, usePolling: true }
  }, {
    script: "api.js",
    ignore_watch: ["logs"]
  }]
}
`,
        'app.js': '',
        'api.js': '',
        'server/.keep': '',
        'client/.keep': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps[0]?.watch).toEqual({
      paths: ['server', 'client'],
      ignore: ['client/img'],
      debounce: 1000,
      usePolling: true,
    });
    expect(r.verdict('app', 'ignore_watch')).toMatchObject({
      kind: 'unsupported',
      note: expect.stringContaining('not a glob (a regular expression?)'),
    });
    expect(r.verdict('app', 'watch_delay')).toMatchObject({ kind: 'changed', target: 'watch.debounce' });
    // chokidar's tuning changes how changes are found, not which ones reload the app.
    expect(r.verdict('app', 'watch_options')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('followSymlinks: clusterd follows symbolic links'),
    });
    // An ignore list without watch waits for clusterd start --watch, as for pm2 start --watch.
    expect(r.apps[1]?.watch).toEqual({ ignore: ['logs'], enabled: false });
    expect(r.verdict('api', 'ignore_watch')).toMatchObject({ kind: 'changed', target: 'watch.ignore' });
  });

  it('npm start resolved through package.json, and an npm script that runs a package bin', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'web', script: 'npm', args: 'start', env: { PORT: 3000 } },
    { name: 'admin', script: 'npm', args: 'run admin -- --verbose', cwd: 'admin' },
    { name: 'next', script: 'npm', args: 'run next' },
  ]
}
`,
        'package.json': JSON.stringify({
          scripts: {
            prestart: 'npm run build',
            start: 'NODE_ENV=production node --enable-source-maps dist/server.js --port 3000',
            next: 'next start',
          },
        }),
        'dist/server.js': '',
        'admin/package.json': JSON.stringify({ scripts: { admin: 'node admin.js' } }),
        'admin/admin.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps[0]).toMatchObject({
      name: 'web',
      script: 'dist/server.js',
      args: ['--port', '3000'],
      nodeArgs: ['--enable-source-maps'],
      env: { PORT: 3000, NODE_ENV: 'production' },
    });
    expect(r.verdict('web', 'script')).toMatchObject({ kind: 'changed', target: 'script, args' });
    expect(r.verdict('web', 'script').note).toMatch(
      /npm runs package.json's "NODE_ENV=production node .*": clusterd runs dist\/server.js itself, without npm; its prestart script does not run/,
    );
    expect(r.verdict('web', 'args')).toMatchObject({ kind: 'changed', target: 'args' });
    expect(r.apps[1]).toMatchObject({ name: 'admin', cwd: 'admin', script: 'admin.js', args: ['--verbose'] });
    // `next start` serves from its own process: its bin's file is the app (where next installs it).
    expect(r.dropped).toEqual([]);
    expect(r.apps[2]).toMatchObject({
      name: 'next',
      script: 'node_modules/next/dist/bin/next',
      args: ['start'],
    });
    expect(r.verdict('next', 'script').note).toContain('next is not installed here');
  });

  it('a Python app and a python3 interpreter become programs; a node interpreter is kept', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps : [{
    name: 'API',
    script: 'echo.py',
  }, {
    name: 'PythonApp',
    script: 'echo.js',
    interpreter: '/usr/bin/python3',
    interpreter_args: '-u',
  }, {
    name: 'Node',
    script: 'echo.js',
    interpreter: '/home/me/.nvm/versions/node/v18.0.0/bin/node',
  }]
};
`,
        'echo.py': 'print(1)',
        'echo.js': '',
      },
      'ecosystem.config.js',
    );
    // Until issue 29 both were left out: clusterd ran Node.js apps only.
    expect(r.apps.map((a) => a.name)).toEqual(['API', 'PythonApp', 'Node']);
    expect(r.dropped).toEqual([]);
    // PM2 picks python for a .py file, or python3 where PATH has no python (this machine's PATH decides).
    expect(r.apps[0]?.command).toEqual([expect.stringMatching(/^python3?$/), 'echo.py']);
    expect(r.verdict('API', 'script').note).toMatch(/^PM2 runs a \.py file with python/);
    // An interpreter that is not Node.js runs whatever file it is given, .js included, as PM2 spawns it.
    expect(r.apps[1]).toMatchObject({ command: ['/usr/bin/python3', '-u', 'echo.js'] });
    expect(r.verdict('PythonApp', 'interpreter')).toMatchObject({ kind: 'mapped', target: 'command' });
    expect(r.apps[2]).toMatchObject({ script: 'echo.js' });
    expect(r.verdict('Node', 'interpreter')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('not on'),
    });
  });

  it('max_memory_restart and cron_restart become guards', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'api',
    script: 'server.js',
    max_memory_restart: '1G',
    cron_restart: '0 4 * * *',
  }, {
    name: 'off',
    script: 'server.js',
    cron_restart: 0,
    max_memory_restart: '1.5G',
  }]
};
`,
        'server.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps[0]?.guards).toEqual({ memory: { limit: '1GB' }, recycle: { cron: '0 4 * * *' } });
    expect(r.verdict('api', 'cron_restart')).toMatchObject({
      kind: 'changed',
      target: 'guards.recycle.cron',
      note: expect.stringContaining('one at a time'),
    });
    expect(r.verdict('api', 'max_memory_restart').note).toContain('PM2 checks every 30s');
    expect(r.apps[1]?.guards).toBeUndefined();
    expect(r.verdict('off', 'cron_restart')).toMatchObject({ kind: 'mapped', note: 'off' });
    expect(r.verdict('off', 'max_memory_restart').kind).toBe('unsupported');
  });

  it('restarts: min_uptime, max_restarts, delays, autorestart false, stop_exit_codes', async () => {
    const r = await importFile(
      {
        'ecosystem.json': JSON.stringify({
          apps: [
            {
              name: 'a',
              script: 'app.js',
              min_uptime: '30s',
              max_restarts: 30,
              restart_delay: 1000,
              stop_exit_codes: [0],
            },
            {
              name: 'b',
              script: 'app.js',
              max_restarts: 0,
              exp_backoff_restart_delay: 100,
              restart_delay: 500,
            },
            { name: 'c', script: 'app.js', autorestart: false, min_uptime: 5000 },
          ],
        }),
        'app.js': '',
      },
      'ecosystem.json',
    );
    expect(r.apps.map((a) => a.restart)).toEqual([
      {
        policy: 'always',
        noRestartExitCodes: [0],
        stableAfter: '30s',
        maxRestarts: 29,
        backoff: { initial: 1000, factor: 1, max: 1000 },
      },
      { policy: 'always', maxRestarts: 0, backoff: { initial: 100, factor: 1.5, max: 15000 } },
      { policy: 'never', stableAfter: 5000 },
    ]);
    expect(r.verdict('a', 'max_restarts')).toMatchObject({ kind: 'changed', target: 'restart.maxRestarts' });
    expect(r.verdict('a', 'max_restarts').note).toMatch(
      /^29: PM2 stops after 30 unstable exits; clusterd after maxRestarts \+ 1 = 30 failed starts/,
    );
    expect(r.verdict('a', 'min_uptime')).toMatchObject({ kind: 'changed', target: 'restart.stableAfter' });
    expect(r.verdict('a', 'restart_delay')).toMatchObject({ kind: 'mapped', target: 'restart.backoff' });
    expect(r.verdict('a', 'stop_exit_codes')).toMatchObject({
      kind: 'mapped',
      target: 'restart.noRestartExitCodes',
    });
    expect(r.verdict('b', 'max_restarts').note).toMatch(/^0: PM2 never restarts the app/);
    expect(r.verdict('b', 'restart_delay')).toMatchObject({
      kind: 'changed',
      target: '',
      note: expect.stringContaining('ignored'),
    });
    expect(r.verdict('b', 'exp_backoff_restart_delay')).toMatchObject({
      kind: 'changed',
      target: 'restart.backoff',
    });
    expect(r.verdict('c', 'autorestart')).toEqual({
      kind: 'mapped',
      target: 'restart.policy',
      note: '"never"',
    });
  });

  it('logs, users, PM2-only features, aliases and unknown keys', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: [{
  name: 'api',
  script: 'app.js',
  output: './logs/out.log',
  error: './logs/err.log',
  log_date_format: 'YYYY-MM-DD HH:mm Z',
  merge_logs: true,
  pid_file: './pids/api.pid',
  user: 'pm2-import-nobody',
  gid: 33,
  maxMemoryRestart: '300M',
  max_memory_restart: '500M',
  namespace: 'default',
  vizion: false,
  pmx: true,
  shutdown_with_message: true,
  port: 8080,
  instance_var: 'INSTANCE_ID',
  insances: 4,
  args: null,
}] };
`,
        'app.js': '',
        'logs/.keep': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps[0]).toMatchObject({
      logs: { file: './logs/out.log', errorFile: './logs/err.log', timestamp: 'YYYY-MM-DD HH:mm Z' },
      user: 'pm2-import-nobody',
      group: 33,
      env: { PORT: 8080 },
      guards: { memory: { limit: '500MB' } },
    });
    expect(r.verdict('api', 'output')).toMatchObject({ kind: 'mapped', target: 'logs.file', note: 'stdout' });
    expect(r.verdict('api', 'error')).toMatchObject({
      kind: 'mapped',
      target: 'logs.errorFile',
      note: 'stderr',
    });
    expect(r.verdict('api', 'log_date_format')).toMatchObject({
      kind: 'changed',
      target: 'logs.timestamp',
      note: expect.stringMatching(/^kept: clusterd reads day\.js tokens as PM2 does; .*"timestamp" field/),
    });
    expect(r.verdict('api', 'merge_logs').kind).toBe('mapped');
    expect(r.verdict('api', 'pid_file').kind).toBe('unsupported');
    expect(r.verdict('api', 'user')).toMatchObject({ kind: 'mapped', target: 'user' });
    expect(r.verdict('api', 'gid')).toMatchObject({ kind: 'mapped', target: 'group' });
    expect(r.verdict('api', 'maxMemoryRestart')).toMatchObject({
      kind: 'changed',
      note: 'ignored: max_memory_restart is set too and wins, as in PM2',
    });
    expect(r.verdict('api', 'namespace')).toMatchObject({ kind: 'mapped', note: 'off' });
    expect(r.verdict('api', 'vizion').kind).toBe('mapped');
    expect(r.verdict('api', 'pmx')).toMatchObject({
      kind: 'unsupported',
      note: expect.stringContaining('Prometheus'),
    });
    expect(r.verdict('api', 'shutdown_with_message').kind).toBe('unsupported');
    expect(r.verdict('api', 'port')).toMatchObject({ kind: 'mapped', target: 'env.PORT' });
    expect(r.verdict('api', 'instance_var')).toMatchObject({ kind: 'mapped', target: 'instanceVar' });
    expect(r.apps[0]).toMatchObject({ instanceVar: expect.any(String) });
    const own = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: [
  { name: 'a', script: 'app.js', instance_var: 'CLUSTERD_APP' },
  { name: 'b', script: 'app.js', instance_var: 'CLUSTERD_WORKER_ID' },
] };
`,
        'app.js': '',
      },
      'ecosystem.config.js',
    );
    expect(own.verdict('a', 'instance_var')).toMatchObject({
      kind: 'unsupported',
      note: expect.stringContaining('clusterd sets CLUSTERD_APP itself'),
    });
    expect(own.verdict('b', 'instance_var')).toMatchObject({ kind: 'mapped', target: '' });
    expect(own.apps.map((app) => app.instanceVar)).toEqual([undefined, undefined]);
    expect(r.verdict('api', 'insances')).toMatchObject({
      kind: 'ignored',
      note: 'not a PM2 option (PM2 drops it too); did you mean instances?',
    });
    expect(r.verdict('api', 'args')).toMatchObject({ kind: 'mapped', note: 'null: PM2 takes its default' });
    // The user does not exist here: the config is right, this machine cannot run it as is.
    expect(r.machine.map((i) => i.code)).toContain(ErrorCode.CONFIG_UNKNOWN_USER);
  });

  it('a namespace groups apps for pm2 commands only: changed, nothing lost', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: [{ name: 'api', script: 'a.js', namespace: 'backend' }] };\n`,
        'a.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.verdict('api', 'namespace')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('no namespaces'),
    });
    expect(r.verdicts.filter((v) => v.kind === 'unsupported')).toEqual([]);
  });

  it('log files and times: out_file, error_file, log_file, /dev/null, time and log_date_format', async () => {
    const apps = {
      same: { out_file: 'logs/app.log', error_file: 'logs/app.log' },
      combined: { log_file: 'logs/all.log', out_file: 'logs/out.log', error_file: '/dev/null' },
      outOnly: { out_file: 'logs/out.log' },
      errOnly: { error_file: 'logs/err.log' },
      quietErr: { out_file: 'logs/out.log', error_file: '/dev/null' },
      quiet: { out_file: '/dev/null', error_file: 'NULL' },
      timed: { out_file: 'logs/out.log', time: true, log_date_format: 'HH:mm' },
      formatted: { out_file: 'logs/out.log', time: false, log_date_format: 'YYYY-MM-DD HH:mm:ss Z' },
      badFormat: { out_file: 'logs/out.log', log_date_format: 'YYYY\nMM' },
      noFile: { time: true },
    };
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: ${JSON.stringify(
          Object.entries(apps).map(([name, options]) => ({ name, script: 'app.js', ...options })),
        )} };`,
        'app.js': '',
      },
      'ecosystem.config.js',
    );
    const logs = Object.fromEntries(r.apps.map((a) => [a.name, a.logs]));
    expect(logs).toEqual({
      same: { file: 'logs/app.log' },
      combined: { file: 'logs/all.log' },
      outOnly: { file: 'logs/out.log' },
      errOnly: { errorFile: 'logs/err.log' },
      quietErr: { file: 'logs/out.log', errorFile: '/dev/null' },
      quiet: undefined,
      timed: { file: 'logs/out.log', timestamp: 'YYYY-MM-DDTHH:mm:ss' },
      formatted: { file: 'logs/out.log', timestamp: 'YYYY-MM-DD HH:mm:ss Z' },
      badFormat: { file: 'logs/out.log' },
      noFile: { timestamp: 'YYYY-MM-DDTHH:mm:ss' },
    });
    const kinds = r.verdicts
      .filter((v) => v.app && v.option in { ...apps.combined, ...apps.timed })
      .map((v) => `${v.app} ${v.option} ${v.kind} ${v.target}`);
    expect(kinds).toEqual([
      'same out_file mapped logs.file',
      'same error_file mapped logs.file',
      'combined log_file mapped logs.file',
      'combined out_file unsupported ',
      'combined error_file mapped ',
      'outOnly out_file changed logs.file',
      'errOnly error_file changed logs.errorFile',
      'quietErr out_file mapped logs.file',
      'quietErr error_file mapped logs.errorFile',
      'quiet out_file mapped ',
      'quiet error_file mapped ',
      'timed out_file changed logs.file',
      'timed time changed logs.timestamp',
      'timed log_date_format mapped ',
      'formatted out_file changed logs.file',
      'formatted time mapped ',
      'formatted log_date_format changed logs.timestamp',
      'badFormat out_file changed logs.file',
      'badFormat log_date_format unsupported ',
      'noFile time changed logs.timestamp',
    ]);
    expect(r.verdict('outOnly', 'out_file').note).toContain(
      'PM2 writes stderr to ~/.pm2/logs/outOnly-error.log',
    );
    expect(r.verdict('errOnly', 'error_file').note).toContain('stdout goes to no file');
    expect(r.verdict('timed', 'time').note).toMatch(
      /^"YYYY-MM-DDTHH:mm:ss" \(local time\), PM2's format for time/,
    );
    expect(r.verdict('timed', 'log_date_format').note).toContain('as PM2 ignores it when time is set');
    expect(r.verdict('noFile', 'time').note).toContain('it applies once logs.file or logs.errorFile is set');
    expect(r.verdict('badFormat', 'log_date_format').note).toContain('one line');
    // clusterd's own validation takes every one of them, /dev/null as errorFile included.
    expect(r.machine).toEqual([]);
  });

  it('instance_var naming PATH or NODE_OPTIONS is lost, not written into a config clusterd refuses', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = { apps: [{ name: 'api', script: 'a.js', instance_var: 'NODE_OPTIONS' }] };\n`,
        'a.js': '',
      },
      'ecosystem.config.js',
    );
    expect(r.verdict('api', 'instance_var')).toMatchObject({ kind: 'unsupported' });
    expect(r.apps[0]).not.toHaveProperty('instanceVar');
  });

  it('gives every PM2 option a verdict', async () => {
    const values: Record<string, unknown> = { script: 'app.js', name: 'all', exec_interpreter: 'node' };
    const app = Object.fromEntries(PM2_OPTIONS.map((o) => [o, values[o] ?? 1]));
    const r = await importFile({ 'all.json': JSON.stringify({ apps: [app] }), 'app.js': '' }, 'all.json');
    const options = new Set(r.verdicts.map((v) => v.option));
    for (const option of PM2_OPTIONS) expect(options, option).toContain(option);
    expect(r.verdicts.filter((v) => v.note === 'not imported')).toEqual([]);
  });

  it('refuses files PM2 could not read either', async () => {
    const dir = writeFiles(tempDir(), {
      'empty.json': '{ "apps": [] }',
      'ecosystem.config.js': 'const apps = [];\n',
      'nothing.mjs': 'export const apps = [];\n',
      'only-outside.yml': 'apps:\n  - script: run.py\n    interpreter: ../venv/bin/python\n',
      'run.py': '',
      'app.toml': '',
    });
    await expect(readEcosystem(join(dir, 'empty.json'))).rejects.toMatchObject({ code: ErrorCode.IMPORT });
    // A CommonJS module that sets no module.exports exports {}.
    await expect(readEcosystem(join(dir, 'ecosystem.config.js'))).rejects.toMatchObject({
      issues: [{ code: ErrorCode.IMPORT, message: expect.stringMatching(/^no apps/) }],
    });
    await expect(readEcosystem(join(dir, 'nothing.mjs'))).rejects.toMatchObject({
      issues: [{ code: ErrorCode.CONFIG_LOAD, message: 'the ecosystem file exports nothing' }],
    });
    await expect(readEcosystem(join(dir, 'app.toml'))).rejects.toMatchObject({ code: ErrorCode.CONFIG_LOAD });
    // No app left to import (a Python app is one since issue 29; an interpreter out of the project is not).
    const outside = await readEcosystem(join(dir, 'only-outside.yml'));
    expect(() => convertEcosystem(outside)).toThrow(
      /no app of .* can run under clusterd:\n {2}run: its interpreter "\.\.\/venv\/bin\/python" is a relative path/,
    );
  });
});
