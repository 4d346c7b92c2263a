// Discovery and every supported format, with real files in a temp directory; JS and TS config modules
// in the child processes that load them.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { loadConfigFile } from '../../src/config/load.js';
import { MODULE_LOAD_TIMEOUT_MS } from '../../src/config/load-module.js';
import { ConfigError } from '../../src/errors.js';
import { BIN, runCli } from '../helpers/cli.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { isAlive, until } from '../helpers/processes.js';

const APP = { name: 'web', script: 'server.js', instances: 2 };
const JSON_CONFIG = JSON.stringify({ apps: [APP] });
const YAML_CONFIG = 'apps:\n  - name: web\n    script: server.js\n    instances: 2\n';
const ESM_CONFIG = `export default ${JSON_CONFIG};\n`;

describe('config discovery', () => {
  it.each([
    ['cluster.config.json', JSON_CONFIG],
    ['cluster.config.yaml', YAML_CONFIG],
    ['cluster.config.yml', YAML_CONFIG],
    ['cluster.config.js', ESM_CONFIG],
    ['cluster.config.mjs', ESM_CONFIG],
    ['cluster.config.cjs', `module.exports = ${JSON_CONFIG};\n`],
    ['cluster.config.ts', `const config: { apps: object[] } = ${JSON_CONFIG};\nexport default config;\n`],
    ['.clusterdrc', YAML_CONFIG],
    ['.clusterdrc.json', JSON_CONFIG],
    ['.clusterdrc.yaml', YAML_CONFIG],
    ['package.json', JSON.stringify({ name: 'svc', type: 'module', clusterd: { apps: [APP] } })],
  ])('finds %s in the working directory', async (name, content) => {
    const dir = writeFiles(tempDir(), { [name]: content, 'server.js': '' });
    const config = await loadConfig({ cwd: dir });
    expect(config.file).toBe(join(dir, name));
    expect(config.apps.map((a) => [a.name, a.instances, a.script])).toEqual([
      ['web', 2, join(dir, 'server.js')],
    ]);
  });

  it('prefers cluster.config.* over .clusterdrc and package.json', async () => {
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({ clusterd: { apps: [{ ...APP, name: 'from-package' }] } }),
      '.clusterdrc.json': JSON.stringify({ apps: [{ ...APP, name: 'from-rc' }] }),
      'cluster.config.yaml': YAML_CONFIG,
      'server.js': '',
    });
    expect((await loadConfig({ cwd: dir })).apps[0]?.name).toBe('web');
  });

  it('skips a package.json without a clusterd key and says nothing was found', async () => {
    const dir = writeFiles(tempDir(), { 'package.json': '{"name":"x"}' });
    await expect(loadConfig({ cwd: dir })).rejects.toMatchObject({
      code: 'CLUSTERD_ERR_CONFIG_NOT_FOUND',
      exitCode: 66,
    });
  });

  it('does not look in parent directories', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON_CONFIG,
      'server.js': '',
      'sub/readme.txt': '',
    });
    await expect(loadConfig({ cwd: join(dir, 'sub') })).rejects.toMatchObject({
      code: 'CLUSTERD_ERR_CONFIG_NOT_FOUND',
    });
  });

  it('loads an explicit file of any name, and searches an explicit directory', async () => {
    const dir = writeFiles(tempDir(), {
      'deploy/prod.yaml': 'apps:\n  - name: api\n    script: ../server.js\n',
      'project/cluster.config.json': JSON.stringify({ apps: [{ name: 'web', script: 'app.js' }] }),
      'project/app.js': '',
      'server.js': '',
    });
    const explicit = await loadConfig({ cwd: dir, path: 'deploy/prod.yaml' });
    expect(explicit.apps[0]?.script).toBe(join(dir, 'server.js'));
    const searched = await loadConfig({ cwd: dir, path: 'project' });
    expect(searched.file).toBe(join(dir, 'project/cluster.config.json'));
  });

  it('loads a typed TS config that imports defineConfig from clusterd, without a build step', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.ts': [
        "import { defineConfig, type ClusterdConfig } from 'clusterd';",
        'interface Port { value: number }',
        'const port: Port = { value: 4000 };',
        "const config: ClusterdConfig = defineConfig({ apps: [{ name: 'web', script: 'server.js', env: { PORT: port.value } }] });",
        'export default config;',
        '',
      ].join('\n'),
      'server.js': '',
    });
    symlinkSync(REPO_ROOT, join(writeFiles(dir, { 'node_modules/.keep': '' }), 'node_modules', 'clusterd'));
    const config = await loadConfig({ cwd: dir });
    expect(config.apps[0]?.env).toEqual({ PORT: '4000' });
  });

  it('reads a changed JS config anew on the next load', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': ESM_CONFIG, 'server.js': '' });
    expect((await loadConfig({ cwd: dir })).apps[0]?.instances).toBe(2);
    const later = new Date(Date.now() + 5_000);
    writeFiles(dir, { 'cluster.config.mjs': ESM_CONFIG.replace('"instances":2', '"instances":3') });
    const { utimesSync } = await import('node:fs');
    utimesSync(join(dir, 'cluster.config.mjs'), later, later);
    expect((await loadConfig({ cwd: dir })).apps[0]?.instances).toBe(3);
  });

  it('never runs code from a YAML config', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.yaml':
        'apps:\n  - name: web\n    script: !!js/function "function () { process.exit(9) }"\n',
    });
    await expect(loadConfig({ cwd: dir })).rejects.toMatchObject({ exitCode: 78 });
  });
});

// The first issue of the ConfigError a load rejects with.
async function refusal(load: Promise<unknown>) {
  const error = await load.then(
    () => expect.unreachable('the config was accepted'),
    (e: unknown) => e,
  );
  expect(error, String((error as Error)?.stack)).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues[0];
}

// A module that writes the pid of the process running it, so a test can check that process is gone.
const PID =
  "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./pid', import.meta.url), String(process.pid));\n";
const pidIn = (dir: string) => Number(readFileSync(join(dir, 'pid'), 'utf8'));

const apps = (instances: number) => `[{ name: 'web', script: 'server.js', instances: ${instances} }]`;

interface EditCase {
  name: string;
  config: string;
  files: Record<string, string>;
  /** The imported file and its content for a number of instances. */
  sibling: [string, (instances: number) => string];
}

describe('JS and TS config modules', () => {
  afterEach(() => {
    delete process.env.CLUSTERD_TEST_PORT;
  });

  it.each<EditCase>([
    {
      name: 'an .mjs config importing an .mjs file',
      config: 'cluster.config.mjs',
      files: { 'cluster.config.mjs': "import { apps } from './apps.mjs';\nexport default { apps };\n" },
      sibling: ['apps.mjs', (n: number) => `export const apps = ${apps(n)};\n`],
    },
    {
      name: 'a .cjs config requiring a .cjs file',
      config: 'cluster.config.cjs',
      files: { 'cluster.config.cjs': "module.exports = { apps: require('./apps.cjs') };\n" },
      sibling: ['apps.cjs', (n: number) => `module.exports = ${apps(n)};\n`],
    },
    {
      name: 'a .js config in a "type": "module" package importing a .js file',
      config: 'cluster.config.js',
      files: {
        'package.json': '{ "type": "module" }',
        'cluster.config.js': "import { apps } from './apps.js';\nexport default { apps };\n",
      },
      sibling: ['apps.js', (n: number) => `export const apps = ${apps(n)};\n`],
    },
    {
      name: 'a .ts config importing a .ts file',
      config: 'cluster.config.ts',
      files: {
        'cluster.config.ts':
          "import { apps } from './apps';\nconst config: { apps: object[] } = { apps };\nexport default config;\n",
      },
      sibling: [
        'apps.ts',
        (n: number) =>
          `const instances: number = ${n};\nexport const apps = [{ name: 'web', script: 'server.js', instances }];\n`,
      ],
    },
  ])('sees an edited import on the next load: $name', async ({ config, files, sibling }) => {
    const [name, content] = sibling;
    const dir = writeFiles(tempDir(), { ...files, [name]: content(2), 'server.js': '' });
    expect((await loadConfig({ cwd: dir, path: config })).apps[0]?.instances).toBe(2);
    // Same size, same second: nothing but the content tells the two versions apart.
    writeFiles(dir, { [name]: content(3) });
    expect((await loadConfig({ cwd: dir, path: config })).apps[0]?.instances).toBe(3);
    writeFiles(dir, { [name]: content(4) });
    expect((await loadConfig({ cwd: dir, path: config })).apps[0]?.instances).toBe(4);
  });

  it("runs with the caller's environment and working directory, and keeps its side effects to itself", async () => {
    process.env.CLUSTERD_TEST_PORT = '4100';
    const dir = writeFiles(tempDir(), {
      'cluster.config.mjs': [
        'globalThis.clusterdProbe = 1;',
        "process.env.CLUSTERD_PROBE = 'set by the config';",
        'setInterval(() => {}, 1_000);',
        "export default { apps: [{ name: 'web', script: 'server.js',",
        '  env: { PORT: process.env.CLUSTERD_TEST_PORT, CWD: process.cwd() } }] };',
        '',
      ].join('\n'),
      'server.js': '',
    });
    const config = await loadConfig({ cwd: dir });
    expect(config.apps[0]?.env).toEqual({ PORT: '4100', CWD: process.cwd() });
    expect((globalThis as Record<string, unknown>).clusterdProbe).toBeUndefined();
    expect(process.env.CLUSTERD_PROBE).toBeUndefined();
  });

  it.each([
    [
      'a function',
      "{ apps: [{ name: 'web', script: 'server.js', env: { PORT: () => 3000 } }] }",
      '/apps/0/env/PORT',
    ],
    ['a symbol', "{ apps: [{ name: Symbol('web'), script: 'server.js' }] }", '/apps/0/name'],
    [
      'a promise',
      "{ apps: [{ name: 'web', script: 'server.js', instances: Promise.resolve(2) }] }",
      '/apps/0/instances',
    ],
    ['a function', '() => ({ apps: [] })', ''],
  ])('refuses %s in the default export, by its pointer', async (what, value, pointer) => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.mjs': `export default ${value};\n`,
      'server.js': '',
    });
    const issue = await refusal(loadConfig({ cwd: dir }));
    expect(issue).toMatchObject({ code: 'CLUSTERD_ERR_CONFIG_LOAD', pointer });
    expect(issue?.message).toBe(`the config's default export is not plain data: ${what}`);
  });

  it('refuses a module awaiting a promise nothing settles, without waiting for the bound', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': `${PID}await new Promise(() => {});\n` });
    const started = performance.now();
    const issue = await refusal(loadConfig({ cwd: dir }));
    expect(issue?.message).toMatch(/never finished loading: it awaits a promise that nothing settles/);
    expect(performance.now() - started).toBeLessThan(MODULE_LOAD_TIMEOUT_MS);
    expect(isAlive(pidIn(dir))).toBe(false);
  });

  it.each([
    ['a loop that never ends', 'while (true) {}'],
    [
      'a wait on a timer that never fires the promise',
      'await new Promise(() => setInterval(() => {}, 1_000));',
    ],
  ])('stops %s at the bound, and its process with it', async (_, code) => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': `${PID}${code}\nexport default {};\n` });
    const started = performance.now();
    const issue = await refusal(loadConfigFile({ cwd: dir, moduleTimeoutMs: 1_000 }));
    expect(issue).toMatchObject({
      code: 'CLUSTERD_ERR_CONFIG_LOAD',
      message: 'the config module did not finish loading within 1 s, and was stopped',
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    await until(() => !isAlive(pidIn(dir)), 'the loading process to end');
  });

  it('ends the loading process with the process that asked for the load, even in a busy loop', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': `${PID}while (true) {}\n` });
    const cli = spawn(process.execPath, [BIN, 'validate'], { cwd: dir, stdio: 'ignore' });
    try {
      await until(
        () => existsSync(join(dir, 'pid')) && readFileSync(join(dir, 'pid'), 'utf8') !== '',
        'the load',
      );
    } finally {
      cli.kill('SIGKILL');
    }
    await until(() => !isAlive(pidIn(dir)), 'the loading process to end');
  });

  it.each([
    [
      'cluster.config.cjs',
      'const x = null;\nmodule.exports = {\n  apps: x.apps,\n};\n',
      /TypeError: Cannot read properties of null/,
      3,
    ],
    [
      'cluster.config.ts',
      'const x: { apps: object[] } | null = null;\nexport default { apps: x!.apps };\n',
      /TypeError/,
      2,
    ],
    [
      'cluster.config.mjs',
      "import './apps.mjs';\nexport default {\n  apps: [],\n  x: missing.value,\n};\n",
      /ReferenceError: missing is not defined/,
      4,
    ],
  ])('reports where %s threw', async (name, content, message, line) => {
    const dir = writeFiles(tempDir(), { [name]: content, 'apps.mjs': '' });
    const issue = await refusal(loadConfig({ cwd: dir }));
    expect(issue).toMatchObject({ code: 'CLUSTERD_ERR_CONFIG_LOAD', line });
    expect(issue?.message).toMatch(/^the config module failed to load: /);
    expect(issue?.message).toMatch(message);
  });

  it('says so when the module ends its own process', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.mjs': 'process.exit(3);\n' });
    const issue = await refusal(loadConfig({ cwd: dir }));
    expect(issue?.message).toBe(
      "the config module's process exited with code 3 before the module finished loading",
    );
  });

  it("prints the module's console output on stderr, never on stdout", async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.mjs':
        "console.log('hello from the config');\nexport default { apps: [{ name: 'web', script: 'server.js' }] };\n",
      'server.js': '',
    });
    const r = await runCli(['validate', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true });
    expect(r.stderr).toContain('hello from the config');
  });
});
