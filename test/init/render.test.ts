// The starter config in each format, read back by clusterd's real loader: all three resolve to the same
// app, the comments explain what is written, and what is commented out is valid once uncommented.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { ResolvedApp } from '../../src/config/resolved.js';
import type { OutputFormat } from '../../src/import/pm2/render.js';
import type { StarterApp } from '../../src/init/detect.js';
import { renderStarter, starterConfig } from '../../src/init/render.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';

const FILES: Record<OutputFormat, string> = {
  json: 'cluster.config.json',
  yaml: 'cluster.config.yaml',
  ts: 'cluster.config.ts',
};
const FROM = { source: `package.json's "start" script`, command: 'node server.js' };

// A project with the app's script, and clusterd installed (the TS config imports defineConfig).
function project(): string {
  const dir = writeFiles(tempDir(), { 'server.js': '', 'dist/index.js': '', 'odd: #dir/app.js': '' });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules/clusterd'));
  return dir;
}

async function load(dir: string, format: OutputFormat, text: string): Promise<ResolvedApp> {
  writeFileSync(join(dir, FILES[format]), text);
  const config = await loadConfig({ path: FILES[format], cwd: dir, cpus: () => 2 });
  expect(config.apps).toHaveLength(1);
  return config.apps[0] as ResolvedApp;
}

// Comment lines that hold config (`# guards:`, `//   memory: {`), uncommented; prose stays.
const uncomment = (text: string, marker: '#' | '//') =>
  text.replace(new RegExp(`^(\\s*)${marker} ((?: *[\\w$]+: .*| *[\\w$]+:| *\\},?))$`, 'gm'), '$1$2');

describe('clusterd init: the starter config', () => {
  const apps: StarterApp[] = [
    { name: 'api', script: 'server.js' },
    {
      name: 'api',
      script: 'dist/index.js',
      nodeArgs: ['--enable-source-maps'],
      args: ['--port', '3000', 'a, b'],
      env: { NODE_ENV: 'production', null: "it's" },
    },
    { name: 'odd', script: 'odd: #dir/app.js', args: ["'quoted'", '"double"', 'back\\slash'] },
  ];

  it.each(apps)('resolves to the same app in JSON, YAML and TS (%j)', async (app) => {
    const dir = project();
    const resolved = [];
    for (const format of ['json', 'yaml', 'ts'] as const) {
      resolved.push(await load(dir, format, renderStarter(app, format, FROM)));
    }
    const [json, yaml, ts] = resolved;
    expect(yaml).toEqual(json);
    expect(ts).toEqual(json);
    expect(json).toMatchObject({
      name: app.name,
      script: join(dir, app.script),
      args: app.args ?? [],
      nodeArgs: app.nodeArgs ?? [],
      instances: 2,
      readiness: 'listening',
      readyTimeout: 30_000,
      shutdown: { timeout: 5000 },
    });
    expect(Object.keys(json?.env ?? {})).toEqual(expect.arrayContaining(Object.keys(app.env ?? {})));
  });

  it('points editors at the schema in JSON and YAML', () => {
    const app = { name: 'api', script: 'server.js' };
    const schema = './node_modules/clusterd/schemas/cluster.config.schema.json';
    expect(JSON.parse(renderStarter(app, 'json', FROM)).$schema).toBe(schema);
    expect(renderStarter(app, 'yaml', FROM)).toContain(`\n$schema: ${schema}\n`);
    expect(renderStarter(app, 'ts', FROM)).toContain("import { defineConfig } from 'clusterd';");
    expect(starterConfig(app)).toEqual({
      $schema: schema,
      apps: [
        {
          name: 'api',
          script: 'server.js',
          instances: 'max',
          readiness: 'listening',
          readyTimeout: '30s',
          shutdown: { timeout: '5s' },
        },
      ],
    });
  });

  it('explains each key it writes in YAML and TS, and not in JSON', () => {
    const app = { name: 'api', script: 'server.js' };
    for (const [format, marker] of [
      ['yaml', '#'],
      ['ts', '//'],
    ] as const) {
      const text = renderStarter(app, format, FROM);
      for (const key of ['script', 'instances', 'readiness', 'readyTimeout', 'timeout']) {
        // The line before each key is a comment.
        expect(text, `${format} ${key}`).toMatch(new RegExp(`^\\s*${marker} .*\\n\\s*${key}: `, 'm'));
      }
      expect(text).toContain(`${marker}   node server.js\n`);
      expect(text).toContain('"max" is one per CPU');
      expect(text).toMatch(/docs\/guards\.md/);
    }
    expect(renderStarter(app, 'json', FROM)).not.toMatch(/comment|\/\//);
  });

  it('never lets package.json text out of its comment line', () => {
    const text = renderStarter({ name: 'api', script: 'server.js' }, 'yaml', {
      source: 'x',
      command: 'node server.js\napps: []\r\u2028#',
    });
    expect(text).toContain('#   node server.js apps: [] #\n');
  });

  it.each([
    ['yaml', '#'],
    ['ts', '//'],
  ] as const)(
    'comments out guards, env and health in %s that are valid once uncommented',
    async (format, marker) => {
      const dir = project();
      const text = renderStarter({ name: 'api', script: 'server.js' }, format, FROM);
      const app = await load(dir, format, text);
      expect(app.guards.memory.limit).toBeNull();
      const on = uncomment(text, marker);
      expect(on).not.toBe(text);
      writeFileSync(join(dir, FILES[format]), on);
      const config = await loadConfig({
        path: FILES[format],
        cwd: dir,
        environment: 'production',
        cpus: () => 2,
      });
      expect(config.apps[0]?.guards).toMatchObject({
        memory: { limit: 512 * 1024 * 1024, hardLimit: 768 * 1024 * 1024 },
        heartbeat: { timeout: 30_000 },
      });
      expect(config.apps[0]?.env).toMatchObject({ LOG_LEVEL: 'info', NODE_ENV: 'production' });
      expect(config.health).toMatchObject({ port: 9100 });
    },
  );
});
