// Hostile config values, part 2 (part 1: hostile-configs): prototype keys, numbers, strings that are too
// long or hold NUL characters. Each is a real file loaded by the real loader; see test/helpers/hostile.ts for what every
// case must satisfy (one-line bounded messages, bounded time, no polluted prototype).
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/normalize.js';
import type { ClusterdConfig } from '../../src/config/types.generated.js';
import { ErrorCode } from '../../src/errors.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { type Case, check } from '../helpers/hostile.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const one = (extra: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) =>
  json({ apps: [{ name: 'web', script: 'x.js', ...extra }], ...rest });
// JSON.stringify writes -0 as 0 and Infinity as null: some numbers must be written by hand.
const raw = (app: string) => `{"apps": [{"name": "web", "script": "x.js", ${app}}]}`;
const MB = 1_000_000;
const big = 'a'.repeat(MB);

const cases: Case[] = [
  // Prototype keys: "__proto__" is refused wherever a name is free-form; "constructor" and "prototype"
  // are plain data there, unknown keys elsewhere. Nothing is inherited, nothing polluted.
  {
    name: '"constructor" and "prototype" at the top level',
    files: { 'cluster.config.json': '{"apps": [], "constructor": {"polluted": 1}, "prototype": {}}' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/constructor',
  },
  {
    name: '"__proto__" in an app, carrying its name and script',
    files: {
      'cluster.config.json': '{"apps": [{"__proto__": {"name": "evil", "script": "x.js", "polluted": 1}}]}',
    },
    code: ErrorCode.CONFIG_MISSING_KEY,
    message: /missing required key "name"/,
  },
  {
    name: '"__proto__" as an env variable name',
    files: { 'cluster.config.json': one({ env: JSON.parse('{"__proto__": {"polluted": 1}}') }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/env/__proto__',
    message: /nor be "__proto__"/,
  },
  {
    name: '"__proto__" in the env of defaults (YAML)',
    files: {
      'cluster.config.yaml': 'defaults:\n  env:\n    __proto__: x\napps:\n  - {name: web, script: x.js}\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/defaults/env/__proto__',
  },
  {
    name: '"__proto__" in a per-environment env map',
    files: {
      'cluster.config.json': one({
        environments: { production: JSON.parse('{"__proto__": "x", "A": "1"}') },
      }),
      'x.js': '',
    },
    environment: 'production',
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/environments/production/__proto__',
  },
  {
    name: '"__proto__" as an environment name',
    files: {
      'cluster.config.json': one({}, { defaults: { environments: JSON.parse('{"__proto__": {}}') } }),
    },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/defaults/environments/__proto__',
  },
  {
    name: '"__proto__" in defaults.restart',
    files: {
      'cluster.config.json': one(
        {},
        { defaults: { restart: JSON.parse('{"__proto__": {"policy": "never"}}') } },
      ),
    },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/defaults/restart/__proto__',
  },
  {
    name: '"constructor", "prototype" and "toString" as env names are plain data',
    files: {
      'cluster.config.json': one({ env: { constructor: 'c', prototype: 'p', toString: 't' } }),
      'x.js': '',
    },
    safe: ({ apps: [app] }) => {
      expect(Object.entries(app?.env ?? {})).toEqual([
        ['constructor', 'c'],
        ['prototype', 'p'],
        ['toString', 't'],
      ]);
      expect(Object.getPrototypeOf(app?.env)).toBe(Object.prototype);
    },
  },
  {
    name: 'a "constructor" environment applies only where it is defined',
    files: {
      'cluster.config.json': json({
        apps: [
          { name: 'a', script: 'x.js', environments: { constructor: { A: '1' } } },
          { name: 'b', script: 'x.js' },
        ],
      }),
      'x.js': '',
    },
    environment: 'constructor',
    safe: ({ apps: [a, b] }) => expect([a?.env, b?.env]).toEqual([{ A: '1' }, {}]),
  },
  {
    name: '--env toString, an inherited name no config defines',
    files: { 'cluster.config.json': one({ environments: { production: {} } }), 'x.js': '' },
    environment: 'toString',
    code: ErrorCode.CONFIG_UNKNOWN_ENVIRONMENT,
  },

  // Numbers: out of range or not numbers at all, reported as such (never "got null").
  {
    name: '1e309 instances (Infinity)',
    files: { 'cluster.config.json': raw('"instances": 1e309'), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/instances',
    message: /must be a positive integer or "max", got Infinity/,
  },
  {
    name: 'a YAML .nan duration',
    files: {
      'cluster.config.yaml': 'apps:\n  - {name: web, script: x.js, readyTimeout: .nan}\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_TYPE,
    message: /must be a duration.*got NaN/,
  },
  {
    name: 'a YAML -.inf backoff factor',
    files: {
      'cluster.config.yaml': 'apps:\n  - {name: web, script: x.js, restart: {backoff: {factor: -.inf}}}\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_TYPE,
    message: /must be a number, got -Infinity/,
  },
  {
    name: '-0 as a duration and a count (read as 0)',
    files: {
      'cluster.config.json': raw('"shutdown": {"timeout": -0}, "restart": {"maxRestarts": -0}'),
      'x.js': '',
    },
    safe: ({ apps: [app] }) => {
      expect(Object.is(app?.shutdown.timeout, 0)).toBe(true);
      expect(Object.is(app?.restart.maxRestarts, 0)).toBe(true);
    },
  },
  {
    name: '-0 as readyTimeout',
    files: { 'cluster.config.json': raw('"readyTimeout": -0'), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    message: /must be greater than 0/,
  },
  {
    name: '1e20 instances',
    files: { 'cluster.config.json': raw('"instances": 100000000000000000000'), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    message: /must be <= 1024, got 100000000000000000000/,
  },
  {
    name: 'maxRestarts beyond 2^53',
    files: { 'cluster.config.json': raw('"restart": {"maxRestarts": 9007199254740993}'), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    message: /<= 100000/,
  },
  {
    name: 'a duration of "1e400ms"',
    files: { 'cluster.config.json': one({ readyTimeout: '1e400ms' }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    message: /duration like "500ms"/,
  },
  {
    name: 'a duration of "NaNs"',
    files: { 'cluster.config.json': one({ shutdown: { timeout: 'NaNs' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    message: /duration like "500ms"/,
  },
  {
    name: 'a negative duration string',
    files: { 'cluster.config.json': one({ restart: { stableAfter: '-5s' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
  },
  {
    name: 'a duration of 400 digits (Infinity ms)',
    files: { 'cluster.config.json': one({ readyTimeout: `${'9'.repeat(400)}ms` }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    message: /at most 2147483647 ms/,
  },
  {
    name: 'a duration of 1e300 ms',
    files: { 'cluster.config.json': raw('"restart": {"stableAfter": 1e300}'), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/restart/stableAfter',
  },
  {
    name: 'a size that overflows ("99999999999999999999GB")',
    files: { 'cluster.config.json': one({ logs: { maxSize: '99999999999999999999GB' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/logs/maxSize',
    message: /at most 9007199254740991 bytes/,
  },
  {
    name: 'a size of 1e300 bytes, inherited from defaults',
    files: {
      'cluster.config.json': `{"apps": [{"name": "web", "script": "x.js"}], "defaults": {"logs": {"maxSize": 1e300}}}`,
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/defaults/logs/maxSize',
  },

  // Strings of a megabyte: a clear error whose message does not echo the value.
  {
    name: 'a 1 MB app name',
    files: { 'cluster.config.json': one({ name: big }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    message: /^must be at most 64 characters long, got 1000000$/,
  },
  {
    name: 'a 1 MB unknown key',
    files: { 'cluster.config.json': one({ [big]: 1 }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    message: /^unknown key "a{30,40}\.\.\.$/,
  },
  {
    name: 'a 1 MB env value',
    files: { 'cluster.config.json': one({ env: { A: big } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/env/A',
    message: /at most 32768 characters long, got 1000000/,
  },
  {
    name: 'a 1 MB env name with "="',
    files: { 'cluster.config.json': one({ env: { [`${big}=`]: '1' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    message: /^invalid name "a{30,40}\.\.\.: environment variable names/,
  },
  {
    name: 'a 1 MB script path',
    files: { 'cluster.config.json': one({ script: big }) },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /the path is too long for the file system: .{0,200}$/,
  },
  {
    name: 'an argument of 40,000 characters (Linux refuses 128 KiB)',
    files: { 'cluster.config.json': one({ args: ['--data', 'x'.repeat(40_000)] }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/args/1',
    message: /at most 32768 characters/,
  },
  {
    // Only a JS config can hold this much: JSON and YAML files stop at 1 MiB.
    name: 'args and env of 2.4 MB together from a JS config, each value within bounds (Linux refuses 2 MiB)',
    files: {
      'cluster.config.mjs': `const big = (c) => c.repeat(30000);
export default { apps: [{ name: 'web', script: 'x.js',
  args: Array.from({ length: 40 }, () => big('a')),
  env: Object.fromEntries(Array.from({ length: 40 }, (_, i) => ['V' + i, big('v')])) }] };
`,
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0',
    message:
      /args, nodeArgs and env take 24\d{5} bytes together; a process can be started with at most 1048576/,
  },

  // NUL characters cannot reach the operating system: refused, not a crash in stat() or fork().
  {
    name: 'a NUL character in the script path',
    files: { 'cluster.config.json': one({ script: 'x.js\u0000.sh' }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/script',
    message: /must not contain NUL characters/,
  },
  {
    name: 'a NUL character in cwd',
    files: { 'cluster.config.json': one({ cwd: 'a\u0000b' }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/cwd',
  },
  {
    name: 'a NUL character in an argument',
    files: { 'cluster.config.json': one({ args: ['a\u0000b'] }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/args/0',
  },
  {
    name: 'a NUL character in a node option',
    files: { 'cluster.config.json': one({}, { defaults: { nodeArgs: ['--title=a\u0000b'] } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/defaults/nodeArgs/0',
  },
  {
    name: 'a NUL character in an env value',
    files: { 'cluster.config.json': one({ env: { A: 'a\u0000b' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/env/A',
  },
];

describe('hostile configs: values', () => {
  it('has distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name', async (c) => {
    await check(c);
  });

  // The schema refuses "__proto__" names before normalization; normalization holds on its own anyway.
  it('keeps a "__proto__" key that got past the schema as plain data', () => {
    const dir = writeFiles(tempDir(), { 'x.js': '' });
    const env = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "c"}');
    const raw = {
      apps: [{ name: 'web', script: 'x.js', env }],
      defaults: { env },
    } as unknown as ClusterdConfig;
    const { config } = normalizeConfig(raw, { file: `${dir}/cluster.config.json`, cpus: () => 1 });
    const resolved = config?.apps[0]?.env as Record<string, unknown>;
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(Object.keys(resolved)).toEqual(['__proto__', 'constructor']);
    expect(resolved.polluted).toBeUndefined();
  });
});
