// Hostile config files, part 1: encodings, sizes, special files, nesting, YAML tricks and cosmiconfig
// keys (part 2, hostile-values: prototype keys, numbers, long strings, huge lists, script paths). Each is
// a real file loaded by the real loader: rejected with a code and a readable one-line message, or
// accepted as plain data (`safe` says what that means). Never a crash, never a hang, never code run from
// JSON or YAML, never a polluted prototype.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type Case, check } from '../helpers/hostile.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const one = (extra: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) =>
  json({ apps: [{ name: 'web', script: 'x.js', ...extra }], ...rest });
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
const MiB = 1024 * 1024;
// A YAML "billion laughs": nine levels of nine aliases, 9^9 strings if expanded.
const laughs = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((n, i) => {
    const prev = 'abcdefghi'[i] as string;
    return `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`;
  }),
  'apps: *i',
].join('\n');

const cases: Case[] = [
  // Deep nesting: no stack overflow, one clear parse error, at the first level too deep.
  {
    name: 'JSON: 100,000 nested arrays',
    files: { 'cluster.config.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    code: ErrorCode.CONFIG_PARSE,
    message: /invalid JSON: collections are nested more than 64 levels deep/,
    maxMs: 3_000,
  },
  {
    name: 'JSON: 100,000 nested objects',
    files: { 'cluster.config.json': `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}` },
    code: ErrorCode.CONFIG_PARSE,
    message: /nested more than 64 levels/,
    maxMs: 3_000,
  },
  {
    name: 'YAML: 100,000 nested flow sequences',
    files: { 'cluster.config.yaml': `apps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` },
    code: ErrorCode.CONFIG_PARSE,
    message: /invalid YAML: collections are nested more than 64 levels deep/,
  },
  {
    name: 'YAML: 100,000 nested block sequences ("- - - ...")',
    files: { 'cluster.config.yml': `apps:\n  ${'- '.repeat(100_000)}x\n` },
    code: ErrorCode.CONFIG_PARSE,
    message: /nested more than 64 levels/,
  },
  {
    name: 'YAML: 500 nested block mappings',
    files: {
      'cluster.config.yaml': Array.from({ length: 500 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    },
    code: ErrorCode.CONFIG_PARSE,
    message: /nested more than 64 levels/,
  },

  // Encodings and odd content.
  {
    name: 'bytes that are not UTF-8 (Latin-1)',
    files: { 'cluster.config.json': bytes('{"apps": [{"name": "caf', [0xe9], '", "script": "x.js"}]}') },
    code: ErrorCode.CONFIG_PARSE,
    message: /not valid UTF-8/,
  },
  {
    name: 'a UTF-8 byte order mark (dropped, the config loads)',
    files: { 'cluster.config.json': bytes([0xef, 0xbb, 0xbf], one()), 'x.js': '' },
    safe: (config) => expect(config.apps.map((a) => a.name)).toEqual(['web']),
  },
  {
    name: 'a NUL byte inside JSON',
    files: { 'cluster.config.json': bytes('{"apps": [\n  {"name": "w', [0], 'b", "script": "x.js"}]}') },
    code: ErrorCode.CONFIG_PARSE,
    message: /NUL character/,
  },
  {
    name: 'a NUL byte after valid JSON (V8 would stop there)',
    files: { 'cluster.config.json': bytes(one(), [0], '{"evil": 1}'), 'x.js': '' },
    code: ErrorCode.CONFIG_PARSE,
    message: /NUL character/,
  },
  {
    name: 'a NUL byte in YAML',
    files: { 'cluster.config.yaml': bytes('apps:\n  - name: web', [0], '\n    script: x.js\n') },
    code: ErrorCode.CONFIG_PARSE,
    message: /NUL character/,
  },
  {
    name: 'a UTF-16 file with a byte order mark',
    files: { 'cluster.config.json': Buffer.from(`\ufeff${one()}`, 'utf16le') },
    code: ErrorCode.CONFIG_PARSE,
    message: /UTF-16/,
  },
  {
    name: 'a UTF-16 file without a byte order mark',
    files: { 'cluster.config.yaml': Buffer.from('apps: []\n', 'utf16le') },
    code: ErrorCode.CONFIG_PARSE,
    message: /NUL character/,
  },
  {
    name: 'an empty YAML file',
    files: { 'cluster.config.yaml': '' },
    code: ErrorCode.CONFIG_PARSE,
    message: /empty/,
  },
  {
    name: 'a whitespace-only YAML file (tabs, CRLF)',
    files: { '.clusterdrc': ' \t\r\n\r\n\t ' },
    code: ErrorCode.CONFIG_PARSE,
    message: /empty/,
  },
  {
    name: 'a JSON null',
    files: { 'cluster.config.json': 'null' },
    code: ErrorCode.CONFIG_TYPE,
    message: /must be an object, got null/,
  },
  {
    name: 'a top-level YAML string',
    files: { 'cluster.config.yaml': '"apps: []"\n' },
    code: ErrorCode.CONFIG_TYPE,
    message: /must be an object, got "apps: \[\]"/,
  },
  {
    name: 'a top-level number',
    files: { 'cluster.config.json': '42' },
    code: ErrorCode.CONFIG_TYPE,
    message: /got 42/,
  },
  {
    name: 'a top-level YAML sequence',
    files: { 'cluster.config.yml': '- name: web\n  script: x.js\n' },
    code: ErrorCode.CONFIG_TYPE,
    message: /must be an object, got an array/,
  },

  // Size and special files: refused before reading, at once.
  {
    name: 'a 10 MB config',
    files: { 'cluster.config.json': `{"apps": [${' '.repeat(10 * MiB)}]}` },
    code: ErrorCode.CONFIG_TOO_LARGE,
    message: /is 10\.0 MiB; config files are limited to 1 MiB/,
    maxMs: 1_000,
  },
  {
    name: 'a config one byte over 1 MiB',
    files: { 'cluster.config.yaml': `apps: []\n#${'x'.repeat(MiB - 10)}\n` },
    code: ErrorCode.CONFIG_TOO_LARGE,
    message: /is 1048577 bytes/,
  },
  {
    name: 'a valid config of exactly 1 MiB (the limit is inclusive)',
    files: { 'cluster.config.json': `${one()}${' '.repeat(MiB - one().length)}`, 'x.js': '' },
    safe: (config) => expect(config.apps).toHaveLength(1),
  },
  {
    name: 'a FIFO as the config (reading would block forever)',
    setup: (dir) => mkfifo(join(dir, 'cluster.config.json')),
    path: 'cluster.config.json',
    code: ErrorCode.CONFIG_LOAD,
    message: /is a FIFO \(named pipe\), not a regular file/,
    maxMs: 2_000,
  },
  {
    name: 'a FIFO found by the directory search',
    setup: (dir) => mkfifo(join(dir, 'cluster.config.yaml')),
    path: '.',
    code: ErrorCode.CONFIG_LOAD,
    message: /FIFO/,
    maxMs: 2_000,
  },
  {
    name: 'a symbolic link to /dev/zero (reading would never end)',
    setup: (dir) => symlinkSync('/dev/zero', join(dir, 'cluster.config.json')),
    path: 'cluster.config.json',
    code: ErrorCode.CONFIG_LOAD,
    message: /is a character device, not a regular file/,
    maxMs: 2_000,
  },
  {
    name: 'a symbolic link loop as the config',
    setup: (dir) => symlinkSync('cluster.config.json', join(dir, 'cluster.config.json')),
    path: 'cluster.config.json',
    code: ErrorCode.CONFIG_LOAD,
    message: /symbolic link loop/,
  },
  {
    name: 'a directory named cluster.config.json is skipped by the search',
    files: { '.clusterdrc.json': one(), 'x.js': '' },
    setup: (dir) => mkdirSync(join(dir, 'cluster.config.json')),
    path: '.',
    safe: (config, dir) => expect(config.file).toBe(join(dir, '.clusterdrc.json')),
  },

  // YAML: plain data only.
  {
    name: 'a YAML alias bomb ("billion laughs")',
    files: { 'cluster.config.yaml': laughs },
    code: ErrorCode.CONFIG_PARSE,
    message: /aliases expand to too much data/,
    maxMs: 3_000,
  },
  {
    name: 'a !!js/function tag',
    files: {
      'cluster.config.yaml':
        "apps:\n  - name: web\n    script: !!js/function \"function () { require('fs').writeFileSync('PWNED', '') }\"\n",
    },
    code: ErrorCode.CONFIG_PARSE,
    message: /unsupported tag !!js\/function/,
    after: (dir) => expect(existsSync(join(dir, 'PWNED'))).toBe(false),
  },
  {
    name: 'a !!python/object tag',
    files: { 'cluster.config.yaml': 'apps:\n  - !!python/object:os.system {name: web, script: x.js}\n' },
    code: ErrorCode.CONFIG_PARSE,
    message: /unsupported tag !!python\/object:os.system/,
  },
  {
    name: 'a !!binary tag',
    files: { 'cluster.config.yaml': 'apps:\n  - name: web\n    script: x.js\n    args: [!!binary aGk=]\n' },
    code: ErrorCode.CONFIG_PARSE,
    message: /unsupported tag !!binary/,
  },
  {
    name: 'a custom local tag (!Ref)',
    files: { 'cluster.config.yaml': 'apps:\n  - name: web\n    script: !Ref Script\n' },
    code: ErrorCode.CONFIG_PARSE,
    message: /unsupported tag !Ref/,
  },
  {
    name: 'a merge key (<<) is an ordinary, unknown key',
    files: {
      'cluster.config.yaml':
        'defaults: &d\n  instances: 2\napps:\n  - <<: *d\n    name: web\n    script: x.js\n',
    },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/apps/0/<<',
  },
  {
    name: 'a %YAML 1.1 directive does not bring back merge keys, "yes" or octal',
    files: {
      'cluster.config.yaml':
        '%YAML 1.1\n---\nbase: &b {instances: 2}\napps:\n  - {<<: *b, name: web, script: x.js, env: {A: yes, B: 017}}\n',
    },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/apps/0/<<',
  },
  {
    name: 'anchors shared across apps are plain copies of data',
    files: {
      'cluster.config.yaml':
        'apps:\n  - {name: a, script: x.js, env: &e {A: "1"}, args: &g [--x]}\n  - {name: b, script: x.js, env: *e, args: *g}\n',
      'x.js': '',
    },
    safe: ({ apps: [a, b] }) => {
      expect([a?.env, a?.args, b?.env, b?.args]).toEqual([{ A: '1' }, ['--x'], { A: '1' }, ['--x']]);
      expect(Object.isFrozen(b?.args)).toBe(true);
    },
  },
  {
    name: 'a collection as a key',
    files: {
      'cluster.config.yaml': 'apps:\n  - name: web\n    script: x.js\n    env:\n      ? [A, B]\n      : x\n',
    },
    code: ErrorCode.CONFIG_PARSE,
    message: /a key must be a plain value/,
  },
  {
    name: 'two YAML documents',
    files: { 'cluster.config.yaml': 'apps: []\n---\napps: [{name: evil, script: x.js}]\n' },
    code: ErrorCode.CONFIG_PARSE,
    message: /more than one YAML document/,
  },
  {
    name: 'JSON keys "a" and "\\u0061", the same key once unescaped',
    files: { 'cluster.config.json': '{"apps": [],\n "a": 1,\n "\\u0061": 2}' },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
    at: [3, 2],
  },
  {
    name: 'a duplicate key after strings full of brackets and escaped quotes',
    files: {
      'cluster.config.json':
        '{"apps": [{"name": "web", "script": "x.js", "args": ["]}\\"{[", "\\\\"],\n  "name": "again"}]}',
    },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
    at: [2, 3],
  },
  {
    name: 'keys 1 and "1" that become the same JS key',
    files: { 'cluster.config.yaml': 'apps:\n  - name: web\n    script: x.js\n    env: {1: a, "1": b}\n' },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
  },

  // cosmiconfig's keys mean nothing here: nothing is imported.
  {
    name: 'a JSON $import of a JS file',
    files: {
      'cluster.config.json': json({ $import: './evil.cjs', apps: [{ name: 'web', script: 'x.js' }] }),
      'evil.cjs': "require('fs').writeFileSync(__dirname + '/PWNED', ''); module.exports = {};",
      'x.js': '',
    },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/$import',
    after: (dir) => expect(existsSync(join(dir, 'PWNED'))).toBe(false),
  },
  {
    name: 'a YAML $import list',
    files: { 'cluster.config.yaml': '$import: [./evil.cjs, /etc/passwd]\napps: []\n', 'evil.cjs': '' },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/$import',
  },
];

describe('hostile configs: files and formats', () => {
  it('has distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name', async (c) => {
    await check(c);
  });
});
