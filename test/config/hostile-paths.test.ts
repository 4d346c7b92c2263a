// Hostile config values, part 3: huge lists (bounded time, one issue instead of thousands) and script
// paths that are not what they claim. A script outside the project is allowed (monorepos) and resolved
// to its real path; it must be an existing regular file.
import { execFileSync } from 'node:child_process';
import { realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedApp } from '../../src/config/resolved.js';
import { ErrorCode } from '../../src/errors.js';
import { resolveRelease } from '../../src/primary/process/release.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { type Case, check } from '../helpers/hostile.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const one = (extra: Record<string, unknown> = {}) =>
  json({ apps: [{ name: 'web', script: 'x.js', ...extra }] });
const list = (n: number, item: string) => Array(n).fill(item).join(',');

const cases: Case[] = [
  // Huge lists: the one problem that matters, at once; not 200,000 "missing name" lines after minutes.
  {
    name: '100,000 apps in JSON',
    files: { 'cluster.config.json': `{"apps": [${list(100_000, '{}')}]}` },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps',
    message: /^must have at most 256 items, got 100000$/,
    maxMs: 8_000,
  },
  {
    name: '100,000 apps in YAML',
    files: { 'cluster.config.yaml': `apps:\n${'- {}\n'.repeat(100_000)}` },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps',
    message: /got 100000/,
    maxMs: 15_000,
  },
  {
    name: '1,000,000 args in a JSON file (too large to read)',
    files: { 'cluster.config.json': one({ args: Array(1_000_000).fill('x') }) },
    code: ErrorCode.CONFIG_TOO_LARGE,
    maxMs: 2_000,
  },
  {
    name: '1,000,000 args from a JS config',
    files: {
      'cluster.config.mjs':
        "export default { apps: [{ name: 'web', script: 'x.js', args: Array(1_000_000).fill('x') }] };\n",
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/args',
    message: /^must have at most 1024 items, got 1000000$/,
    maxMs: 5_000,
  },
  {
    name: '400,000 numbers as args',
    files: {
      'cluster.config.json': `{"apps": [{"name": "web", "script": "x.js", "args": [${list(400_000, '1')}]}]}`,
    },
    code: ErrorCode.CONFIG_RANGE,
    message: /got 400000/,
    maxMs: 15_000,
  },
  {
    name: '100 environments',
    files: {
      'cluster.config.json': one({
        environments: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`e${i}`, 1])),
      }),
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    pointer: '/apps/0/environments',
    message: /^must have at most 64 keys, got 100$/,
  },
  {
    name: '100,000 distinct keys in one YAML mapping (the parser checked them in quadratic time)',
    files: { 'cluster.config.yaml': Array.from({ length: 100_000 }, (_, i) => `k${i}: 1`).join('\n') },
    code: ErrorCode.CONFIG_UNKNOWN_KEY,
    pointer: '/k99999',
    maxMs: 15_000,
  },
  {
    name: '200,000 duplicate keys',
    files: { 'cluster.config.yaml': 'a: 1\n'.repeat(200_000) },
    code: ErrorCode.CONFIG_DUPLICATE_KEY,
    maxMs: 15_000,
  },
  {
    name: '250,000 YAML documents',
    files: { 'cluster.config.yaml': '---\n'.repeat(250_000) },
    code: ErrorCode.CONFIG_PARSE,
    message: /more than one YAML document/,
    maxMs: 15_000,
  },
  {
    name: '256 apps with 20 problems each, all reported',
    files: {
      'cluster.config.json': json({
        apps: Array.from({ length: 256 }, (_, i) => ({
          name: `app${i}`,
          script: 'x.js',
          instances: 0,
          args: Array(19).fill(1),
        })),
      }),
      'x.js': '',
    },
    code: ErrorCode.CONFIG_TYPE,
    pointer: '/apps/255/args/18',
    maxMs: 8_000,
  },

  // Script paths.
  {
    name: 'a script outside the project (../elsewhere), resolved to its real path',
    files: { 'project/cluster.config.json': one({ script: '../elsewhere/app.js' }), 'elsewhere/app.js': '' },
    safe: ({ apps: [app] }, dir) => expect(app?.script).toBe(join(dir, 'elsewhere/app.js')),
  },
  {
    name: 'a script in another directory, through a symbolic link',
    files: { 'cluster.config.json': one({ script: 'other/real/app.js' }) },
    setup: (dir) => symlinkSync(writeFiles(tempDir(), { 'real/app.js': '' }), join(dir, 'other')),
    path: 'cluster.config.json',
    // Kept as written: each fork resolves it anew (a `current -> releases/N` switch), see primary/process/release.ts.
    safe: ({ apps: [app] }, dir) => {
      expect(app?.script).toBe(join(dir, 'other/real/app.js'));
      expect(resolveRelease(app as ResolvedApp).script).toBe(realpathSync(join(dir, 'other/real/app.js')));
    },
  },
  {
    name: 'a script that is a FIFO',
    files: { 'cluster.config.json': one({ script: 'app.js' }) },
    setup: (dir) => execFileSync('mkfifo', [join(dir, 'app.js')]),
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /is not a file but a FIFO \(named pipe\): .*app\.js$/,
    maxMs: 2_000,
  },
  {
    name: 'a script that is /dev/zero',
    files: { 'cluster.config.json': one({ script: '/dev/zero' }) },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /^is not a file but a character device: \/dev\/zero$/,
  },
  {
    name: 'a script that is a directory outside the project',
    files: { 'project/cluster.config.json': one({ script: '../elsewhere' }), 'elsewhere/index.js': '' },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /is not a file but a directory/,
  },
  {
    name: 'a missing script given by absolute path',
    files: { 'cluster.config.json': one({ script: '/nonexistent/clusterd/app.js' }) },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /^does not exist: \/nonexistent\/clusterd\/app\.js$/,
  },
  {
    name: 'a script that is a dangling symbolic link',
    files: { 'cluster.config.json': one({ script: 'app.js' }) },
    setup: (dir) => symlinkSync(join(dir, 'gone.js'), join(dir, 'app.js')),
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /^does not exist/,
  },
  {
    name: 'a script that is a symbolic link loop',
    files: { 'cluster.config.json': one({ script: 'app.js' }) },
    setup: (dir) => {
      symlinkSync('b.js', join(dir, 'app.js'));
      symlinkSync('app.js', join(dir, 'b.js'));
    },
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
    message: /^is a symbolic link loop \(too many levels of symbolic links\): /,
  },
  {
    name: 'a cwd that is a symbolic link loop',
    files: { 'cluster.config.json': one({ cwd: 'loop' }), 'x.js': '' },
    setup: (dir) => symlinkSync('loop', join(dir, 'loop')),
    code: ErrorCode.CONFIG_CWD_NOT_FOUND,
    message: /symbolic link loop/,
  },
  {
    name: 'a cwd that is a FIFO',
    files: { 'cluster.config.json': one({ cwd: 'pipe' }), 'x.js': '' },
    setup: (dir) => execFileSync('mkfifo', [join(dir, 'pipe')]),
    code: ErrorCode.CONFIG_CWD_NOT_FOUND,
    message: /is not a directory but a FIFO/,
  },
];

describe('hostile configs: lists and paths', () => {
  it('has distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name', async (c) => {
    await check(c);
  });
});
