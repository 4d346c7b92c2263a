// The unit `clusterd export systemd` writes, from resolved configs (pure; test/cli/export-systemd.test.ts
// runs the real command and systemd-analyze on its output).
import { describe, expect, it } from 'vitest';
import type { ResolvedApp, ResolvedConfig, ResolvedProgram } from '../../src/config/resolved.js';
import {
  defaultUnitName,
  isUnitName,
  STOP_MARGIN_SEC,
  startTimeoutSec,
  stopTimeoutSec,
  systemdUnit,
  systemdWarnings,
} from '../../src/export/systemd.js';
import { resolvedApp } from '../helpers/fake-pool.js';

const config = (apps: ResolvedApp[], extra: Partial<ResolvedConfig> = {}): ResolvedConfig => ({
  file: '/srv/shop/cluster.config.json',
  environment: null,
  health: null,
  apps,
  ...extra,
});

const unit = (c: ResolvedConfig, groups: Record<number, string> = {}) =>
  systemdUnit({
    config: c,
    name: 'clusterd-shop',
    node: '/usr/bin/node',
    bin: '/srv/shop/node_modules/clusterd/dist/cli/bin.js',
    groupName: (gid) => groups[gid] ?? null,
  });

/** The unit's settings (comments and sections left out), as [key, value]. */
const settings = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.includes('=') && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
const setting = (text: string, key: string) => settings(text).find(([k]) => k === key)?.[1];

/** A program app (`command`) as the loader resolves it: script = its executable, args = the rest. */
const program = (
  name: string,
  command: string[],
  file: string,
  extra: { listen?: ResolvedProgram['listen'] } & Partial<ResolvedApp> = {},
): ResolvedApp => {
  const { listen = null, ...app } = extra;
  return {
    ...resolvedApp({ name, script: file, args: command.slice(1), instances: 1, readiness: 'loaded', ...app }),
    program: { command, file, listen },
  } as ResolvedApp;
};
const as = (uid: number, gid: number, user: string | null) => ({ uid, gid, user, home: null });

const web = (shutdown: Partial<ResolvedApp['shutdown']>, name = 'web') =>
  resolvedApp({ name, shutdown: { ...resolvedApp().shutdown, ...shutdown } });

describe('systemd unit', () => {
  it('runs clusterd start on the config with absolute paths, Type=notify, its reload and stop', () => {
    const text = unit(config([resolvedApp()]));
    expect(setting(text, 'ExecStart')).toBe(
      '/usr/bin/node /srv/shop/node_modules/clusterd/dist/cli/bin.js start /srv/shop/cluster.config.json',
    );
    expect(setting(text, 'Type')).toBe('notify');
    expect(setting(text, 'NotifyAccess')).toBe('all');
    expect(setting(text, 'ExecReload')).toBe('/bin/kill -s HUP $MAINPID');
    expect(setting(text, 'KillMode')).toBe('mixed');
    expect(setting(text, 'Restart')).toBe('on-failure');
    expect(setting(text, 'RestartPreventExitStatus')).toBe('64 66 78');
    expect(setting(text, 'WatchdogSec')).toBe('30');
    expect(setting(text, 'WorkingDirectory')).toBe('/srv/shop');
    expect(setting(text, 'SyslogIdentifier')).toBe('clusterd-shop');
    expect(setting(text, 'RuntimeDirectory')).toBe('clusterd-shop');
    expect(setting(text, 'RuntimeDirectoryMode')).toBe('0700');
    expect(setting(text, 'Environment')).toBeUndefined();
    expect(text).toMatch(/^\[Unit\]$/m);
    expect(text).toMatch(/^\[Install\]\nWantedBy=multi-user\.target$/m);
  });

  it('--env goes through Environment=CLUSTERD_ENV, so a drop-in can change it', () => {
    const text = unit(config([resolvedApp()], { environment: 'production' }));
    expect(setting(text, 'Environment')).toBe('"CLUSTERD_ENV=production"');
    expect(setting(text, 'ExecStart')).toMatch(
      / start \/srv\/shop\/cluster\.config\.json --env \$\{CLUSTERD_ENV\}$/,
    );
  });

  it('TimeoutStopSec: the longest app delay + leader stop + spread + timeout, rounded up, plus the margin', () => {
    // A Node.js app's leader gets shutdown.timeout for its stop handlers before its drain (another
    // shutdown.timeout): 10 + 10 + 2 = 22 s, and 14.5 + 14.5 = 29 s.
    const apps = [web({ timeout: 10_000, spread: 2_000 }), web({ timeout: 14_500 }, 'api')];
    expect(stopTimeoutSec(apps)).toBe(29 + STOP_MARGIN_SEC);
    // shutdown.delay (serving, unready, before a stop drains) counts too.
    expect(stopTimeoutSec([web({ timeout: 10_000, spread: 2_000, delay: 5_000 })])).toBe(
      27 + STOP_MARGIN_SEC,
    );
    expect(setting(unit(config(apps)), 'TimeoutStopSec')).toBe(String(29 + STOP_MARGIN_SEC));
  });

  it('TimeoutStartSec covers the crash-loop limit of the slowest app, and is at least 90 s', () => {
    expect(startTimeoutSec([resolvedApp()])).toBe(90);
    const slow = resolvedApp({
      readyTimeout: 30_000,
      restart: {
        ...resolvedApp().restart,
        maxRestarts: 3,
        backoff: { initial: 1_000, factor: 2, max: 2_000 },
      },
    });
    // 4 starts of 30 s, each stopped within shutdown.timeout (1 s), backoff 1 + 2 + 2 s, plus 10 s.
    expect(startTimeoutSec([slow, resolvedApp()])).toBe(4 * (30 + 1) + 5 + 10);
  });

  it('User= and Group= when every app runs as one user; root with a comment when they differ', () => {
    const same = unit(
      config([
        resolvedApp({ runAs: as(1001, 1002, 'web') }),
        resolvedApp({ name: 'jobs', runAs: as(1001, 1002, 'web') }),
      ]),
      { 1002: 'www' },
    );
    expect(setting(same, 'User')).toBe('web');
    expect(setting(same, 'Group')).toBe('www');
    const numeric = unit(config([resolvedApp({ runAs: as(5000, 5001, null) })]));
    expect([setting(numeric, 'User'), setting(numeric, 'Group')]).toEqual(['5000', '5001']);

    const mixed = unit(
      config([resolvedApp({ runAs: as(1001, 1002, 'web') }), resolvedApp({ name: 'jobs', runAs: null })]),
    );
    expect(setting(mixed, 'User')).toBeUndefined();
    expect(mixed).toMatch(
      /^# No User=: the apps run as different users.*\n# as root \(web: web; jobs: root\)\.$/m,
    );
    const none = unit(config([resolvedApp()]));
    expect(setting(none, 'User')).toBeUndefined();
    expect(none).toMatch(/^# No User=: the apps set no user/m);
  });

  it('a Node.js-only config gets no program lines, no capability, no warning', () => {
    const text = unit(config([resolvedApp({ runAs: as(1001, 1002, 'web'), env: { PORT: '80' } })]));
    expect(text).not.toMatch(/programs|AmbientCapabilities/);
    expect(systemdWarnings(config([resolvedApp()]))).toEqual([]);
  });

  it("names each program's executable and where the service will find it, and its socket", () => {
    const apps = [
      resolvedApp(),
      program('api', ['.venv/bin/gunicorn', '-b', 'fd://3'], '/srv/shop/.venv/bin/gunicorn', {
        listen: { host: null, port: 8000, name: 'api' },
      }),
      program('worker', ['python3', '-u', 'worker.py'], '/usr/bin/python3'),
      program('cron', ['sh', '-c', 'sleep 1'], '/bin/sh', {
        listen: { host: '127.0.0.1', port: 9000, name: 'cron' },
      }),
      program('tool', ['mytool'], '/opt/tools/bin/mytool', { env: { PATH: '/opt/tools/bin:/usr/bin' } }),
    ];
    const text = unit(config(apps));
    const block = text.slice(text.indexOf('# clusterd runs these programs'));
    expect(block.split('\n').slice(0, 5)).toEqual([
      '# clusterd runs these programs, and finds their executables again each time it loads the config:',
      '#   api: /srv/shop/.venv/bin/gunicorn (a path in the config); clusterd listens on port 8000 (every address) and hands the socket to each instance',
      "#   worker: /usr/bin/python3 (on the service's PATH)",
      "#   cron: /bin/sh (on the service's PATH); clusterd listens on 127.0.0.1:9000 and hands the socket to each instance",
      "#   tool: /opt/tools/bin/mytool (on the app's env.PATH)",
    ]);
    // Right after ExecStart, before the settings that follow it; the arguments are not written.
    expect(text.indexOf('\nExecStart=')).toBeLessThan(text.indexOf('# clusterd runs these programs'));
    expect(text.indexOf('# clusterd runs these programs')).toBeLessThan(text.indexOf('\nExecReload='));
    expect(text).not.toContain('fd://3');
    expect(text).not.toContain('worker.py');
    expect(systemdWarnings(config(apps))).toEqual([]);
    // Deterministic: the same config, the same unit.
    expect(unit(config(apps))).toBe(text);
  });

  it('warns about a program found only on the PATH of the export, which the service does not search', () => {
    const apps = [program('api', ['uvicorn', 'app:app', '--fd', '3'], '/home/me/.venv/bin/uvicorn')];
    const text = unit(config(apps));
    expect(text).toContain(
      "#   api: /home/me/.venv/bin/uvicorn (found on the PATH of the export, which the service does not search: the config would not load; set the app's env.PATH, or give the executable's path in its command)\n",
    );
    expect(systemdWarnings(config(apps))).toEqual([
      'app api: "uvicorn" was found in /home/me/.venv/bin, which is not on the PATH systemd gives a service (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin): the service would refuse the config (exit 78); set "PATH" in the app\'s "env", or give the executable\'s path in "command"',
    ]);
    // The app's own PATH is the one the service uses too; a path in the command needs none.
    const ownPath = program('api', ['uvicorn'], '/home/me/.venv/bin/uvicorn', {
      env: { PATH: '/home/me/.venv/bin' },
    });
    const byPath = program('api', ['/home/me/.venv/bin/uvicorn'], '/home/me/.venv/bin/uvicorn');
    expect(systemdWarnings(config([ownPath, byPath]))).toEqual([]);
  });

  it('AmbientCapabilities=CAP_NET_BIND_SERVICE when a non-root clusterd opens a port below 1024', () => {
    const listen = (port: number) => ({ host: null, port, name: 'api' });
    const www = as(33, 33, 'www-data');
    const low = unit(
      config([
        program('api', ['./server'], '/srv/shop/server', { listen: listen(80), runAs: www }),
        program('admin', ['./admin'], '/srv/shop/admin', { listen: listen(8080), runAs: www }),
      ]),
      { 33: 'www-data' },
    );
    expect(setting(low, 'AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(low).toMatch(
      /^User=www-data\nGroup=www-data\n# clusterd opens the programs' sockets itself, as this user, and a port below 1024 needs this\n# capability \(api 80\); the processes it starts inherit it\.\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n$/m,
    );
    // Port 1024 and up, a clusterd that runs as root (no user, or several), or root itself: none.
    const high = program('api', ['./server'], '/srv/shop/server', { listen: listen(1024), runAs: www });
    const asRoot = program('api', ['./server'], '/srv/shop/server', { listen: listen(80) });
    const root = program('api', ['./server'], '/srv/shop/server', {
      listen: listen(80),
      runAs: as(0, 0, 'root'),
    });
    const mixed = [asRoot, program('b', ['./b'], '/srv/shop/b', { runAs: www })];
    for (const apps of [[high], [asRoot], [root], mixed])
      expect(setting(unit(config(apps)), 'AmbientCapabilities')).toBeUndefined();
  });

  it('refuses a program path a unit cannot hold', () => {
    expect(() => unit(config([program('api', ['./a\nb'], '/srv/shop/a\nb')]))).toThrow(/newline/);
  });

  it('quotes and escapes paths: spaces, %, $, quotes; refuses a newline', () => {
    const text = systemdUnit({
      config: config([resolvedApp()], { file: '/srv/my shop/100%/$x/c"f.json' }),
      name: 'clusterd-shop',
      node: '/usr/bin/node',
      bin: '/opt/clusterd/bin.js',
      groupName: () => null,
    });
    expect(setting(text, 'ExecStart')).toBe(
      '/usr/bin/node /opt/clusterd/bin.js start "/srv/my shop/100%%/$$x/c\\"f.json"',
    );
    expect(setting(text, 'WorkingDirectory')).toBe('/srv/my shop/100%%/$x');
    expect(() => unit(config([resolvedApp()], { file: '/srv/a\nb/cluster.config.json' }))).toThrow(/newline/);
  });

  it('names: a default from the config directory, and what systemd accepts', () => {
    expect(defaultUnitName('/srv/shop/cluster.config.json')).toBe('clusterd-shop');
    expect(defaultUnitName('/srv/my shop!/cluster.config.json')).toBe('clusterd-my-shop');
    expect(defaultUnitName('/cluster.config.json')).toBe('clusterd');
    expect(isUnitName('clusterd-shop')).toBe(true);
    expect(isUnitName('shop@1')).toBe(false);
    expect(isUnitName('a b')).toBe(false);
    expect(isUnitName('')).toBe(false);
  });
});
