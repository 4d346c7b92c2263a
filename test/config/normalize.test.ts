// Inheritance, units, paths and env resolution of valid configs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { normalizeConfig } from '../../src/config/normalize.js';
import type { ClusterdConfig } from '../../src/config/types.generated.js';
import { ErrorCode } from '../../src/errors.js';
import { reloadSettings } from '../helpers/fake-pool.js';
import { tempDir, writeFiles } from '../helpers/files.js';

async function resolveConfig(
  config: object,
  options: { environment?: string; files?: Record<string, string> } = {},
) {
  const dir = writeFiles(tempDir(), {
    'cluster.config.json': JSON.stringify(config),
    'server.js': '',
    ...options.files,
  });
  const resolved = await loadConfig({ cwd: dir, environment: options.environment ?? null, cpus: () => 3 });
  return { dir, config: resolved };
}

describe('normalization', () => {
  it('fills every built-in default', async () => {
    const { config, dir } = await resolveConfig({ apps: [{ name: 'web', script: 'server.js' }] });
    expect(config.apps[0]).toEqual({
      name: 'web',
      program: null,
      script: join(dir, 'server.js'),
      args: [],
      nodeArgs: [],
      cwd: dir,
      instances: 3,
      env: {},
      envFiles: [],
      restart: {
        policy: 'on-failure',
        backoff: { initial: 100, factor: 2, max: 15_000 },
        maxRestarts: 10,
        stableAfter: 10_000,
        noRestartExitCodes: [],
      },
      readiness: 'listening',
      probe: null,
      readyTimeout: 30_000,
      readySettle: 1_000,
      shutdown: { signal: 'SIGTERM', timeout: 5_000, delay: 0, spread: 0 },
      watch: {
        enabled: false,
        paths: [dir],
        ignore: ['**/node_modules/**', '**/.git/**', '**/.*', '**/*.log'],
        debounce: 150,
        usePolling: false,
      },
      reload: reloadSettings(),
      balancing: 'round-robin',
      stickyHeader: null,
      instanceVar: null,
      incrementVar: null,
      serialization: 'json',
      requestMetrics: true,
      compileCache: false,
      logs: { file: null, errorFile: null, timestamp: false, maxSize: 10 * 1024 * 1024, maxFiles: 5 },
      guards: {
        memory: { limit: null, hardLimit: null, interval: 1_000 },
        heartbeat: { timeout: null, interval: 1_000 },
        recycle: { maxAge: null, cron: null, timezone: null, jitter: 0 },
      },
      primary: { hangTimeout: 10_000 },
      primaryGroup: null,
      runAs: null,
    });
  });

  it('inherits defaults key by key; the app wins; arrays replace', async () => {
    const { config } = await resolveConfig({
      defaults: {
        nodeArgs: ['--enable-source-maps'],
        instances: 2,
        restart: { maxRestarts: 3, backoff: { max: '2s' } },
        shutdown: { timeout: '20s' },
      },
      apps: [
        { name: 'a', script: 'server.js', restart: { policy: 'always', backoff: { initial: '50ms' } } },
        { name: 'b', script: 'server.js', instances: 'max', nodeArgs: ['--max-old-space-size=256'] },
      ],
    });
    const [a, b] = config.apps;
    expect(a?.restart).toMatchObject({
      policy: 'always',
      maxRestarts: 3,
      backoff: { initial: 50, factor: 2, max: 2_000 },
    });
    expect(a?.instances).toBe(2);
    expect(a?.nodeArgs).toEqual(['--enable-source-maps']);
    expect(a?.shutdown).toEqual({ signal: 'SIGTERM', timeout: 20_000, delay: 0, spread: 0 });
    expect(b?.instances).toBe(3);
    expect(b?.nodeArgs).toEqual(['--max-old-space-size=256']);
  });

  it('resolves health: off unless set, host and readyShare defaulted; shutdown.delay in ms', async () => {
    const off = await resolveConfig({ apps: [{ name: 'web', script: 'server.js' }] });
    expect(off.config.health).toBeNull();
    const on = await resolveConfig({
      health: { port: 9100 },
      defaults: { shutdown: { delay: '5s' } },
      apps: [{ name: 'web', script: 'server.js' }],
    });
    expect(on.config.health).toEqual({ host: '127.0.0.1', port: 9100, readyShare: 0.5, dashboard: null });
    expect(on.config.apps[0]?.shutdown.delay).toBe(5_000);
    const set = await resolveConfig({
      health: { port: 0, host: '::', readyShare: 1 },
      apps: [{ name: 'web', script: 'server.js' }],
    });
    expect(set.config.health).toEqual({ host: '::', port: 0, readyShare: 1, dashboard: null });
  });

  it('merges env for the selected environment, overlays last, null unsets', async () => {
    const raw = {
      defaults: { env: { A: 'base', B: 'base' }, environments: { production: { A: 'prod' } } },
      apps: [
        {
          name: 'web',
          script: 'server.js',
          env: { B: 'app', PORT: 3000, DEBUG: true },
          environments: { production: { C: 'c', DEBUG: null }, staging: { C: 'stage' } },
        },
      ],
    };
    const plain = await resolveConfig(raw);
    expect(plain.config.apps[0]?.env).toEqual({ A: 'base', B: 'app', PORT: '3000', DEBUG: 'true' });
    const production = await resolveConfig(raw, { environment: 'production' });
    expect(production.config.environment).toBe('production');
    expect(production.config.apps[0]?.env).toEqual({
      A: 'prod',
      B: 'app',
      PORT: '3000',
      DEBUG: null,
      C: 'c',
    });
  });

  it('resolves cwd against the config directory and the other paths against cwd', async () => {
    const { config, dir } = await resolveConfig(
      {
        apps: [
          {
            name: 'api',
            cwd: 'services/api',
            script: 'main.js',
            watch: { paths: ['src', '../shared'] },
            logs: { file: 'logs/api.log', errorFile: '../err/api.err', timestamp: 'HH:mm', maxSize: '1.5MB' },
          },
        ],
      },
      { files: { 'services/api/main.js': '' } },
    );
    const api = config.apps[0];
    expect(api?.cwd).toBe(join(dir, 'services/api'));
    expect(api?.script).toBe(join(dir, 'services/api/main.js'));
    expect(api?.watch.paths).toEqual([join(dir, 'services/api/src'), join(dir, 'services/shared')]);
    expect(api?.logs).toEqual({
      file: join(dir, 'services/api/logs/api.log'),
      errorFile: join(dir, 'services/err/api.err'),
      timestamp: 'HH:mm',
      maxSize: 1_572_864,
      maxFiles: 5,
    });
  });

  it('turns watch on with true or an object, and off with enabled: false', async () => {
    const { config } = await resolveConfig({
      defaults: { watch: { enabled: false, debounce: '300ms', ignore: ['uploads/**'] } },
      apps: [
        { name: 'a', script: 'server.js', watch: true },
        { name: 'b', script: 'server.js', watch: { usePolling: true } },
        { name: 'c', script: 'server.js' },
        { name: 'd', script: 'server.js', watch: { enabled: false, paths: ['x'] } },
      ],
    });
    expect(config.apps.map((a) => a.watch.enabled)).toEqual([true, true, false, false]);
    expect(config.apps[0]?.watch).toMatchObject({
      debounce: 300,
      ignore: expect.arrayContaining(['uploads/**', '**/node_modules/**']),
    });
    expect(config.apps[1]?.watch.usePolling).toBe(true);
  });

  it('freezes the resolved config all the way down', async () => {
    const { config } = await resolveConfig({ apps: [{ name: 'web', script: 'server.js', env: { A: '1' } }] });
    const app = config.apps[0];
    expect(Object.isFrozen(config) && Object.isFrozen(config.apps) && Object.isFrozen(app?.env)).toBe(true);
    expect(Object.isFrozen(app?.restart.backoff)).toBe(true);
    expect(() => {
      (app?.env as Record<string, string>).A = '2';
    }).toThrow(TypeError);
  });

  it('rejects kernel balancing where SO_REUSEPORT is missing, accepts it on Linux', () => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = { apps: [{ name: 'web', script: 'server.js', balancing: 'kernel' }] };
    const file = join(dir, 'cluster.config.json');
    const darwin = normalizeConfig(raw, { file, platform: 'darwin', cpus: () => 1 });
    expect(darwin.issues).toEqual([
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/0/balancing',
        hint: 'use "round-robin"',
      }),
    ]);
    const linux = normalizeConfig(raw, { file, platform: 'linux', cpus: () => 1 });
    expect(linux.issues).toEqual([]);
    expect(linux.config?.apps[0]?.balancing).toBe('kernel');
  });

  it('resolves reload.canary: true with the defaults, an object key by key over defaults, false off', () => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = {
      defaults: {
        reload: { canary: { observe: '1m', latencySlack: '2ms' } },
        balancing: 'least-connections',
      },
      apps: [
        { name: 'a', script: 'server.js', reload: { canary: true } },
        {
          name: 'b',
          script: 'server.js',
          reload: { canary: { workers: 2, weight: 0.25, maxRssRatio: null } },
        },
        { name: 'c', script: 'server.js', reload: { canary: false } },
        { name: 'd', script: 'server.js' },
      ],
    };
    const { config, issues } = normalizeConfig(raw, { file: join(dir, 'c.json'), cpus: () => 4 });
    expect(issues).toEqual([]);
    const canary = (name: string) => config?.apps.find((a) => a.name === name)?.reload.canary;
    expect(canary('a')).toEqual({
      ...reloadSettings().canary,
      enabled: true,
      observe: 60_000,
      latencySlack: 2,
    });
    expect(canary('b')).toMatchObject({
      enabled: true,
      workers: 2,
      weight: 0.25,
      maxRssRatio: null,
      observe: 60_000,
    });
    expect(canary('c')).toMatchObject({ enabled: false });
    // An object in defaults turns it on for every app that does not say otherwise, as `watch` does.
    expect(canary('d')?.enabled).toBe(true);
  });

  it('refuses reload.canary where clusterd cannot judge one: a program, stop-first, a weight it cannot apply', () => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = {
      apps: [
        { name: 'p', command: ['/bin/sh', '-c', 'sleep 1'], reload: { canary: true } },
        { name: 's', script: 'server.js', reload: { order: 'stop-first', canary: true } },
        { name: 'w', script: 'server.js', reload: { canary: { weight: 0.5 } } },
      ],
    };
    const { issues } = normalizeConfig(raw, { file: join(dir, 'c.json'), cpus: () => 1 });
    expect(issues).toEqual([
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/0/reload/canary',
        message: expect.stringMatching(/clusterd sees none of a program's/),
      }),
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/1/reload/canary',
        message: expect.stringMatching(/stop-first/),
      }),
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/2/reload/canary/weight',
        message: expect.stringMatching(/least-connections/),
      }),
    ]);
  });

  it('turns reload.canary from defaults off for an app that cannot have one, instead of refusing the config', () => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = {
      defaults: { reload: { canary: { weight: 0.2 } }, balancing: 'least-connections' },
      apps: [
        { name: 'web', script: 'server.js' },
        { name: 'p', command: ['/bin/sh', '-c', 'sleep 1'] },
        { name: 'rr', script: 'server.js', balancing: 'round-robin' },
        { name: 'off', script: 'server.js', requestMetrics: false },
      ],
    };
    const { issues } = normalizeConfig(raw, { file: join(dir, 'c.json'), cpus: () => 1 });
    // The app's own balancing cannot weigh what defaults asked: refused, as its own choice.
    expect(issues).toEqual([
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/defaults/reload/canary/weight',
      }),
    ]);
    const quiet = normalizeConfig(
      { ...raw, apps: raw.apps.filter((a) => a.name !== 'rr') as ClusterdConfig['apps'] },
      { file: join(dir, 'c.json'), cpus: () => 1 },
    );
    expect(quiet.issues).toEqual([]);
    const quietCanary = (name: string) => quiet.config?.apps.find((a) => a.name === name)?.reload.canary;
    expect(quietCanary('web')).toMatchObject({ enabled: true, weight: 0.2 });
    expect(quietCanary('p')?.enabled).toBe(false);
    expect(quietCanary('off')?.enabled).toBe(false);
  });

  it('reports a bad value in defaults once, not once per app', () => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = {
      defaults: { readyTimeout: 0 },
      apps: [
        { name: 'a', script: 'server.js' },
        { name: 'b', script: 'server.js' },
      ],
    };
    const { issues } = normalizeConfig(raw, { file: join(dir, 'c.json'), cpus: () => 1 });
    expect(issues).toEqual([
      expect.objectContaining({ code: ErrorCode.CONFIG_RANGE, pointer: '/defaults/readyTimeout' }),
    ]);
  });

  it('resolves guards in bytes and ms, inherited key by key from defaults', async () => {
    const { config } = await resolveConfig({
      defaults: { guards: { memory: { limit: '256MB' }, heartbeat: { timeout: '10s' } } },
      apps: [
        {
          name: 'web',
          script: 'server.js',
          guards: {
            memory: { hardLimit: '1.5GB', interval: '500ms' },
            recycle: { maxAge: '2h', cron: '0 4 * * *', timezone: 'Europe/Paris', jitter: '5m' },
          },
        },
      ],
    });
    expect(config.apps[0]?.guards).toEqual({
      memory: { limit: 256 * 1024 ** 2, hardLimit: 1.5 * 1024 ** 3, interval: 500 },
      heartbeat: { timeout: 10_000, interval: 1_000 },
      recycle: { maxAge: 7_200_000, cron: '0 4 * * *', timezone: 'Europe/Paris', jitter: 300_000 },
    });
  });

  it.each([
    [
      { memory: { limit: '1GB', hardLimit: '512MB' } },
      '/apps/0/guards/memory/hardLimit',
      /greater than guards.memory.limit \(512MB <= 1GB\)/,
    ],
    [{ memory: { limit: '1GB', interval: 0 } }, '/apps/0/guards/memory/interval', /greater than 0/],
    [
      { heartbeat: { timeout: '1s', interval: '2s' } },
      '/apps/0/guards/heartbeat/timeout',
      /shorter than guards.heartbeat.interval/,
    ],
    [{ heartbeat: { timeout: 0 } }, '/apps/0/guards/heartbeat/timeout', /greater than 0/],
    [{ recycle: { cron: '61 * * * *' } }, '/apps/0/guards/recycle/cron', /not a cron pattern: .*minute/],
    [{ recycle: { cron: 'every day' } }, '/apps/0/guards/recycle/cron', /not a cron pattern/],
    [
      { recycle: { cron: '0 4 * * *', timezone: 'Mars/Olympus' } },
      '/apps/0/guards/recycle/timezone',
      /not a time zone/,
    ],
    [{ recycle: { timezone: 'UTC' } }, '/apps/0/guards/recycle/timezone', /which this app does not set/],
    [{ recycle: { maxAge: 0 } }, '/apps/0/guards/recycle/maxAge', /greater than 0/],
  ])('refuses guards %j', (guards, pointer, message) => {
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw = { apps: [{ name: 'web', script: 'server.js', guards }] } as ClusterdConfig;
    const { config, issues } = normalizeConfig(raw, { file: join(dir, 'c.json'), cpus: () => 1 });
    expect(config).toBeUndefined();
    expect(issues).toEqual([expect.objectContaining({ pointer, message: expect.stringMatching(message) })]);
  });
});
