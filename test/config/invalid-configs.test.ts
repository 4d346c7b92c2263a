// The corpus of invalid configs: each must fail with the exact error code, pointer and position,
// and the printed line must carry "file:line:column".
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/cli/format.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError, type ConfigIssue, ErrorCode } from '../../src/errors.js';
import { tempDir, writeFiles } from '../helpers/files.js';

interface Case {
  name: string;
  /** Files to write; the first is the config unless `config` says otherwise. */
  files: Record<string, string | Uint8Array>;
  config?: string;
  environment?: string;
  code: ErrorCode;
  pointer?: string;
  /** Where the issue must point: "prefix|located" (position of `located` right after `prefix`), or [line, column]; null: no position. */
  at: string | [number, number] | null;
  message?: RegExp;
  hint?: RegExp;
  /** Exact number of issues, when the case is about reporting all of them. */
  count?: number;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const app = (extra: Record<string, unknown> = {}) => ({ name: 'web', script: 'x.js', ...extra });
const one = (extra: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) =>
  json({ apps: [app(extra)], ...rest });

const cases: Case[] = [
  // Syntax
  {
    name: 'JSON with a trailing comma',
    files: { 'cluster.config.json': '{"apps": [],}' },
    code: ErrorCode.CONFIG_PARSE,
    at: [1, 13],
    message: /invalid JSON/,
  },
  {
    name: 'JSON cut short',
    files: { 'cluster.config.json': '{\n  "apps": [' },
    code: ErrorCode.CONFIG_PARSE,
    at: [2, 12],
    message: /end of JSON/,
  },
  {
    name: 'JSON with single quotes',
    files: { 'cluster.config.json': "{\n  'apps': []\n}" },
    code: ErrorCode.CONFIG_PARSE,
    at: [2, 3],
  },
  {
    name: 'JSON with a duplicate key',
    files: { 'cluster.config.json': '{\n  "apps": [],\n  "apps": []\n}' },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
    at: [3, 3],
  },
  {
    name: 'YAML with a broken indentation',
    files: { 'cluster.config.yaml': 'apps:\n  - name: web\n    script: x.js\n   instances: 2\n' },
    code: ErrorCode.CONFIG_PARSE,
    at: [4, 1],
    message: /invalid YAML/,
  },
  {
    name: 'YAML indented with a tab',
    files: { 'cluster.config.yaml': 'apps:\n  - name: web\n\tscript: x.js\n' },
    code: ErrorCode.CONFIG_PARSE,
    at: [3, 1],
    message: /Tabs/,
  },
  {
    name: 'YAML with an unclosed flow sequence',
    files: { '.clusterdrc.yml': 'apps: [\n  {name: web, script: x.js}\n' },
    code: ErrorCode.CONFIG_PARSE,
    at: [3, 1],
  },
  {
    name: 'YAML with a duplicate key',
    files: { 'cluster.config.yml': 'apps:\n  - name: web\n    script: x.js\n    name: again\n' },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
    at: [4, 5],
  },
  {
    name: 'an empty file',
    files: { 'cluster.config.json': '  \n' },
    code: ErrorCode.CONFIG_PARSE,
    at: null,
    message: /empty/,
  },
  {
    name: 'a file that is not UTF-8',
    files: { 'cluster.config.json': new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
    code: ErrorCode.CONFIG_PARSE,
    at: null,
    message: /UTF-8/,
  },
  {
    name: 'an unsupported file type',
    files: { 'cluster.toml': 'apps = []' },
    code: ErrorCode.CONFIG_LOAD,
    at: null,
    message: /unsupported config file type ".toml"/,
  },
  {
    name: 'a JS config that throws',
    files: { 'cluster.config.mjs': 'export default {\n  apps: [],\n  x: missing.value,\n};\n' },
    code: ErrorCode.CONFIG_LOAD,
    at: [3, 6],
    message: /ReferenceError: missing is not defined/,
  },
  {
    name: 'a JS config without a default export',
    files: { 'cluster.config.js': 'export const apps = [];\n' },
    code: ErrorCode.CONFIG_LOAD,
    at: null,
    message: /no default export/,
  },
  {
    name: 'a TS config with a syntax error',
    files: { 'cluster.config.ts': 'const n: number = ;\nexport default { apps: [] };\n' },
    code: ErrorCode.CONFIG_LOAD,
    at: [1, 18],
  },
  {
    name: 'a package.json without a clusterd key, named explicitly',
    files: { 'package.json': json({ name: 'x' }) },
    code: ErrorCode.CONFIG_NOT_FOUND,
    at: null,
    message: /has no "clusterd" key/,
  },
  {
    name: 'a directory without any config',
    files: { 'README.md': 'nothing here' },
    config: '.',
    code: ErrorCode.CONFIG_NOT_FOUND,
    at: null,
    message: /no config file/,
  },
  {
    name: 'a path that does not exist',
    files: { 'x.js': '' },
    config: 'missing.json',
    code: ErrorCode.CONFIG_NOT_FOUND,
    at: null,
  },

  // Shape of the document
  {
    name: 'a top-level array',
    files: { 'cluster.config.json': '[]' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '',
    at: [1, 1],
    message: /must be an object, got an array/,
  },
  {
    name: 'no apps key',
    files: { 'cluster.config.json': json({ defaults: {} }) },
    code: ErrorCode.CONFIG_MISSING_KEY,
    pointer: '',
    at: [1, 1],
    message: /missing required key "apps"/,
  },
  {
    name: 'an empty apps list',
    files: { 'cluster.config.json': json({ apps: [] }) },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps',
    at: '"apps": |[]',
    message: /at least one app/,
  },
  {
    name: 'instanceVar naming a variable Node.js or clusterd gives a meaning',
    files: { 'cluster.config.json': one({ instanceVar: 'NODE_OPTIONS' }) },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/instanceVar',
    at: '"instanceVar": |"NODE_OPTIONS"',
    message: /"NODE_OPTIONS" is a variable clusterd or Node\.js gives a meaning to/,
    hint: /INSTANCE_ID/,
  },
  {
    name: 'apps as an object',
    files: { 'cluster.config.json': json({ apps: { web: {} } }) },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps',
    at: '"apps": |{',
    message: /must be an array, got an object/,
  },
  {
    name: 'a misspelled top-level key',
    files: { 'cluster.config.json': json({ apps: [app()], default: {} }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/default',
    at: '|"default"',
    hint: /did you mean "defaults"\?/,
  },
  {
    name: 'a misspelled app key',
    files: { 'cluster.config.json': one({ instanses: 2 }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/apps/0/instanses',
    at: '|"instanses"',
    hint: /did you mean "instances"\?/,
  },
  {
    name: 'a cosmiconfig $import key',
    files: { 'cluster.config.json': json({ $import: '/etc/passwd', apps: [app()] }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/$import',
    at: '|"$import"',
  },
  {
    name: 'a __proto__ key',
    files: {
      'cluster.config.json':
        '{\n  "apps": [{ "name": "web", "script": "x.js" }],\n  "__proto__": { "polluted": true }\n}\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/__proto__',
    at: [3, 3],
  },
  {
    name: 'an app key in defaults',
    files: { 'cluster.config.json': one({}, { defaults: { script: 'x.js' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/defaults/script',
    at: '"defaults": {\n    |"script"',
  },

  // Names and paths
  {
    name: 'an app without a name',
    files: { 'cluster.config.json': json({ apps: [{ script: 'x.js' }] }), 'x.js': '' },
    code: ErrorCode.CONFIG_MISSING_KEY,
    pointer: '/apps/0',
    at: '"apps": [\n    |{',
    message: /missing required key "name"/,
  },
  {
    name: 'a name with a space',
    files: { 'cluster.config.json': one({ name: 'my app' }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/name',
    at: '"name": |"my app"',
    message: /only letters, digits/,
  },
  {
    name: 'a name that is too long',
    files: { 'cluster.config.json': one({ name: 'a'.repeat(65) }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/name',
    at: '"name": |"aaa',
    message: /at most 64 characters/,
  },
  {
    name: 'two apps with the same name',
    files: { 'cluster.config.json': json({ apps: [app(), app({ name: 'WEB' })] }), 'x.js': '' },
    code: ErrorCode.CONFIG_DUPLICATE_APP,
    pointer: '/apps/1/name',
    at: '"name": |"WEB"',
    message: /already used by apps\[0\]/,
  },
  {
    name: 'a script that does not exist',
    files: { 'cluster.config.json': one({ script: 'server.js' }) },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    pointer: '/apps/0/script',
    at: '"script": |"server.js"',
    message: /does not exist: .*server\.js/,
  },
  {
    name: 'a script that is a directory',
    files: { 'cluster.config.json': one({ script: 'src' }), 'src/index.js': '' },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    pointer: '/apps/0/script',
    at: '"script": |"src"',
    message: /is not a file/,
  },
  {
    name: 'an empty script',
    files: { 'cluster.config.json': one({ script: '' }) },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/script',
    at: '"script": |""',
    message: /must not be empty/,
  },
  {
    name: 'a cwd that does not exist',
    files: { 'cluster.config.json': one({ cwd: 'services/api' }), 'x.js': '' },
    code: ErrorCode.CONFIG_CWD_NOT_FOUND,
    pointer: '/apps/0/cwd',
    at: '"cwd": |"services/api"',
  },
  {
    name: 'a script missing relative to its cwd',
    files: { 'cluster.config.json': one({ cwd: 'api' }), 'x.js': '', 'api/other.js': '' },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    pointer: '/apps/0/script',
    at: '"script": |"x.js"',
    hint: /relative to the app's cwd/,
  },

  // Values
  {
    name: 'zero instances',
    files: { 'cluster.config.json': one({ instances: 0 }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/instances',
    at: '"instances": |0',
    message: /must be >= 1, got 0/,
  },
  {
    name: 'too many instances',
    files: { 'cluster.config.json': one({ instances: 5000 }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/instances',
    at: '"instances": |5000',
    message: /<= 1024/,
  },
  {
    name: 'fractional instances',
    files: { 'cluster.config.json': one({ instances: 2.5 }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/instances',
    at: '"instances": |2.5',
    message: /a positive integer or "max", got 2.5/,
  },
  {
    name: 'a misspelled "max"',
    files: { 'cluster.config.json': one({ instances: 'maxx' }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/instances',
    at: '"instances": |"maxx"',
    hint: /did you mean "max"/,
  },
  {
    name: 'a quoted number of instances',
    files: { 'cluster.config.json': one({ instances: '4' }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/instances',
    at: '"instances": |"4"',
    hint: /without quotes/,
  },
  {
    name: 'args as a string',
    files: { 'cluster.config.json': one({ args: '--port 3000' }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/args',
    at: '"args": |"--port',
    message: /must be an array/,
  },
  {
    name: 'a number among the args',
    files: { 'cluster.config.json': one({ args: ['--port', 3000] }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/args/1',
    at: '"--port",\n        |3000',
    message: /must be a string, got 3000/,
  },
  {
    name: 'an env value that is an object',
    files: { 'cluster.config.json': one({ env: { DB: { host: 'x' } } }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/env/DB',
    at: '"DB": |{',
    message: /string, a number, a boolean or null/,
  },
  {
    name: 'an env name with "="',
    files: { 'cluster.config.json': one({ env: { 'A=B': '1' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/env/A=B',
    at: '|"A=B"',
    message: /must not contain "="/,
  },
  {
    name: 'a bad environment name',
    files: { 'cluster.config.json': one({ environments: { 'pro duction': {} } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/environments/pro duction',
    at: '|"pro duction"',
  },
  {
    name: 'a misspelled restart policy',
    files: { 'cluster.config.json': one({ restart: { policy: 'on_failure' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/restart/policy',
    at: '"policy": |"on_failure"',
    hint: /did you mean "on-failure"/,
  },
  {
    name: 'a backoff factor below 1',
    files: { 'cluster.config.json': one({ restart: { backoff: { factor: 0.5 } } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/restart/backoff/factor',
    at: '"factor": |0.5',
    message: />= 1/,
  },
  {
    name: 'a duration in words',
    files: { 'cluster.config.json': one({ restart: { backoff: { initial: '5 seconds' } } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/restart/backoff/initial',
    at: '"initial": |"5 seconds"',
    message: /duration like "500ms"/,
  },
  {
    name: 'a negative duration',
    files: { 'cluster.config.json': one({ readyTimeout: -5 }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/readyTimeout',
    at: '"readyTimeout": |-5',
    message: />= 0/,
  },
  {
    name: 'a boolean as a duration',
    files: { 'cluster.config.json': one({ shutdown: { timeout: true } }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/shutdown/timeout',
    at: '"timeout": |true',
    message: /must be a duration/,
  },
  {
    name: 'a backoff that starts above its cap',
    files: {
      'cluster.config.json': one({ restart: { backoff: { initial: '20s', max: '10s' } } }),
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/restart/backoff/initial',
    at: '"initial": |"20s"',
    message: /must not exceed restart.backoff.max \(20s > 10s\)/,
  },
  {
    // Removed by the crash-loop limit of failed starts in a row: a config that still sets it must not
    // start with a limit that means something else than its author wrote.
    name: 'the removed restart.window',
    files: { 'cluster.config.json': one({ restart: { maxRestarts: 5, window: '1m' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_REMOVED_KEY,
    pointer: '/apps/0/restart/window',
    at: '|"window"',
    message:
      /^restart\.window was removed: restart\.maxRestarts now counts failed starts in a row, however long they take$/,
    hint: /^remove "window"; see docs\/reliability\.md \("What counts as a crash loop"\)$/,
  },
  {
    name: 'the removed restart.window in defaults',
    files: { 'cluster.config.json': one({}, { defaults: { restart: { window: 60_000 } } }), 'x.js': '' },
    code: ErrorCode.CONFIG_REMOVED_KEY,
    pointer: '/defaults/restart/window',
    at: '|"window"',
  },
  {
    name: 'a key named like a removed one elsewhere is only unknown',
    files: { 'cluster.config.json': one({ shutdown: { window: '1m' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/apps/0/shutdown/window',
    at: '|"window"',
    message: /^unknown key "window"$/,
  },
  {
    name: 'a zero readyTimeout inherited from defaults',
    files: { 'cluster.config.json': one({}, { defaults: { readyTimeout: '0ms' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/defaults/readyTimeout',
    at: '"readyTimeout": |"0ms"',
    message: /greater than 0/,
  },
  {
    name: 'a duration longer than a timer can wait',
    files: { 'cluster.config.json': one({ shutdown: { timeout: '999h' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/shutdown/timeout',
    at: '"timeout": |"999h"',
    message: /at most 2147483647 ms/,
  },
  {
    name: 'a repeated exit code',
    files: { 'cluster.config.json': one({ restart: { noRestartExitCodes: [2, 2] } }), 'x.js': '' },
    code: ErrorCode.CONFIG_DUPLICATE_ITEM,
    pointer: '/apps/0/restart/noRestartExitCodes',
    at: '"noRestartExitCodes": |[',
    message: /items 0 and 1 are equal/,
  },
  {
    name: 'an exit code above 255',
    files: { 'cluster.config.json': one({ restart: { noRestartExitCodes: [256] } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/restart/noRestartExitCodes/0',
    at: '|256',
    message: /<= 255/,
  },
  {
    name: 'an unknown readiness mode',
    files: { 'cluster.config.json': one({ readiness: 'ready' }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/readiness',
    at: '"readiness": |"ready"',
    message: /"listening", "message", "loaded" or "port"/,
  },
  {
    name: 'a command written as one string',
    files: { 'cluster.config.json': json({ apps: [{ name: 'ml', command: 'python3 -u serve.py' }] }) },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/command',
    at: '"command": |"python3',
    message: /must be an array/,
    hint: /one string each \(no shell splits it\): \["python3","-u","serve.py"\]/,
    count: 1,
  },
  {
    name: 'a command line with quotes written as one string: no guess at its arguments',
    files: { 'cluster.config.json': json({ apps: [{ name: 'ml', command: "python3 -c 'print(1)'" }] }) },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/command',
    at: '"command": |"python3',
    message: /must be an array, got "python3 -c 'print\(1\)'"$/,
    count: 1,
  },
  {
    name: 'a readiness probe with a URL of another scheme (only its own branch is reported)',
    files: {
      'cluster.config.json': json({
        apps: [{ name: 'ml', command: ['sh'], readiness: { http: 'ftp://host/' } }],
      }),
    },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/readiness/http',
    at: '"http": |"ftp',
    count: 1,
  },
  {
    name: 'SIGKILL as the stop signal',
    files: { 'cluster.config.json': one({ shutdown: { signal: 'SIGKILL' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/shutdown/signal',
    at: '"signal": |"SIGKILL"',
  },
  {
    name: 'watch as a number',
    files: { 'cluster.config.json': one({ watch: 1 }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/watch',
    at: '"watch": |1',
    message: /true, false or a watch object, got 1/,
  },
  {
    name: 'a misspelled watch key',
    files: { 'cluster.config.json': one({ watch: { pathz: ['src'] } }), 'x.js': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/apps/0/watch/pathz',
    at: '|"pathz"',
    hint: /did you mean "paths"/,
  },
  {
    name: 'an empty watch path list',
    files: { 'cluster.config.json': one({ watch: { paths: [] } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/watch/paths',
    at: '"paths": |[]',
    message: /at least 1 item/,
  },
  {
    name: 'zero reloads in parallel',
    files: { 'cluster.config.json': one({ reload: { parallel: 0 } }), 'x.js': '' },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/reload/parallel',
    at: '"parallel": |0',
  },
  {
    name: 'a reload order that does not exist',
    files: { 'cluster.config.json': one({ reload: { order: 'stop-then-start' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/reload/order',
    at: '"order": |"stop-then-start"',
  },
  {
    name: 'a misspelled balancing',
    files: { 'cluster.config.json': one({ balancing: 'kernal' }), 'x.js': '' },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/balancing',
    at: '"balancing": |"kernal"',
    hint: /did you mean "kernel"/,
  },
  {
    name: 'a size with a space',
    files: { 'cluster.config.json': one({ logs: { maxSize: '10 MB' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/logs/maxSize',
    at: '"maxSize": |"10 MB"',
    message: /size like "512KB"/,
  },
  {
    name: 'a log file that is a number',
    files: { 'cluster.config.json': one({ logs: { file: 1 } }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/logs/file',
    at: '"file": |1',
    message: /a string or null/,
  },
  {
    name: 'a log timestamp format with a newline',
    files: { 'cluster.config.json': one({ logs: { timestamp: 'YYYY\nMM' } }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    pointer: '/apps/0/logs/timestamp',
    at: '"timestamp": |"YYYY',
    message: /format on one line, without control characters/,
  },
  {
    name: 'a log timestamp that is a number',
    files: { 'cluster.config.json': one({ logs: { timestamp: 1 } }), 'x.js': '' },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/0/logs/timestamp',
    at: '"timestamp": |1',
    message: /a boolean or a string/,
  },
  {
    name: 'an unknown --env',
    files: { 'cluster.config.json': one({ environments: { production: {} } }), 'x.js': '' },
    environment: 'prodution',
    code: ErrorCode.CONFIG_UNKNOWN_ENVIRONMENT,
    at: null,
    hint: /did you mean "production"/,
  },

  // Other formats locate problems too
  {
    name: 'a YAML type error',
    files: {
      'cluster.config.yaml': 'apps:\n  - name: web\n    script: x.js\n    instances: many\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_ENUM,
    pointer: '/apps/0/instances',
    at: [4, 16],
  },
  {
    name: 'a problem inside package.json#clusterd',
    files: {
      'package.json': json({ name: 'svc', clusterd: { apps: [app({ instances: -1 })] } }),
      'x.js': '',
    },
    config: '.',
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/clusterd/apps/0/instances',
    at: '"instances": |-1',
  },
  {
    name: 'a TS config, located by pointer only',
    files: {
      'cluster.config.ts': 'export default { apps: [{ name: "web", script: "x.js", instances: 0 }] };\n',
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/instances',
    at: null,
  },
];

function expectedPosition(c: Case, text: string): [number, number] | null {
  if (c.at === null || Array.isArray(c.at)) return c.at;
  const [prefix = '', located = ''] = c.at.split('|');
  const index = text.indexOf(prefix + located);
  if (index < 0) throw new Error(`marker ${JSON.stringify(c.at)} not in the config`);
  const before = text.slice(0, index + prefix.length).split('\n');
  return [before.length, (before.at(-1)?.length ?? 0) + 1];
}

async function issuesOf(c: Case, dir: string): Promise<readonly ConfigIssue[]> {
  const path = c.config ?? Object.keys(c.files)[0];
  const error = await loadConfig({
    cwd: dir,
    environment: c.environment ?? null,
    ...(path ? { path } : {}),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the config must be rejected').toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

describe('invalid configs', () => {
  it('has a corpus of at least 30 distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('rejects $name', async (c) => {
    const dir = writeFiles(tempDir(), c.files);
    const issues = await issuesOf(c, dir);
    const issue = issues.find(
      (i) => i.code === c.code && (c.pointer === undefined || i.pointer === c.pointer),
    );
    expect(issue, `expected ${c.code} at ${c.pointer}, got ${JSON.stringify(issues)}`).toBeDefined();
    if (!issue) return;
    const configFile = c.config && c.config !== '.' ? c.config : (Object.keys(c.files)[0] ?? '');
    const text = typeof c.files[configFile] === 'string' ? (c.files[configFile] as string) : '';
    const position = expectedPosition(c, text);
    expect(issue.line === undefined ? null : [issue.line, issue.column]).toEqual(position);
    if (c.message) expect(issue.message).toMatch(c.message);
    if (c.hint) expect(issue.hint).toMatch(c.hint);
    const printed = formatIssue(issue);
    expect(printed).toContain(`[${c.code}]`);
    if (position) expect(printed).toContain(`:${position[0]}:${position[1]}`);
    if (c.pointer) expect(printed).toContain(` ${c.pointer}`);
  });

  it('reports every problem at once, in document order', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': json({
        apps: [app({ instanses: 2, script: 'missing.js' }), app({ restart: { policy: 'sometimes' } })],
        defaults: { balancing: 'random' },
      }),
    });
    const issues = await issuesOf(
      { name: 'all', files: {}, config: 'cluster.config.json', code: ErrorCode.CONFIG_TYPE, at: null },
      dir,
    );
    expect(issues.map((i) => i.code)).toEqual([
      ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
      ErrorCode.CONFIG_UNKNOWN_KEY,
      ErrorCode.CONFIG_DUPLICATE_APP,
      ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
      ErrorCode.CONFIG_ENUM,
      ErrorCode.CONFIG_ENUM,
    ]);
    expect(issues.map((i) => i.line)).toEqual([...issues.map((i) => i.line)].sort((a = 0, b = 0) => a - b));
  });
});
