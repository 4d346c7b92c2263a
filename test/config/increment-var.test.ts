// `incrementVar` (PM2's increment_var) at load: the name, and the app's value for every slot of
// `instances`, from its env, its --env overlay and its env files; every refusal names the app and the key,
// never the value (it may be a secret).
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/cli/format.js';
import { loadConfig } from '../../src/config/index.js';
import { incrementedValue, incrementValues } from '../../src/config/slot-vars.js';
import { ConfigError, type ConfigIssue, ErrorCode } from '../../src/errors.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function load(config: object, options: { files?: Record<string, string>; environment?: string } = {}) {
  const dir = writeFiles(tempDir(), { 'cluster.config.json': json(config), 'x.js': '', ...options.files });
  return loadConfig({ cwd: dir, environment: options.environment ?? null, cpus: () => 4 });
}

async function issues(
  config: object,
  options: { files?: Record<string, string>; environment?: string } = {},
): Promise<readonly ConfigIssue[]> {
  const error = await load(config, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the config must be refused').toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

const app = (extra: Record<string, unknown>) => ({ name: 'api', script: 'x.js', instances: 2, ...extra });

describe('incrementVar at load', () => {
  it('resolves to the name, from the app or from defaults; none by default', async () => {
    const config = await load({
      defaults: { incrementVar: 'PORT' },
      apps: [
        app({ env: { PORT: 3000 } }),
        { name: 'own', script: 'x.js', env: { ADMIN: '-10' }, incrementVar: 'ADMIN' },
        { name: 'off', script: 'x.js', incrementVar: null },
        { name: 'py', command: ['sh', 'x.js'], instances: 3, env: { PORT: '8000' } },
      ],
    }).catch((e: ConfigError) => {
      throw new Error(JSON.stringify(e.issues));
    });
    expect(config.apps.map((a) => [a.name, a.incrementVar])).toEqual([
      ['api', 'PORT'],
      ['own', 'ADMIN'],
      ['off', null],
      ['py', 'PORT'],
    ]);
    // Only the name is resolved: the value stays in env, where the worker's start reads it.
    expect(config.apps[0]?.env).toEqual({ PORT: '3000' });
    const plain = await load({ apps: [app({})] });
    expect(plain.apps[0]?.incrementVar).toBeNull();
  });

  it('takes the value from an env file, and from the selected environment over env', async () => {
    const fromFile = await load(
      { apps: [app({ envFile: '.env', incrementVar: 'PORT' })] },
      { files: { '.env': 'PORT=4000\n' } },
    );
    expect(fromFile.apps[0]?.incrementVar).toBe('PORT');
    // The overlay decides: PORT not an integer in env, an integer under --env production.
    const overlay = {
      apps: [
        app({ env: { PORT: 'unset' }, environments: { production: { PORT: 5000 } }, incrementVar: 'PORT' }),
      ],
    };
    expect((await load(overlay, { environment: 'production' })).apps[0]?.incrementVar).toBe('PORT');
    expect((await issues(overlay)).map((i) => i.code)).toEqual([ErrorCode.CONFIG_FORMAT]);
  });

  it('refuses a variable the app does not set, naming the app and the key (from defaults too, per app)', async () => {
    const found = await issues(
      {
        defaults: { incrementVar: 'PORT' },
        apps: [app({ name: 'one' }), app({ name: 'two', env: { PORT: null }, envFile: '.env' })],
      },
      // clusterd's own environment does not count, nor a file value that env removes.
      { files: { '.env': 'PORT=3000\n' } },
    );
    expect(found.map((i) => [i.code, i.pointer, i.app])).toEqual([
      [ErrorCode.CONFIG_MISSING_KEY, '/apps/0', 'one'],
      [ErrorCode.CONFIG_MISSING_KEY, '/apps/1', 'two'],
    ]);
    expect(found[0]?.message).toBe(
      "incrementVar PORT (from defaults): PORT is not set in the app's env, its environments or its env files; set slot 0's value there (clusterd's own environment does not count)",
    );
    const own = await issues({ apps: [app({ incrementVar: 'PORT' })] });
    expect(own[0]).toMatchObject({ code: ErrorCode.CONFIG_MISSING_KEY, pointer: '/apps/0/incrementVar' });
    expect(formatIssue(own[0] as ConfigIssue)).toMatch(
      /cluster\.config\.json:\d+:\d+ \/apps\/0\/incrementVar \(app "api"\): incrementVar PORT: PORT is not set/,
    );
  });

  it.each([
    ['a word', 'SECRET-ish'],
    ['a fraction', '3000.5'],
    ['a leading zero', '03000'],
    ['a plus sign', '+3000'],
    ['spaces', ' 3000'],
    ['hexadecimal', '0x0bb8'],
    ['an exponent', '3e3'],
    ['empty', ''],
    ['minus zero', '-0'],
  ])('refuses a value that is not a decimal integer (%s) without quoting it', async (_, value) => {
    const found = await issues({ apps: [app({ env: { PORT: value }, incrementVar: 'PORT' })] });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      code: ErrorCode.CONFIG_FORMAT,
      pointer: '/apps/0/incrementVar',
      app: 'api',
    });
    expect(found[0]?.message).toBe(
      `incrementVar PORT: the app's PORT is not an integer (decimal digits, an optional "-", no leading zero)`,
    );
    // What follows the file's location: the temporary directory's random name may hold "-0" or "3e3".
    const printed = formatIssue(found[0] as ConfigIssue);
    const afterLocation = printed.slice(printed.indexOf(' /apps/0/incrementVar'));
    expect(afterLocation.startsWith(' /apps/0/incrementVar (app "api"): ')).toBe(true);
    if (value.trim()) expect(afterLocation).not.toContain(value.trim());
  });

  it('refuses a value from an env file that is not an integer, without quoting it', async () => {
    const found = await issues(
      { apps: [app({ envFile: '.env', incrementVar: 'TOKEN' })] },
      { files: { '.env': 'TOKEN=hunter2-secret\n' } },
    );
    expect(found.map((i) => i.code)).toEqual([ErrorCode.CONFIG_FORMAT]);
    expect(JSON.stringify(found)).not.toContain('hunter2');
  });

  it('keeps every slot of a variable named like a port within 1..65535', async () => {
    const at = async (port: number | string, instances: number | 'max', name = 'PORT') =>
      (await issues({ apps: [app({ env: { [name]: port }, instances, incrementVar: name })] })).map(
        (i) => i.code,
      );
    expect(
      (await load({ apps: [app({ env: { PORT: 65534 }, instances: 2, incrementVar: 'PORT' })] })).apps,
    ).toHaveLength(1);
    expect(await at(65535, 2)).toEqual([ErrorCode.CONFIG_RANGE]);
    // "max" is the CPUs the loader counts (4 here): 65533 + 3 passes the bound.
    expect(await at(65533, 'max')).toEqual([ErrorCode.CONFIG_RANGE]);
    expect(await at(0, 2)).toEqual([ErrorCode.CONFIG_RANGE]);
    expect(await at(-1, 1, 'HTTP_PORT')).toEqual([ErrorCode.CONFIG_RANGE]);
    const found = await issues({ apps: [app({ env: { HTTP_PORT: 70000 }, incrementVar: 'HTTP_PORT' })] });
    expect(found[0]?.message).toBe(
      "incrementVar HTTP_PORT: HTTP_PORT names a port: the app's HTTP_PORT plus each slot number (0 to 1) must be a TCP port, 1 to 65535",
    );
    expect(found[0]?.message).not.toContain('70000');
  });

  it('keeps any other variable a safe integer, negative values included; nothing assumes a port', async () => {
    const ok = await load({
      apps: [
        app({ env: { SHARD: 70000 }, incrementVar: 'SHARD' }),
        app({ name: 'neg', env: { OFFSET: '-3' }, instances: 5, incrementVar: 'OFFSET' }),
        app({ name: 'big', env: { ID: String(Number.MAX_SAFE_INTEGER - 1) }, incrementVar: 'ID' }),
        // REPORT ends in PORT but not in _PORT: not a port.
        app({ name: 'report', env: { REPORT: 0 }, incrementVar: 'REPORT' }),
      ],
    });
    expect(ok.apps).toHaveLength(4);
    const past = await issues({
      apps: [app({ env: { ID: String(Number.MAX_SAFE_INTEGER - 1) }, instances: 3, incrementVar: 'ID' })],
    });
    expect(past.map((i) => [i.code, i.message])).toEqual([
      [
        ErrorCode.CONFIG_RANGE,
        `incrementVar ID: the app's ID plus each slot number (0 to 2) must stay at most ${Number.MAX_SAFE_INTEGER}`,
      ],
    ]);
    const huge = await issues({ apps: [app({ env: { ID: '99999999999999999999' }, incrementVar: 'ID' })] });
    expect(huge.map((i) => i.code)).toEqual([ErrorCode.CONFIG_FORMAT]);
    expect(huge[0]?.message).not.toContain('9999');
  });

  it('refuses a name that is not a variable name (schema), or one clusterd gives a meaning to', async () => {
    const bad = await issues({ apps: [app({ incrementVar: '1PORT' })] });
    expect(bad[0]).toMatchObject({ code: ErrorCode.CONFIG_FORMAT, pointer: '/apps/0/incrementVar' });
    expect(bad[0]?.message).toMatch(/^must be a variable name/);
    expect((await issues({ apps: [app({ incrementVar: 'PORT=1' })] }))[0]?.code).toBe(
      ErrorCode.CONFIG_FORMAT,
    );
    expect((await issues({ apps: [app({ incrementVar: '' })] }))[0]?.code).toBe(ErrorCode.CONFIG_RANGE);
    for (const name of ['NODE_APP_INSTANCE', 'CLUSTERD_WORKER_ID', 'NODE_OPTIONS', 'LISTEN_FDS']) {
      const found = await issues({ apps: [app({ env: { [name]: '1' }, incrementVar: name })] });
      expect(found.map((i) => [i.code, i.pointer])).toEqual([
        [ErrorCode.CONFIG_RANGE, '/apps/0/incrementVar'],
      ]);
    }
    const twice = await issues({ apps: [app({ env: { ID: 1 }, instanceVar: 'ID', incrementVar: 'ID' })] });
    expect(twice[0]?.message).toBe('"ID" is instanceVar too, which sets it to the slot number');
  });
});

describe('incrementValues and incrementedValue', () => {
  it('count from the base, a slot past the bound (a scale up) failing that start', () => {
    expect(incrementValues('PORT', '3000', 4)).toEqual({ base: 3000, problem: null });
    expect(incrementedValue('PORT', '3000', 0)).toBe('3000');
    expect(incrementedValue('PORT', '3000', 7)).toBe('3007');
    expect(incrementedValue('OFFSET', '-2', 5)).toBe('3');
    expect(() => incrementedValue('PORT', '65530', 6)).toThrow(
      /^incrementVar PORT: PORT names a port: the app's PORT plus each slot number \(0 to 6\) must be a TCP port/,
    );
    expect(() => incrementedValue('PORT', undefined, 0)).toThrow(/PORT is not set/);
    expect(() => incrementedValue('PORT', 'secret', 0)).toThrow(
      /^incrementVar PORT: the app's PORT is not an integer/,
    );
  });
});
