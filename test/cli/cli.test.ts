// The real binary, as a user runs it: output, exit codes, no stack traces for user mistakes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

describe('clusterd validate', () => {
  it('prints the resolved example config and exits 0', async () => {
    const r = await runCli(['validate', 'cluster.config.example.json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cluster.config.example.json is valid');
    expect(r.stdout).toMatch(/app "hello": 4 workers, round-robin balancing/);
    expect(r.stdout).toContain('script    examples/http-app/server.js');
  });

  it('prints JSON for scripts, with env names but never env values', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.yaml': [
        'apps:',
        '  - name: api',
        '    script: server.js',
        '    instances: 2',
        '    env: { DATABASE_PASSWORD: hunter2 }',
        '    environments:',
        '      production: { API_TOKEN: s3cr3t, NODE_ENV: production }',
        '',
      ].join('\n'),
      'server.js': '',
    });
    const r = await runCli(['validate', '--env', 'production', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      valid: true,
      environment: 'production',
      file: join(dir, 'cluster.config.yaml'),
    });
    expect(out.apps[0]).toMatchObject({
      name: 'api',
      instances: 2,
      envKeys: ['API_TOKEN', 'DATABASE_PASSWORD', 'NODE_ENV'],
    });
    expect(r.stdout).not.toMatch(/hunter2|s3cr3t/);
    const human = await runCli(['validate', '--env', 'production'], { cwd: dir });
    expect(human.stdout).toContain('API_TOKEN');
    expect(human.stdout).not.toMatch(/hunter2|s3cr3t/);
  });

  it('lists every problem with file:line:column and exits 78, without a stack trace', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json':
        '{\n  "apps": [\n    { "name": "web", "script": "server.js", "instanses": 2, "restart": { "policy": "on_failure" } }\n  ]\n}\n',
    });
    const r = await runCli(['validate'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(STACK_LINE);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('clusterd: cluster.config.json has 3 problems:');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /^ {2}cluster\.config\.json:3:32 \/apps\/0\/script \(app "web"\): does not exist: .*server\.js.* \[CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND\]$/,
      ),
      expect.stringMatching(
        /^ {2}cluster\.config\.json:3:45 \/apps\/0\/instanses \(app "web"\): unknown key "instanses"; did you mean "instances"\? \[CLUSTERD_ERR_CONFIG_UNKNOWN_KEY\]$/,
      ),
      expect.stringMatching(
        /^ {2}cluster\.config\.json:3:84 \/apps\/0\/restart\/policy .* \[CLUSTERD_ERR_CONFIG_ENUM\]$/,
      ),
    ]);
  });

  it('prints the problems as JSON with --json, still exiting 78', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.json': '{"apps": []}' });
    const r = await runCli(['validate', '--json'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: false,
      errors: [
        {
          code: 'CLUSTERD_ERR_CONFIG_RANGE',
          file: join(dir, 'cluster.config.json'),
          pointer: '/apps',
          message: 'must list at least one app',
          line: 1,
          column: 10,
        },
      ],
    });
  });

  it('says so in one line and exits 66 when there is no config', async () => {
    const dir = tempDir();
    const r = await runCli(['validate'], { cwd: dir });
    expect(r.code).toBe(66);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no config file in this directory.*\[CLUSTERD_ERR_CONFIG_NOT_FOUND\]/);
    const missing = await runCli(['validate', 'nope.json'], { cwd: dir });
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/^clusterd: nope\.json: no such file or directory/);
  });

  it('reports a throwing JS config by its location, not a stack trace', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': 'const x = null;\nexport default x.apps;\n' });
    const r = await runCli(['validate'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      /^clusterd: cluster\.config\.mjs:2:\d+: the config module failed to load: TypeError/,
    );
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('clusterd command line', () => {
  it('prints the schema it validates with', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/cluster.config.schema.json'), 'utf8')),
    );
  });

  it('prints its version', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const r = await runCli([flag]);
      expect([r.code, r.stdout]).toEqual([0, `${pkg.version}\n`]);
    }
  });

  it('prints usage for help, and exits 64 without a command', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: clusterd <command>/);
    const none = await runCli([]);
    expect(none.code).toBe(64);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['validate', '--colour'], /unknown option --colour for validate; validate takes --env NAME, --json/],
    [['validate', 'a.json', 'b.json'], /validate takes one config path, got 2/],
    [['validate', '--env'], /argument missing/],
    [['reload', '--canary', '--no-canary'], /--canary and --no-canary contradict each other/],
    [['restart', '--canary'], /--canary applies to reload, up, not to restart/],
  ])('rejects %j with exit 64 and a hint', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Run "clusterd help" for usage.');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('options per command', () => {
  it('refuses an option the command does not take: exit 64, one message naming its options', async () => {
    const r = await runCli(['status', '--image', 'x', '--replicas', '3', '--force']);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'clusterd: --image applies to export kubernetes, not to status; status takes --config PATH, --json\n' +
        'Run "clusterd help" for usage.\n',
    );
  });

  it('names the closest command to a misspelled one', async () => {
    const r = await runCli(['stauts']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      'clusterd: unknown command "stauts"; did you mean status?\nRun "clusterd help" for usage.\n',
    );
  });
});

// The machine's own Node.js (not the pinned one in node_modules/.bin), when it is too old.
function oldSystemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (dir.includes('node_modules') || !existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return candidate;
  }
  return undefined;
}

const oldNode = oldSystemNode();

describe('on an unsupported Node.js', () => {
  // Needs a Node.js older than 22.12 on PATH; the CI machines ship Node 20, so it runs there.
  it.skipIf(!oldNode)('prints one clear line and exits 1', async () => {
    const r = await runCli(['validate', 'cluster.config.example.json'], { node: oldNode as string });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^clusterd: Node\.js 22\.12 or newer is required, this is v\d+\.\d+\.\d+; .* \[CLUSTERD_ERR_NODE_VERSION\]\n$/,
    );
  });
});
