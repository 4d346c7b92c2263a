// `health.dashboard` resolved from real config files: off, read-only, token sources, and the refusals
// (actions or a non-loopback host without a token, a token written in the config) with their messages,
// none of which quotes a token.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardRefusal, isLoopback } from '../../src/config/dashboard.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError, ErrorCode, ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

async function load(health: unknown) {
  const dir = writeFiles(tempDir(), {
    'cluster.config.json': JSON.stringify({ health, apps: [{ name: 'web', script: 'server.js' }] }),
    'server.js': '',
  });
  return { dir, config: await loadConfig({ cwd: dir, environment: null, cpus: () => 1 }) };
}

async function refused(health: unknown): Promise<ConfigError> {
  try {
    await load(health);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the config was accepted');
}

describe('health.dashboard', () => {
  it('is off unless set; true is read-only without a token', async () => {
    expect((await load({ port: 0 })).config.health?.dashboard).toBeNull();
    expect((await load({ port: 0, dashboard: false })).config.health?.dashboard).toBeNull();
    expect((await load({ port: 0, dashboard: true })).config.health?.dashboard).toEqual({
      actions: false,
      token: null,
    });
  });

  it('resolves the token source: a variable by name, a file relative to the config', async () => {
    const env = await load({ port: 0, dashboard: { actions: true, token: { env: 'DASH_TOKEN' } } });
    expect(env.config.health?.dashboard).toEqual({ actions: true, token: { env: 'DASH_TOKEN' } });
    const file = await load({ port: 0, host: '0.0.0.0', dashboard: { token: { file: 'secrets/t' } } });
    expect(file.config.health?.dashboard).toEqual({
      actions: false,
      token: { file: join(file.dir, 'secrets/t') },
    });
    const abs = await load({ port: 0, dashboard: { token: { file: '/run/secrets/x' } } });
    expect(abs.config.health?.dashboard?.token).toEqual({ file: '/run/secrets/x' });
  });

  it('refuses actions without a token', async () => {
    const error = await refused({ port: 0, dashboard: { actions: true } });
    expect(error.exitCode).toBe(ExitCode.CONFIG);
    expect(error.issues[0]).toMatchObject({
      code: ErrorCode.CONFIG_MISSING_KEY,
      pointer: '/health/dashboard',
      message: expect.stringMatching(/actions needs a token/),
      hint: expect.stringMatching(/"env": "CLUSTERD_DASHBOARD_TOKEN"/),
    });
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', 'example.internal'])(
    'refuses a dashboard on %s without a token',
    async (host) => {
      const error = await refused({ port: 0, host, dashboard: true });
      expect(error.exitCode).toBe(ExitCode.CONFIG);
      expect(error.issues[0]?.message).toContain(`the dashboard on ${host} (not loopback) needs a token`);
      expect(error.issues[0]?.hint).toMatch(/kubectl port-forward/);
    },
  );

  it('refuses a token written in the config, without quoting it, and says where it goes', async () => {
    const secret = 'hunter2-dashboard-SECRET';
    const error = await refused({ port: 0, dashboard: { token: secret } });
    expect(error.exitCode).toBe(ExitCode.CONFIG);
    const [issue] = error.issues;
    expect(issue).toMatchObject({ code: ErrorCode.CONFIG_TYPE, pointer: '/health/dashboard/token' });
    expect(issue?.message).toMatch(/must be an object, got a string of length 24/);
    expect(issue?.hint).toMatch(/never written in the config.*"env".*"file"/);
    expect(JSON.stringify(error.issues)).not.toContain('hunter2');
    expect(error.message).not.toContain('hunter2');
  });

  it('validate never prints a token written as the dashboard itself, and says what goes there', async () => {
    const secret = 'SUPERSECRETTOKEN123456';
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({
        health: { port: 0, dashboard: secret },
        apps: [{ name: 'web', script: 'server.js' }],
      }),
      'server.js': '',
    });
    for (const args of [['validate'], ['validate', '--json']]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.code, args.join(' ')).toBe(ExitCode.CONFIG);
      const output = result.stdout + result.stderr;
      expect(output).not.toContain(secret);
      expect(output).not.toContain('SUPERSECRET');
      expect(output).toContain('/health/dashboard');
      expect(output).toMatch(/must be true, false or an object.*got a string of length 22/);
      expect(output).toMatch(/token\\?": \{ \\?"env\\?": \\?"CLUSTERD_DASHBOARD_TOKEN/);
    }
  });

  it('refuses a token object with both sources or neither', async () => {
    await refused({ port: 0, dashboard: { token: { env: 'A', file: 'b' } } });
    await refused({ port: 0, dashboard: { token: {} } });
    await refused({ port: 0, dashboard: { token: { env: 'NOT-A-NAME' } } });
  });
});

describe('isLoopback and dashboardRefusal', () => {
  it('knows the loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '', '10.1.1.1', '128.0.0.1', 'localhost.example', '::ffff:10.0.0.1'])
      expect(isLoopback(host), host).toBe(false);
  });

  it('allows a token anywhere, and no token on loopback without actions', () => {
    const token = { env: 'T' };
    expect(dashboardRefusal('0.0.0.0', { actions: true, token })).toBeNull();
    expect(dashboardRefusal('127.0.0.1', { actions: false, token: null })).toBeNull();
    expect(dashboardRefusal('0.0.0.0', null)).toBeNull();
    expect(dashboardRefusal('::', { actions: false, token: null })?.pointer).toBe('/health/dashboard');
  });
});
