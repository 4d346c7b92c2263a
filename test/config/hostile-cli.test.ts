// Hostile configs through the real CLI: `clusterd validate` exits 78 with one line per problem on stderr,
// no stack trace, output of bounded size, in bounded time; and no config code runs that should not.
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

interface CliCase {
  name: string;
  files?: Record<string, string | Uint8Array>;
  setup?: (dir: string) => void;
  /** The config path given to `validate` (default: the first file). */
  path?: string;
  code: ErrorCode;
  /** The number of problems the header announces, when more than one. */
  problems?: number;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const one = (extra: Record<string, unknown> = {}) =>
  json({ apps: [{ name: 'web', script: 'x.js', ...extra }] });
const PWNED = "require('fs').writeFileSync(require('path').join(__dirname, 'PWNED'), '');";

const cases: CliCase[] = [
  {
    name: 'a 10 MB config',
    files: { 'cluster.config.json': `{"apps": [${' '.repeat(10 * 1024 * 1024)}]}` },
    code: ErrorCode.CONFIG_TOO_LARGE,
  },
  {
    name: 'a FIFO',
    setup: (dir) => execFileSync('mkfifo', [join(dir, 'cluster.config.yaml')]),
    path: 'cluster.config.yaml',
    code: ErrorCode.CONFIG_LOAD,
  },
  {
    name: 'a symbolic link to /dev/zero',
    setup: (dir) => symlinkSync('/dev/zero', join(dir, 'cluster.config.json')),
    path: 'cluster.config.json',
    code: ErrorCode.CONFIG_LOAD,
  },
  {
    name: 'a symbolic link loop as the config',
    setup: (dir) => symlinkSync('cluster.config.json', join(dir, 'cluster.config.json')),
    path: 'cluster.config.json',
    code: ErrorCode.CONFIG_LOAD,
  },
  {
    name: 'JSON nested 100,000 deep',
    files: { 'cluster.config.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    code: ErrorCode.CONFIG_PARSE,
  },
  {
    name: 'YAML nested 100,000 deep',
    files: { 'cluster.config.yaml': `apps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` },
    code: ErrorCode.CONFIG_PARSE,
  },
  {
    name: '100,000 apps',
    files: { 'cluster.config.json': `{"apps": [${Array(100_000).fill('{}').join(',')}]}` },
    code: ErrorCode.CONFIG_RANGE,
  },
  {
    name: '256 apps with 20 problems each',
    files: {
      'cluster.config.json': json({
        apps: Array.from({ length: 256 }, (_, i) => ({
          name: `a${i}`,
          script: 'x.js',
          instances: 0,
          args: Array(19).fill(1),
        })),
      }),
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    problems: 256 * 20,
  },
  {
    name: 'a 1 MB app name and a 1 MB env value',
    files: {
      'cluster.config.json': one({ name: 'n'.repeat(500_000), env: { A: 'v'.repeat(500_000) } }),
      'x.js': '',
    },
    code: ErrorCode.CONFIG_RANGE,
    problems: 2,
  },
  {
    name: 'a YAML alias bomb',
    files: {
      'cluster.config.yaml': `a: &a [x,x,x,x,x,x,x,x,x]\n${'bcdefgh'
        .split('')
        .map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)
        .join('\n')}\napps: *h\n`,
    },
    code: ErrorCode.CONFIG_PARSE,
  },
  {
    name: 'a !!js/function tag that would write a file',
    files: {
      'cluster.config.yaml': `apps:\n  - name: web\n    script: !!js/function "function () { ${PWNED} }"\n`,
    },
    code: ErrorCode.CONFIG_PARSE,
  },
  {
    name: 'a UTF-16 file',
    files: { 'cluster.config.json': Buffer.from(`\ufeff${one()}`, 'utf16le') },
    code: ErrorCode.CONFIG_PARSE,
  },
  {
    name: 'a script that is a symbolic link loop',
    files: { 'cluster.config.json': one({ script: 'loop.js' }) },
    setup: (dir) => symlinkSync('loop.js', join(dir, 'loop.js')),
    code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
  },
  {
    name: 'a NUL character in the script path and in cwd',
    files: { 'cluster.config.json': one({ script: 'x.js\u0000', cwd: '.\u0000' }), 'x.js': '' },
    code: ErrorCode.CONFIG_FORMAT,
    problems: 2,
  },
];

describe('clusterd validate on hostile configs', () => {
  it.each(cases)('refuses $name: exit 78, one line per problem, no stack trace', async (c) => {
    const dir = writeFiles(tempDir(), c.files ?? {});
    c.setup?.(dir);
    const started = Date.now();
    const r = await runCli(['validate', c.path ?? Object.keys(c.files ?? {})[0] ?? '.'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(Date.now() - started, 'validate time (ms)').toBeLessThan(20_000);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(ExitCode.CONFIG);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`[${c.code}]`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at |Warning/);
    expect(r.stderr.length, 'output size').toBeLessThan(8_000);
    const lines = r.stderr.trimEnd().split('\n');
    if (c.problems) {
      expect(lines[0]).toMatch(new RegExp(`^clusterd: cluster\\.config\\.json has ${c.problems} problems:$`));
      const shown = Math.min(c.problems, 20);
      expect(lines.slice(1, 1 + shown).every((l) => /^ {2}\S.* \[CLUSTERD_ERR_[A-Z_]+\]$/.test(l))).toBe(
        true,
      );
      expect(lines.slice(1 + shown)).toEqual(c.problems > 20 ? [`  ... and ${c.problems - 20} more`] : []);
    } else {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^clusterd: \S+.*: .* \[CLUSTERD_ERR_[A-Z_]+\]$/);
    }
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
  });

  it('lists at most 1000 problems with --json, and counts the rest', async () => {
    const apps = Array.from({ length: 100 }, (_, i) => ({
      name: `a${i}`,
      script: 'x.js',
      args: Array(20).fill(1),
    }));
    const dir = writeFiles(tempDir(), { 'cluster.config.json': json({ apps }), 'x.js': '' });
    const r = await runCli(['validate', '--json'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(ExitCode.CONFIG);
    const out = JSON.parse(r.stdout) as { valid: boolean; errors: unknown[]; omitted: number };
    expect([out.valid, out.errors.length, out.omitted]).toEqual([false, 1000, 1000]);
  });

  it("never runs cosmiconfig's meta config (.config/config.js) or its package.json settings", async () => {
    const dir = writeFiles(tempDir(), {
      '.config/config.cjs': `${PWNED} module.exports = {};`,
      'package.json': json({ name: 'p', cosmiconfig: { searchPlaces: ['evil.cjs'] } }),
      'evil.cjs': `${PWNED} module.exports = { apps: [{ name: 'evil', script: 'x.js' }] };`,
      'cluster.config.json': one(),
      'x.js': '',
    });
    for (const args of [['validate'], ['validate', 'cluster.config.json']]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^cluster\.config\.json is valid\n\napp "web"/);
    }
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    expect(existsSync(join(dir, '.config/PWNED'))).toBe(false);
  });

  it('shows shell metacharacters in args as one quoted argument each', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': one({ args: ['--port', '3000', '; touch PWNED', 'a\nb'] }),
      'x.js': '',
    });
    const r = await runCli(['validate'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  script    x.js --port 3000 "; touch PWNED" "a\\nb"\n');
  });
});
