// `envFile`: parsed with util.parseEnv, paths from the app's cwd, and every problem with one reported at
// load with the file and the pointer, never with a value from it.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvFileProblem, envFilePaths, parseEnvText, readEnvFile } from '../../src/config/env-file.js';
import { loadConfig } from '../../src/config/index.js';
import { normalizeConfig } from '../../src/config/normalize.js';
import { MAX_CONFIG_BYTES } from '../../src/config/read.js';
import { ConfigError, ErrorCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const SECRET = 'hunter2-ENVFILE';

async function issuesOf(config: object, files: Record<string, string> = {}) {
  const dir = writeFiles(tempDir(), { 'cluster.config.json': JSON.stringify(config), 'x.js': '', ...files });
  try {
    await loadConfig({ cwd: dir });
  } catch (error) {
    if (error instanceof ConfigError) return { dir, issues: error.issues };
    throw error;
  }
  return { dir, issues: [] };
}

describe('parseEnvText', () => {
  it("reads what Node.js's own parser reads: quotes, comments, export, multi-line values", () => {
    const text =
      '# a comment\nA=1\nexport B="two words"\nC=\'single\'\nD="line1\\nline2"\nE=x # trailing\n\nnot a line\n';
    expect(parseEnvText(text)).toEqual({ A: '1', B: 'two words', C: 'single', D: 'line1\nline2', E: 'x' });
  });

  it('refuses a NUL in a value, naming the variable and never the value', () => {
    const problem = parseEnvText(`TOKEN=${SECRET}\u0000x\n`);
    expect(problem).toBe(
      'has a value that holds a NUL at position 16 of a string of length 17 for TOKEN; a process environment cannot hold a NUL',
    );
  });
});

describe('envFilePaths', () => {
  it('takes one path or a list, relative to the cwd', () => {
    expect(envFilePaths('.env', '/srv/app')).toEqual(['/srv/app/.env']);
    expect(envFilePaths(['.env', '/etc/app.env', '../shared/.env'], '/srv/app')).toEqual([
      '/srv/app/.env',
      '/etc/app.env',
      '/srv/shared/.env',
    ]);
    expect(envFilePaths(undefined, '/srv/app')).toEqual([]);
  });
});

describe('readEnvFile', () => {
  it('refuses a directory and a file over 1 MiB, with the file in the message', () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.env'));
    expect(() => readEnvFile(join(dir, '.env'))).toThrow(
      new EnvFileProblem(join(dir, '.env'), 'is a directory, not a regular file', 0),
    );
    writeFileSync(join(dir, 'big.env'), `A=${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(() => readEnvFile(join(dir, 'big.env'))).toThrow(/env files are limited to 1 MiB/);
  });
});

describe('envFile at load', () => {
  it('resolves the paths from the app cwd, keeps no value in the resolved config, and inherits from defaults', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({
        defaults: { envFile: '.env' },
        apps: [
          { name: 'api', script: 'x.js', cwd: 'api' },
          { name: 'jobs', script: 'x.js', cwd: 'jobs', envFile: ['.env', '.env.local'] },
          { name: 'plain', script: 'x.js', cwd: 'api', envFile: [] },
        ],
      }),
      'api/x.js': '',
      'api/.env': `TOKEN=${SECRET}\n`,
      'jobs/x.js': '',
      'jobs/.env': `TOKEN=${SECRET}\n`,
      'jobs/.env.local': '',
    });
    const config = await loadConfig({ cwd: dir });
    expect(config.apps.map((a) => a.envFiles)).toEqual([
      [join(dir, 'api/.env')],
      [join(dir, 'jobs/.env'), join(dir, 'jobs/.env.local')],
      [],
    ]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });

  it('reports a missing file with its pointer, the path and where paths start', async () => {
    const { dir, issues } = await issuesOf({ apps: [{ name: 'api', script: 'x.js', envFile: '.env' }] });
    expect(issues).toMatchObject([
      {
        code: ErrorCode.CONFIG_ENV_FILE,
        pointer: '/apps/0/envFile',
        message: `does not exist: ${join(dir, '.env')}`,
        hint: `env files are relative to the app's cwd (${dir})`,
      },
    ]);
  });

  it('points at the item of a list, and at defaults for an inherited file', async () => {
    const own = await issuesOf(
      { apps: [{ name: 'api', script: 'x.js', envFile: ['.env', 'missing.env'] }] },
      { '.env': '' },
    );
    expect(own.issues).toMatchObject([{ code: ErrorCode.CONFIG_ENV_FILE, pointer: '/apps/0/envFile/1' }]);
    const inherited = await issuesOf({
      defaults: { envFile: 'shared.env' },
      apps: [{ name: 'a', script: 'x.js' }],
    });
    expect(inherited.issues).toMatchObject([
      { code: ErrorCode.CONFIG_ENV_FILE, pointer: '/defaults/envFile' },
    ]);
  });

  it('reports a NUL in a value by variable name; validate prints no value, and lists the files when valid', async () => {
    const bad = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({ apps: [{ name: 'api', script: 'x.js', envFile: '.env' }] }),
      'x.js': '',
      '.env': `TOKEN=${SECRET}\u0000\n`,
    });
    const failed = await runCli(['validate', 'cluster.config.json'], { cwd: bad });
    expect(failed.code).toBe(78);
    expect(failed.stderr).toMatch(
      /\/apps\/0\/envFile .*holds a NUL at position 16 .* for TOKEN.*\[CLUSTERD_ERR_CONFIG_ENV_FILE\]/,
    );
    expect(`${failed.stdout}${failed.stderr}`).not.toContain(SECRET);

    writeFileSync(join(bad, '.env'), `TOKEN=${SECRET}\n`);
    const valid = await runCli(['validate', 'cluster.config.json'], { cwd: bad });
    expect(valid.code).toBe(0);
    expect(valid.stdout).toMatch(/env files .*\.env/);
    expect(`${valid.stdout}${valid.stderr}`).not.toContain(SECRET);
  });
});

describe('envFile with user', () => {
  // Root reads the file for workers of another user: it must be one that user could read itself.
  const accounts = {
    user: (key: string | number) =>
      key === 'web' || key === 4242 ? { name: 'web', uid: 4242, gid: 4242, home: '/nonexistent' } : null,
    group: () => null,
  };
  const normalize = (dir: string) =>
    normalizeConfig(
      { apps: [{ name: 'api', script: 'x.js', user: 'web', envFile: '.env' }] },
      { file: join(dir, 'c.json'), cpus: () => 1, accounts, supervisor: { uid: 0, gid: 0 } },
    );

  it('refuses a file that user cannot read, with the mode and owner, and takes one it can', () => {
    const dir = writeFiles(tempDir(), { 'x.js': '', '.env': `TOKEN=${SECRET}\n` });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, '.env'), 0o600);
    const refused = normalize(dir);
    expect(refused.issues).toMatchObject([
      {
        code: ErrorCode.CONFIG_ENV_FILE,
        pointer: '/apps/0/envFile',
        message: expect.stringMatching(
          /user web \(uid 4242, gid 4242\) cannot read it \(mode 0600, owner \d+:\d+\)$/,
        ),
      },
    ]);
    expect(JSON.stringify(refused.issues)).not.toContain(SECRET);
    chmodSync(join(dir, '.env'), 0o644);
    expect(normalize(dir).issues).toEqual([]);
  });
});
