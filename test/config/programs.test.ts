// The loader's side of programs (`command`): the executable found on the app's PATH, what is refused
// with a message that names the key, and what a program gets by default. Real files in a temp dir.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/normalize.js';
import { findExecutable } from '../../src/config/program.js';
import type { ClusterdConfig } from '../../src/config/types.generated.js';
import { ErrorCode } from '../../src/errors.js';
import { tempDir, writeFiles } from '../helpers/files.js';

function project() {
  const dir = writeFiles(tempDir(), {
    'bin/serve': '#!/bin/sh\nexec sleep 1000\n',
    'bin/not-executable': '#!/bin/sh\n',
    'server.js': '',
    'app.py': '',
  });
  chmodSync(join(dir, 'bin/serve'), 0o755);
  return dir;
}

function normalize(apps: object[], extra: Partial<ClusterdConfig> = {}, path = '/nonexistent-dir') {
  const dir = project();
  const raw = { apps, ...extra } as ClusterdConfig;
  return {
    dir,
    ...normalizeConfig(raw, {
      file: join(dir, 'c.json'),
      cpus: () => 4,
      path: `${join(dir, 'bin')}:${path}`,
    }),
  };
}

const issue = (pointer: string, message: RegExp | string, code?: string) =>
  expect.objectContaining({
    pointer,
    message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
    ...(code ? { code } : {}),
  });

describe('programs in the config', () => {
  it('resolves a command on PATH: its executable, its arguments, one instance, readiness loaded', () => {
    const { config, issues, dir } = normalize([{ name: 'svc', command: ['serve', '--port', '8000'] }]);
    expect(issues).toEqual([]);
    const app = config?.apps[0];
    expect(app).toMatchObject({
      program: { command: ['serve', '--port', '8000'], file: join(dir, 'bin/serve'), listen: null },
      script: join(dir, 'bin/serve'),
      args: ['--port', '8000'],
      nodeArgs: [],
      instances: 1,
      readiness: 'loaded',
      readySettle: 1_000,
      probe: null,
      balancing: 'round-robin',
    });
  });

  it('with listen: readiness port by default, the socket named after the app', () => {
    const { config, issues } = normalize([
      { name: 'api', command: ['serve'], listen: { port: 8000 }, instances: 3 },
    ]);
    expect(issues).toEqual([]);
    expect(config?.apps[0]).toMatchObject({
      program: { listen: { host: null, port: 8000, name: 'api' } },
      readiness: 'port',
      instances: 3,
    });
  });

  it('takes probes with their interval', () => {
    const { config, issues } = normalize([
      {
        name: 'a',
        command: ['serve'],
        readiness: { http: 'http://127.0.0.1:9000/healthz', interval: '250ms' },
      },
      { name: 'b', command: ['serve'], readiness: { command: ['serve', '--check'] } },
    ]);
    expect(issues).toEqual([]);
    expect(config?.apps[0]).toMatchObject({
      readiness: 'probe',
      probe: { http: 'http://127.0.0.1:9000/healthz', interval: 250 },
    });
    expect(config?.apps[1]).toMatchObject({
      readiness: 'probe',
      probe: { command: ['serve', '--check'], interval: 500 },
    });
  });

  it('finds a path relative to cwd, and the app env PATH before the supervisor one', () => {
    const { config, issues } = normalize([
      { name: 'rel', command: ['./bin/serve'] },
      { name: 'own', command: ['serve'], env: { PATH: '/nowhere' } },
    ]);
    expect(config).toBeUndefined();
    expect(issues).toEqual([
      issue('/apps/1/command/0', '(searched /nowhere)', ErrorCode.CONFIG_SCRIPT_NOT_FOUND),
    ]);
    expect(normalize([{ name: 'rel', command: ['./bin/serve'] }]).config?.apps[0]?.program?.file).toMatch(
      /bin\/serve$/,
    );
  });

  it('says what was searched for a command not found, and why a file cannot run', () => {
    const { issues } = normalize([
      { name: 'a', command: ['no-such-program-xyz'] },
      { name: 'b', command: ['./bin/not-executable'] },
      { name: 'c', command: ['./missing.sh'] },
      { name: 'd', command: ['./bin'] },
    ]);
    expect(issues).toEqual([
      issue(
        '/apps/0/command/0',
        /"no-such-program-xyz" is not an executable file in any directory of PATH \(searched .*bin:\/nonexistent-dir\)/,
      ),
      issue('/apps/1/command/0', 'is not executable'),
      issue('/apps/2/command/0', 'no such file'),
      issue('/apps/3/command/0', 'is not a regular file'),
    ]);
  });

  it('refuses an empty command, a command beside a script, and args beside a command', () => {
    const { issues } = normalize([
      { name: 'a', command: [''] },
      { name: 'b', command: ['serve'], script: 'server.js' },
      { name: 'c', command: ['serve'], args: ['--x'] },
      { name: 'd' },
    ]);
    expect(issues).toEqual([
      issue('/apps/0/command/0', 'the command to run is empty', ErrorCode.CONFIG_RANGE),
      issue('/apps/1/command', 'a Node.js script or a command, not both', ErrorCode.CONFIG_UNSUPPORTED),
      issue('/apps/2/args', 'with "command", the arguments are part of the command'),
      issue('/apps/3', 'neither "script" (a Node.js app) nor "command"', ErrorCode.CONFIG_MISSING_KEY),
    ]);
    expect(issues[2]?.hint).toContain('["serve","--x"]');
  });

  it('refuses what only a Node.js app takes, when the program sets it', () => {
    const { issues } = normalize([
      { name: 'a', command: ['serve'], nodeArgs: ['--inspect'] },
      { name: 'b', command: ['serve'], balancing: 'sticky' },
      { name: 'c', command: ['serve'], guards: { heartbeat: { timeout: '5s' } } },
      { name: 'd', command: ['serve'], readiness: 'listening' },
      { name: 'e', command: ['serve'], readiness: 'port' },
      { name: 'f', command: ['serve'], serialization: 'advanced' },
      { name: 'g', command: ['serve'], requestMetrics: false },
      { name: 'h', command: ['serve'], compileCache: true },
    ]);
    expect(issues).toEqual([
      issue('/apps/0/nodeArgs', '"nodeArgs" is for Node.js apps'),
      issue('/apps/1/balancing', '"balancing" is for Node.js apps'),
      issue('/apps/2/guards/heartbeat', 'the heartbeat guard is for Node.js apps'),
      issue('/apps/3/readiness', 'readiness "listening" is for Node.js apps'),
      issue('/apps/4/readiness', 'readiness "port" needs "listen"'),
      issue('/apps/5/serialization', '"serialization" is for Node.js apps'),
      issue('/apps/6/requestMetrics', '"requestMetrics" is for Node.js apps'),
      issue('/apps/7/compileCache', '"compileCache" is for Node.js apps'),
    ]);
  });

  it('ignores defaults that only Node.js apps take (instances, readiness, nodeArgs, balancing, heartbeat, requestMetrics)', () => {
    const { config, issues } = normalize(
      [
        { name: 'svc', command: ['serve'] },
        { name: 'web', script: 'server.js' },
      ],
      {
        defaults: {
          instances: 4,
          readiness: 'message',
          nodeArgs: ['--enable-source-maps'],
          balancing: 'least-connections',
          guards: { heartbeat: { timeout: '10s' } },
          requestMetrics: true,
          compileCache: true,
        },
      },
    );
    expect(issues).toEqual([]);
    expect(config?.apps[0]).toMatchObject({
      instances: 1,
      readiness: 'loaded',
      nodeArgs: [],
      balancing: 'round-robin',
      guards: { heartbeat: { timeout: null } },
      // A program runs no preload: nothing would count its requests, nor enable a compile cache.
      requestMetrics: false,
      compileCache: false,
    });
    expect(config?.apps[1]).toMatchObject({
      instances: 4,
      readiness: 'message',
      balancing: 'least-connections',
      requestMetrics: true,
      compileCache: true,
    });
  });

  it('refuses what only a program takes on a Node.js app', () => {
    const { issues } = normalize([
      { name: 'a', script: 'server.js', listen: { port: 8000 } },
      { name: 'b', script: 'server.js', readiness: 'port' },
      { name: 'c', script: 'server.js', readiness: { http: 'http://127.0.0.1:1/' } },
    ]);
    expect(issues).toEqual([
      issue('/apps/0/listen', '"listen" is for programs'),
      issue('/apps/1/readiness', 'readiness "port" is for programs'),
      issue('/apps/2/readiness', 'is for programs'),
    ]);
  });

  it('refuses a settle time a program could never reach before readyTimeout', () => {
    const { issues } = normalize([{ name: 'a', command: ['serve'], readySettle: '5s', readyTimeout: '5s' }]);
    expect(issues).toEqual([issue('/apps/0/readySettle', 'must be shorter than readyTimeout')]);
  });
});

describe('programs where readiness "port" cannot work, and probes that cannot run', () => {
  it('refuses "port" without /proc, and defaults a listen to "loaded" there', () => {
    const dir = project();
    const raw = (apps: object[]) => ({ apps }) as ClusterdConfig;
    const options = {
      file: join(dir, 'c.json'),
      cpus: () => 1,
      path: join(dir, 'bin'),
      platform: 'darwin' as const,
    };
    const refused = normalizeConfig(
      raw([{ name: 'a', command: ['serve'], listen: { port: 8000 }, readiness: 'port' }]),
      options,
    );
    expect(refused.issues).toEqual([
      issue('/apps/0/readiness', 'reads which process accepted a connection from /proc'),
    ]);
    const fallback = normalizeConfig(
      raw([{ name: 'a', command: ['serve'], listen: { port: 8000 } }]),
      options,
    );
    expect(fallback.config?.apps[0]?.readiness).toBe('loaded');
  });

  it('refuses a command probe whose program is not found, at load rather than at readyTimeout', () => {
    const { issues } = normalize([
      { name: 'a', command: ['serve'], readiness: { command: ['no-such-check-xyz'] } },
    ]);
    expect(issues).toEqual([
      issue(
        '/apps/0/readiness/command/0',
        'the readiness probe: "no-such-check-xyz" is not an executable file',
      ),
    ]);
  });

  it("takes a probe's interval from the app's own readiness only", () => {
    const { config, issues } = normalize(
      [
        { name: 'a', command: ['serve'], readiness: { http: 'http://127.0.0.1:1/' } },
        { name: 'web', script: 'server.js' },
      ],
      { defaults: { readiness: 'loaded' } },
    );
    expect(issues).toEqual([]);
    expect(config?.apps[0]?.probe).toEqual({ http: 'http://127.0.0.1:1/', interval: 500 });
  });
});

describe('findExecutable', () => {
  it('skips relative PATH entries and missing directories, and checks the mode for the app user', () => {
    const dir = project();
    const found = findExecutable('serve', {
      cwd: dir,
      path: `bin:/nonexistent:${join(dir, 'bin')}`,
      runAs: null,
    });
    expect(found).toEqual({ file: join(dir, 'bin/serve') });
    chmodSync(join(dir, 'bin/serve'), 0o744);
    const asOther = findExecutable('./bin/serve', {
      cwd: dir,
      path: '',
      runAs: { uid: 4242, gid: 4242, user: 'other', home: null },
    });
    expect(asOther).toEqual({
      problem: expect.stringContaining("is not executable by the app's user (mode 744)"),
    });
  });
});
