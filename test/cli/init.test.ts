// `clusterd init` as a user runs it: the built binary in a project directory, the file it writes, what
// `clusterd validate` says of it, refusals and exit codes.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

const PACKAGE = JSON.stringify({
  name: '@acme/api',
  main: 'index.js',
  scripts: { start: 'node --enable-source-maps server.js' },
});

function project(files: Record<string, string> = {}): string {
  return writeFiles(tempDir(), { 'package.json': PACKAGE, 'server.js': '', ...files });
}

// clusterd as the project's dependency: a TS config imports defineConfig from it.
function installClusterd(dir: string): void {
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules/clusterd'));
}

describe('clusterd init', () => {
  it('writes cluster.config.json from package.json, which clusterd validates, and says what next', async () => {
    const dir = project();
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `wrote ${join(dir, 'cluster.config.json')}`,
        `  app api: runs server.js, from package.json's "start" script: node --enable-source-maps server.js`,
        'Next:',
        '  clusterd validate   check it, and see what it resolves to',
        '  clusterd start      run it in the foreground (Ctrl-C stops it gracefully)',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toMatch(/^note: JSON has no comments: .*docs\/configuration\.md.*--format yaml/m);
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'))).toMatchObject({
      $schema: './node_modules/clusterd/schemas/cluster.config.schema.json',
      apps: [{ name: 'api', script: 'server.js', nodeArgs: ['--enable-source-maps'], instances: 'max' }],
    });
    const valid = await runCli(['validate', '--json'], { cwd: dir });
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout).apps[0]).toMatchObject({ name: 'api', script: join(dir, 'server.js') });
  });

  it.each(['json', 'yaml', 'ts'])('writes a config clusterd validates with --format %s', async (format) => {
    const dir = project();
    installClusterd(dir);
    const r = await runCli(['init', '--format', format, '--name', 'web'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(dir, `cluster.config.${format}`)}\n`);
    expect(r.stderr.includes('JSON has no comments')).toBe(format === 'json');
    const text = readFileSync(join(dir, `cluster.config.${format}`), 'utf8');
    if (format !== 'json') expect(text).toMatch(/guards/);
    const valid = await runCli(['validate', '--json'], { cwd: dir });
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({
      file: join(dir, `cluster.config.${format}`),
      apps: [{ name: 'web', script: join(dir, 'server.js'), nodeArgs: ['--enable-source-maps'] }],
    });
  });

  it('writes into the directory it is given, and names it in the next steps', async () => {
    const parent = tempDir();
    const dir = writeFiles(join(parent, 'my api'), { 'package.json': '{"main": "app.js"}', 'app.js': '' });
    const r = await runCli(['init', 'my api', '--format', 'yaml'], { cwd: parent });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(dir, 'cluster.config.yaml')}\n  app my-api: runs app.js,`);
    expect(r.stdout).toContain("  clusterd validate 'my api'   check it");
    expect((await runCli(['validate', 'my api'], { cwd: parent })).code).toBe(0);
  });

  it('refuses to overwrite the config without --force, and overwrites it with', async () => {
    const dir = project({ 'cluster.config.json': '{"apps": "mine"}' });
    const refused = await runCli(['init'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('clusterd: cluster.config.json exists; pass --force to overwrite it\n');
    expect(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).toBe('{"apps": "mine"}');
    const forced = await runCli(['init', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).apps[0].name).toBe('api');
  });

  it('counts every config the search would find, not only its own file name', async () => {
    const dir = project({ '.clusterdrc.yaml': 'apps: []\n' });
    const refused = await runCli(['init', '--format', 'ts'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^clusterd: \.clusterdrc\.yaml is already this directory's clusterd config; pass --force/,
    );
    const forced = await runCli(['init', '--format', 'yaml', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain(
      'note: .clusterdrc.yaml is a clusterd config too; the new file comes first now',
    );
    // A file the search finds first would hide the new one: --force does not help.
    const hidden = await runCli(['init', '--format', 'ts', '--force'], { cwd: dir });
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toContain('cluster.config.yaml is already');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'server.js', clusterd: { apps: [] } }));
    expect((await runCli(['init', '--format', 'json'], { cwd: dir })).stderr).toContain(
      'cluster.config.yaml',
    );
  });

  it('writes a config whose script is not built yet, and says validate will fail until it is', async () => {
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({ name: 'svc', main: 'dist/index.js', scripts: { build: 'tsc' } }),
    });
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('clusterd validate and start will fail on this machine until this is fixed:');
    expect(r.stderr).toContain('CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND');
    expect(r.stderr).toContain('run the build first: npm run build');
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(78);
    writeFiles(dir, { 'dist/index.js': '' });
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('says what to pass when it finds no file to run, with exit 66', async () => {
    const dir = writeFiles(tempDir(), {
      'package.json': '{"name": "web", "scripts": {"start": "python3 app.py"}}',
    });
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(66);
    expect(r.stderr).toBe(
      [
        `clusterd: found no Node.js file to run in ${dir}:`,
        `  package.json's "start" script "python3 app.py": it runs "python3", which is no Node.js file nor a bin of this project's node_modules`,
        '  package.json has no "main", and there is no index.js',
        'Pass the file that starts the app: clusterd init --script server.js',
        '',
      ].join('\n'),
    );
    const empty = await runCli(['init'], { cwd: tempDir() });
    expect([empty.code, empty.stderr]).toEqual([66, expect.stringContaining('there is no package.json')]);
    writeFiles(dir, { 'web.js': '' });
    const given = await runCli(['init', '--script', 'web.js'], { cwd: dir });
    expect(given.code).toBe(0);
    expect(given.stdout).toContain('app web: runs web.js, from --script');
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it.each([
    [['init', '--format', 'toml'], /--format must be one of json, yaml, ts, got "toml"/],
    [['init', '--name', '@acme/api'], /--name must be 1 to 64 letters/],
    [['init', '--script', ''], /--script needs the file/],
    [['init', 'a', 'b'], /init takes one project directory, got 2/],
    [
      ['init', '--json'],
      /--json applies to .*, not to init; init takes --format json\|yaml\|ts, --name NAME/,
    ],
    [['init', '-o', 'x.json'], /-o applies to .*, not to init;/],
    [['init', '--frobnicate'], /unknown option --frobnicate for init;/],
    [['init', '--format'], /argument missing/],
  ])('rejects %j with exit 64 and no stack trace', async (args, message) => {
    const dir = project();
    const r = await runCli(args, { cwd: dir });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Run "clusterd help" for usage.');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('exits 66 for a directory that does not exist', async () => {
    const dir = tempDir();
    const r = await runCli(['init', 'nowhere'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([66, `clusterd: ${join(dir, 'nowhere')} is not a directory\n`]);
  });

  it("writes a working config for a real Next.js project: next start runs next's own bin file", async () => {
    // The real next package of this repository, linked as a project's node_modules.
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({
        name: 'shop',
        scripts: { build: 'next build', start: 'next start -p 4000' },
        dependencies: { next: '*', react: '*', 'react-dom': '*' },
      }),
      'pages/index.js': 'export default function Home() { return "hi"; }\n',
    });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    const r = await runCli(['init'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringMatching(STACK_LINE)]);
    expect(r.stdout).toContain('app shop: runs node_modules/next/dist/bin/next');
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps[0]).toMatchObject({
      script: 'node_modules/next/dist/bin/next',
      args: ['start', '-p', '4000'],
    });
    expect(config.apps[0].readiness).toBe('listening');
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('writes a working config for a NestJS layout: nest start becomes the file it spawns', async () => {
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({
        name: '@acme/api',
        scripts: { build: 'nest build', start: 'nest start', 'start:prod': 'node dist/main' },
        dependencies: { '@nestjs/core': '^11.0.0', '@nestjs/platform-express': '^11.0.0' },
        devDependencies: { '@nestjs/cli': '^11.0.0' },
      }),
      'nest-cli.json': JSON.stringify({
        $schema: 'https://json.schemastore.org/nest-cli',
        collection: '@nestjs/schematics',
        sourceRoot: 'src',
      }),
      'tsconfig.json': JSON.stringify({
        compilerOptions: { outDir: './dist', experimentalDecorators: true },
      }),
      'node_modules/@nestjs/cli/package.json': JSON.stringify({
        name: '@nestjs/cli',
        bin: { nest: 'bin/nest.js' },
      }),
      'node_modules/@nestjs/cli/bin/nest.js': '#!/usr/bin/env node\n',
      'dist/main.js': '',
    });
    mkdirSync(join(dir, 'node_modules/.bin'));
    symlinkSync('../@nestjs/cli/bin/nest.js', join(dir, 'node_modules/.bin/nest'));
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app api: runs dist/main.js');
    expect(r.stderr).toContain('"nest start" compiles, then runs node dist/main.js as a child process');
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('sets readiness "loaded" for a queue worker without a server, and says so', async () => {
    const dir = writeFiles(tempDir(), {
      'package.json': JSON.stringify({ name: 'jobs', main: 'worker.js', dependencies: { bullmq: '^5.0.0' } }),
      'worker.js': '',
    });
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('readiness "loaded": package.json has bullmq and no HTTP server');
    expect(JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8')).apps[0].readiness).toBe(
      'loaded',
    );
  });
});
