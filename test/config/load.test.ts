// Discovery and every supported format, with real files in a temp directory.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';

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
