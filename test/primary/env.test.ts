// A worker's environment is built in one place, per fork, from the supervisor's environment.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envFileVars, workerEnv } from '../../src/primary/process/env.js';
import { resolvedApp } from '../helpers/fake-pool.js';
import { tempDir, writeFiles } from '../helpers/files.js';

describe('workerEnv', () => {
  it('is the supervisor env, the app env over it, removals applied, and the slot variables', () => {
    const base = Object.freeze({ PATH: '/bin', TZ: 'UTC', SECRET: 's', NODE_APP_INSTANCE: '9' });
    const app = resolvedApp({ name: 'api', env: { TZ: 'Asia/Tokyo', SECRET: null, PORT: '3000' } });
    expect(workerEnv(base, app, 2)).toEqual({
      PATH: '/bin',
      TZ: 'Asia/Tokyo',
      PORT: '3000',
      NODE_APP_INSTANCE: '2',
      CLUSTERD_WORKER_ID: '2',
      CLUSTERD_APP: 'api',
      CLUSTERD_SHUTDOWN_SIGNAL: 'SIGTERM',
      CLUSTERD_SHUTDOWN_TIMEOUT: '1000',
      CLUSTERD_SHUTDOWN_SPREAD: '0',
      CLUSTERD_BALANCING: 'round-robin',
      CLUSTERD_READINESS: 'listening',
      CLUSTERD_REQUEST_METRICS: '1',
    });
    // The base is never changed: the next fork starts from the same environment.
    expect(base).toEqual({ PATH: '/bin', TZ: 'UTC', SECRET: 's', NODE_APP_INSTANCE: '9' });
  });

  it("sets instanceVar to the slot number too (PM2's instance_var), over the app's env", () => {
    const app = resolvedApp({ env: { INSTANCE_ID: 'x' }, instanceVar: 'INSTANCE_ID' });
    expect(workerEnv({}, app, 4)).toMatchObject({ INSTANCE_ID: '4', NODE_APP_INSTANCE: '4' });
    expect(workerEnv({}, resolvedApp(), 4)).not.toHaveProperty('INSTANCE_ID');
  });

  it("tells the preload whether to count the app's requests", () => {
    expect(workerEnv({}, resolvedApp({ requestMetrics: false }), 0).CLUSTERD_REQUEST_METRICS).toBe('0');
    // The app cannot turn it back on by its env: clusterd's variables come last.
    const app = resolvedApp({ requestMetrics: false, env: { CLUSTERD_REQUEST_METRICS: '1' } });
    expect(workerEnv({}, app, 0).CLUSTERD_REQUEST_METRICS).toBe('0');
  });

  it("gives a worker run as another user that user's HOME, USER and LOGNAME; the app's env wins", () => {
    const base = { HOME: '/root', USER: 'root', LOGNAME: 'root', PATH: '/bin' };
    const runAs = { uid: 1001, gid: 1001, user: 'web', home: '/srv/web' };
    const env = workerEnv(base, resolvedApp({ runAs }), 0);
    expect(env).toMatchObject({ HOME: '/srv/web', USER: 'web', LOGNAME: 'web', PATH: '/bin' });
    const own = workerEnv(base, resolvedApp({ runAs, env: { HOME: '/data' } }), 0);
    expect(own).toMatchObject({ HOME: '/data', USER: 'web' });
    // A numeric uid without an entry has no name and no home: the supervisor's are left as they are.
    const numeric = workerEnv(base, resolvedApp({ runAs: { uid: 7, gid: 7, user: null, home: null } }), 0);
    expect(numeric).toMatchObject({ HOME: '/root', USER: 'root' });
  });
});

describe('workerEnv with env files', () => {
  it('puts the files over the supervisor env and the app env (and the selected environment) over the files', () => {
    const base = { PATH: '/bin', DB_URL: 'from-shell', ONLY_SHELL: '1' };
    const app = resolvedApp({ env: { PORT: '3000', TZ: null } });
    const env = workerEnv(base, app, 0, { DB_URL: 'from-file', PORT: '9999', TZ: 'UTC', ONLY_FILE: '2' });
    expect(env).toMatchObject({
      PATH: '/bin',
      DB_URL: 'from-file',
      ONLY_SHELL: '1',
      ONLY_FILE: '2',
      PORT: '3000',
    });
    // `null` in env removes a variable the file set, as it removes an inherited one.
    expect(env).not.toHaveProperty('TZ');
  });

  it("lets a file set a worker user's HOME, and never override the variables clusterd sets", () => {
    const runAs = { uid: 1001, gid: 1001, user: 'web', home: '/srv/web' };
    const env = workerEnv({ HOME: '/root' }, resolvedApp({ runAs }), 1, {
      HOME: '/data',
      NODE_APP_INSTANCE: '7',
      CLUSTERD_APP: 'other',
    });
    expect(env).toMatchObject({ HOME: '/data', USER: 'web', NODE_APP_INSTANCE: '1', CLUSTERD_APP: 'web' });
  });
});

describe('envFileVars', () => {
  it('reads the files again at every call, a later file winning', () => {
    const dir = tempDir();
    writeFiles(dir, { '.env': 'A=1\nB=1\n', '.env.local': 'B=2\n' });
    const app = resolvedApp({ envFiles: [join(dir, '.env'), join(dir, '.env.local')] });
    expect(envFileVars(app)).toEqual({ A: '1', B: '2' });
    writeFileSync(join(dir, '.env'), 'A=changed\n');
    expect(envFileVars(app)).toEqual({ A: 'changed', B: '2' });
  });

  it('throws a reason that names the file and no value when it is gone', () => {
    const dir = tempDir();
    const app = resolvedApp({ envFiles: [join(dir, '.env')] });
    expect(() => envFileVars(app)).toThrow(`env file ${join(dir, '.env')} does not exist`);
  });
});

describe('workerEnv with incrementVar', () => {
  it("gives each slot the app's value plus its slot number, for a scale up's new slots too", () => {
    const app = resolvedApp({ env: { PORT: '3000' }, incrementVar: 'PORT' });
    expect([0, 1, 5].map((slot) => workerEnv({}, app, slot).PORT)).toEqual(['3000', '3001', '3005']);
    expect(workerEnv({}, app, 1)).toMatchObject({ NODE_APP_INSTANCE: '1', CLUSTERD_WORKER_ID: '1' });
    // Negative values count up as well; nothing assumes a port.
    const offset = resolvedApp({ env: { OFFSET: '-1' }, incrementVar: 'OFFSET' });
    expect(workerEnv({}, offset, 3).OFFSET).toBe('2');
  });

  it("counts from the env file's value, read at this start, under the app's env", () => {
    const fromFile = resolvedApp({ incrementVar: 'PORT' });
    expect(workerEnv({ PORT: '1' }, fromFile, 2, { PORT: '8000' }).PORT).toBe('8002');
    const own = resolvedApp({ env: { PORT: '9000' }, incrementVar: 'PORT' });
    expect(workerEnv({}, own, 2, { PORT: '8000' }).PORT).toBe('9002');
  });

  it("fails the start, naming the variable and not the value, when the app's value is no longer usable", () => {
    const app = resolvedApp({ incrementVar: 'PORT' });
    // clusterd's own environment does not count: only the app's env and env files.
    expect(() => workerEnv({ PORT: '5000' }, app, 0)).toThrow(/^incrementVar PORT: PORT is not set/);
    // An env file edited since the load.
    let thrown: unknown;
    try {
      workerEnv({}, app, 0, { PORT: 's3cret-value' });
    } catch (error) {
      thrown = error;
    }
    expect(String(thrown)).toMatch(/incrementVar PORT: the app's PORT is not an integer/);
    expect(String(thrown)).not.toContain('s3cret');
    // A scale up past the bound the load checked for `instances`.
    const high = resolvedApp({ env: { PORT: '65534' }, incrementVar: 'PORT' });
    expect(workerEnv({}, high, 1).PORT).toBe('65535');
    expect(() => workerEnv({}, high, 2)).toThrow(/must be a TCP port, 1 to 65535/);
  });
});
