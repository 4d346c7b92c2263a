// `clusterd import pm2` as a user runs it: the built binary, real files, exit codes, what goes to stdout
// and what to stderr, and configs the rest of clusterd accepts.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

const ECOSYSTEM = `module.exports = {
  apps: [{
    name: 'api',
    script: './server.js',
    instances: 2,
    exec_mode: 'cluster',
    env: { PORT: 3000 },
    env_production: { NODE_ENV: 'production' },
  }],
};
`;

function project(files: Record<string, string> = {}) {
  return writeFiles(tempDir(), { 'ecosystem.config.js': ECOSYSTEM, 'server.js': '', ...files });
}

describe('clusterd import pm2', () => {
  it('writes cluster.config.json beside the ecosystem file, which clusterd validates', async () => {
    const dir = project();
    const r = await runCli(['import', 'pm2', join(dir, 'ecosystem.config.js')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^APP\s+PM2 OPTION\s+VERDICT\s+CLUSTERD\s+NOTE$/m);
    expect(r.stderr).toMatch(/^api\s+env_production\s+mapped\s+environments\.production\s+selected with/m);
    expect(r.stderr).toContain('1 app imported; options: ');
    expect(r.stderr).toContain(`wrote ${join(dir, 'cluster.config.json')}`);
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config).toMatchObject({
      $schema: './node_modules/clusterd/schemas/cluster.config.schema.json',
      apps: [{ name: 'api', script: './server.js', instances: 2, env: { PORT: 3000 } }],
    });
    const valid = await runCli(['validate', '--env', 'production', '--json'], { cwd: dir });
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout).apps[0]).toMatchObject({ name: 'api', instances: 2 });
  });

  it('refuses to overwrite a file without --force, and overwrites it with', async () => {
    const dir = project({ 'cluster.config.json': '{"apps": "mine"}' });
    const refused = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `clusterd: ${join(dir, 'cluster.config.json')} exists; pass --force to overwrite it\n`,
    );
    expect(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).toBe('{"apps": "mine"}');
    const forced = await runCli(['import', 'pm2', 'ecosystem.config.js', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).apps[0].name).toBe('api');
  });

  it('prints the config alone on stdout with -o -, and the table on stderr', async () => {
    const dir = project();
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js', '-o', '-'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).apps[0].name).toBe('api');
    expect(r.stderr).toContain('VERDICT');
    expect(r.stderr).not.toContain('wrote');
    expect(existsSync(join(dir, 'cluster.config.json'))).toBe(false);
    const forced = await runCli(['import', 'pm2', 'ecosystem.config.js', '-o', '-', '--force'], { cwd: dir });
    expect(forced.code).toBe(64);
  });

  it('writes YAML and TS configs that clusterd loads, to -o FILE', async () => {
    const dir = project({ 'deploy/.keep': '' });
    // The TS config imports defineConfig from clusterd, installed as a dependency.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(REPO_ROOT, join(dir, 'node_modules/clusterd'));
    const yaml = await runCli(['import', 'pm2', 'ecosystem.config.js', '--format', 'yaml'], { cwd: dir });
    expect(yaml.code).toBe(0);
    const text = readFileSync(join(dir, 'cluster.config.yaml'), 'utf8');
    expect(text).toMatch(/^# Imported from ecosystem.config.js by clusterd import pm2.\n\$schema: /);
    expect((await runCli(['validate', 'cluster.config.yaml'], { cwd: dir })).code).toBe(0);
    // The format follows the file's extension; relative paths are rebased on the file's directory.
    const ts = await runCli(['import', 'pm2', 'ecosystem.config.js', '-o', 'deploy/cluster.config.ts'], {
      cwd: dir,
    });
    expect(ts.code).toBe(0);
    const source = readFileSync(join(dir, 'deploy/cluster.config.ts'), 'utf8');
    expect(source).toContain("import { defineConfig } from 'clusterd';");
    expect(source).toContain('cwd: "..",');
    const loaded = await runCli(['validate', 'deploy/cluster.config.ts', '--json'], { cwd: dir });
    expect(loaded.stderr).toBe('');
    expect(JSON.parse(loaded.stdout).apps[0].script).toBe(join(dir, 'server.js'));
  });

  it('exits 2 when something was left out, and still writes the config', async () => {
    const dir = project({
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'api', script: 'server.js', increment_var: 'PORT', instanse: 2 },
  { name: 'etl', script: 'etl.py', interpreter: '../venv/bin/python' },
] };
`,
      'etl.py': '',
    });
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(r.code).toBe(2);
    // increment_var without the variable in env: PM2 counts from the shell's value, or from 0.
    expect(r.stderr).toMatch(
      /^api\s+increment_var\s+unsupported\s+-\s+PORT is not set in the app's env: PM2 counts up/m,
    );
    expect(r.stderr).toMatch(
      /^etl\s+interpreter\s+unsupported\s+-\s+its interpreter "\.\.\/venv\/bin\/python" is a relative path that leads out of the project/m,
    );
    // A key PM2 drops too loses nothing.
    expect(r.stderr).toMatch(
      /^api\s+instanse\s+ignored\s+-\s+not a PM2 option \(PM2 drops it too\); did you mean instances\?/m,
    );
    expect(r.stderr).toContain('1 app imported (1 left out: etl)');
    // The last line says what was lost, by app and option.
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'clusterd: not everything was imported, behaviour is lost: app etl left out, api.increment_var (see "unsupported" above)',
    );
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).apps).toHaveLength(1);
  });

  it('imports Python and shell apps as programs that clusterd validates and resolves (issue 29)', async () => {
    const dir = project({
      'ecosystem.config.js': `module.exports = { apps: [
  { name: 'api', script: './server.js', instances: 2, exec_mode: 'cluster' },
  { name: 'etl', script: 'etl.py', interpreter: 'python3', interpreter_args: '-u', args: '--once' },
  { name: 'backup', script: 'backup.sh', cron_restart: '0 3 * * *', autorestart: false },
] };
`,
      'etl.py': 'print(1)\n',
      'backup.sh': 'echo backup\n',
    });
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('3 apps imported; options: ');
    expect(r.stderr).toMatch(
      /^etl\s+script\s+mapped\s+command\s+PM2 runs it with python3: imported as a program/m,
    );
    expect(r.stderr).toMatch(/^backup\s+script\s+mapped\s+command\s+PM2 runs a \.sh file with bash/m);
    expect(r.stderr).not.toMatch(/Node\.js apps only/);
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps.map((a: { command?: string[] }) => a.command)).toEqual([
      undefined,
      ['python3', '-u', 'etl.py', '--once'],
      ['bash', 'backup.sh'],
    ]);
    // The loader finds each program's executable on PATH, as clusterd start will.
    const valid = await runCli(['validate', '--json'], { cwd: dir });
    expect(valid.code, valid.stderr).toBe(0);
    const apps = JSON.parse(valid.stdout).apps as { name: string; program: { file: string } | null }[];
    expect(apps.map((a) => [a.name, a.program === null])).toEqual([
      ['api', true],
      ['etl', false],
      ['backup', false],
    ]);
    expect(apps[1]?.program?.file).toMatch(/\/python3$/);
  });

  it('refuses a file whose only app has an interpreter out of the project, naming the app, without a stack trace', async () => {
    const dir = project({
      'ecosystem.config.js': `module.exports = { apps: [{ name: 'etl', script: 'etl.py', interpreter: '../../venv/bin/python' }] };\n`,
    });
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      /^clusterd: no app of .*ecosystem\.config\.js can run under clusterd:\n {2}etl: its interpreter "\.\.\/\.\.\/venv\/bin\/python" is a relative path that leads out of the project \(.*\), to .*: give the interpreter's absolute path in the ecosystem file/m,
    );
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(join(dir, 'cluster.config.json'))).toBe(false);
  });

  it('imports PM2 log options in full: separate files, times and their format (issue 27)', async () => {
    const dir = project({
      'ecosystem.config.js': `module.exports = { apps: [{
  name: 'api',
  script: 'server.js',
  out_file: './logs/api-out.log',
  error_file: './logs/api-err.log',
  log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
  merge_logs: true,
}] };
`,
    });
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(r.stderr).toContain('0 unsupported');
    expect(r.stderr).not.toMatch(/^\S+\s+\S+\s+unsupported/m);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^api\s+error_file\s+mapped\s+logs\.errorFile\s+stderr$/m);
    expect(r.stderr).toMatch(/^api\s+log_date_format\s+changed\s+logs\.timestamp\s+kept: /m);
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).apps[0].logs).toEqual({
      file: './logs/api-out.log',
      errorFile: './logs/api-err.log',
      timestamp: 'YYYY-MM-DD HH:mm:ss Z',
    });
    const valid = await runCli(['validate'], { cwd: dir });
    expect(valid.code).toBe(0);
  });

  it('exits 2 when this machine cannot run the config yet, saying why', async () => {
    const dir = writeFiles(tempDir(), {
      'ecosystem.json': JSON.stringify({ apps: [{ name: 'api', script: 'dist/server.js' }] }),
    });
    const r = await runCli(['import', 'pm2', 'ecosystem.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('This machine cannot run the config yet:');
    expect(r.stderr).toMatch(
      /\/apps\/0\/script \(app "api"\): does not exist: .*dist\/server\.js.*\[CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND\]/,
    );
    expect(existsSync(join(dir, 'cluster.config.json'))).toBe(true);
  });

  it('reports a syntax error in the ecosystem file with its line, without a stack trace', async () => {
    const dir = project({
      'ecosystem.config.js':
        "module.exports = {\n  apps: [{\n    name: 'api',\n    script: 'server.js',,\n  }]\n};\n",
      'ecosystem.json': '{\n  "apps": [{\n    "name": "api"\n    "script": "server.js"\n  }]\n}\n',
    });
    const js = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(js.code).toBe(78);
    expect(js.stderr).toMatch(
      /^clusterd: ecosystem\.config\.js:4:\d+: the ecosystem file failed to load: SyntaxError: .*\[CLUSTERD_ERR_CONFIG_LOAD\]\n$/,
    );
    expect(js.stderr).not.toMatch(STACK_LINE);
    const json = await runCli(['import', 'pm2', 'ecosystem.json'], { cwd: dir });
    expect(json.code).toBe(78);
    expect(json.stderr).toMatch(
      /^clusterd: ecosystem\.json:4:\d+: not JSON, nor the JavaScript PM2 reads a \.json file as: SyntaxError/,
    );
    expect(json.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(join(dir, 'cluster.config.json'))).toBe(false);
  });

  it('exits with the usual codes for a missing file, no apps and usage mistakes', async () => {
    const dir = project({ 'nothing.json': '[]', 'odd.toml': '' });
    const cases: [string[], number, RegExp][] = [
      [['import', 'pm2', 'missing.json'], 66, /missing\.json: no such file or directory/],
      [['import', 'pm2', 'nothing.json'], 78, /no apps: a PM2 ecosystem file declares/],
      [['import', 'pm2', 'odd.toml'], 78, /"\.toml" is not a type of PM2 ecosystem file/],
      [['import'], 64, /import needs a source: clusterd import pm2 <file>/],
      [['import', 'forever', 'x.json'], 64, /unknown import source "forever"/],
      [['import', 'pm2'], 64, /usage: clusterd import pm2/],
      [
        ['import', 'pm2', 'ecosystem.config.js', '--format', 'toml'],
        64,
        /--format must be one of json, yaml, ts/,
      ],
      [['import', 'pm2', 'ecosystem.config.js', '--env', 'production'], 64, /takes no --env/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });

  it('says in its help that a .js ecosystem file is run', async () => {
    const r = await runCli(['help']);
    expect(r.stdout).toContain('import pm2 <file> [--format json|yaml|ts] [-o FILE|-] [--force]');
    expect(r.stdout).toMatch(/Reading a \.js file runs it, as PM2 does/);
  });

  it('never runs the ecosystem file when it would refuse to write', async () => {
    const dir = project({ 'cluster.config.json': '{}' });
    writeFileSync(
      join(dir, 'ecosystem.config.js'),
      `require('node:fs').writeFileSync('ran', '');\n${ECOSYSTEM}`,
    );
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});
