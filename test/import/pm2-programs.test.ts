// PM2 apps that do not run on Node.js (issue 29): a Python app, shell scripts, binaries, interpreter
// arguments, a virtualenv's interpreter, each imported as a program, `command` being what PM2 spawns
// (lib/God/ForkMode.js: the interpreter, interpreter_args, the script, args; or the script and its args
// with interpreter "none"). Real files in a temp directory; the config goes through clusterd's own
// validation (checkImported, the loader's checks of `command` included) as the CLI's does.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImported } from '../../src/import/pm2/check.js';
import { convertEcosystem } from '../../src/import/pm2/convert.js';
import { commandLine, findOnPath, pythonInterpreter } from '../../src/import/pm2/map-program.js';
import type { Verdict } from '../../src/import/pm2/mapping.js';
import { readEcosystem } from '../../src/import/pm2/read.js';
import { tempDir, writeFiles } from '../helpers/files.js';

// An ELF header: a file with NUL bytes, which PM2 (and the importer) takes for a binary.
const BINARY = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]);
const PYTHON_SHIM = '#!/bin/sh\nexec python3 "$@"\n';

interface Options {
  /** Files made executable (chmod 755). */
  executables?: string[];
  /** Where `pm2 start` ran (default: the file's directory). */
  root?: string;
  /** Where the config is written (default: `root`). */
  outDir?: string;
}

async function importFile(files: Record<string, string | Uint8Array>, file: string, options: Options = {}) {
  const dir = writeFiles(tempDir(), files);
  for (const name of options.executables ?? []) chmodSync(join(dir, name), 0o755);
  const ecosystem = await readEcosystem(join(dir, file));
  const root = options.root ? join(dir, options.root) : ecosystem.dir;
  const outDir = options.outDir ? join(dir, options.outDir) : root;
  const conversion = convertEcosystem(ecosystem, outDir, root);
  const machine = checkImported(conversion.config, join(outDir, 'cluster.config.json'), 'json');
  const verdict = (app: string | null, option: string): Omit<Verdict, 'app' | 'option'> => {
    const found = conversion.verdicts.find((v) => v.app === app && v.option === option);
    if (!found) throw new Error(`no verdict for ${app} ${option}`);
    const { app: _, option: __, ...rest } = found;
    return rest;
  };
  const app = (name: string) => conversion.config.apps.find((a) => a.name === name);
  return { dir, ...conversion, apps: conversion.config.apps, app, machine, verdict };
}

// The settings every imported app gets from PM2's defaults.
const PM2_DEFAULTS = { restart: { policy: 'always' }, shutdown: { signal: 'SIGINT' } };

describe('clusterd import pm2: programs that are not Node.js', () => {
  it('a python3 app: the interpreter, the script and its args, PYTHONUNBUFFERED as PM2 sets it', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'api',
    script: 'serve.py',
    interpreter: 'python3',
    args: '--port 8000',
    max_memory_restart: '300M',
    env: { PORT: 8000 },
  }],
};
`,
        'serve.py': 'print(1)\n',
      },
      'ecosystem.config.js',
    );
    expect(r.apps).toEqual([
      {
        name: 'api',
        command: ['python3', 'serve.py', '--port', '8000'],
        env: { PORT: 8000, PYTHONUNBUFFERED: '1' },
        ...PM2_DEFAULTS,
        guards: { memory: { limit: '300MB' } },
      },
    ]);
    // The keys in the schema's order, as a person would write them.
    expect(Object.keys(r.apps[0])).toEqual(['name', 'command', 'env', 'restart', 'shutdown', 'guards']);
    expect(r.verdict('api', 'script')).toEqual({
      kind: 'mapped',
      target: 'command',
      note: 'PM2 runs it with python3: imported as a program, command ["python3","serve.py","--port","8000"]',
    });
    expect(r.verdict('api', 'interpreter')).toMatchObject({
      kind: 'mapped',
      target: 'command',
      note: expect.stringContaining('found on PATH when the config loads'),
    });
    expect(r.verdict('api', 'args')).toMatchObject({ kind: 'mapped', target: 'command' });
    expect(r.verdict('api', '(PYTHONUNBUFFERED: set by PM2)')).toMatchObject({
      kind: 'mapped',
      target: 'env.PYTHONUNBUFFERED',
    });
    // PM2 runs one process of a program, in fork mode; clusterd's default for a program is the same.
    expect(r.verdict('api', '(instances not set)')).toMatchObject({ kind: 'mapped', target: '' });
    expect(r.verdict('api', '(exec_mode not set: fork)')).toMatchObject({
      kind: 'mapped',
      target: '',
      note: expect.stringMatching(/process of its own.*readySettle/),
    });
    expect(r.verdict('api', '(stop signal: SIGINT)').note).toContain("the instance's process group");
    expect(r.verdicts.filter((v) => v.kind === 'unsupported')).toEqual([]);
    expect(r.dropped).toEqual([]);
    expect(r.machine).toEqual([]);
  });

  it('shell scripts: with interpreter bash, by their .sh extension, and run by themselves ("none")', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'backup', script: './scripts/backup.sh', interpreter: 'bash', autorestart: false },
    { name: 'checks', script: 'check.sh' },
    { name: 'tail', script: 'tail-logs', interpreter: 'none' },
  ],
};
`,
        'scripts/backup.sh': 'echo backup\n',
        'check.sh': 'echo ok\n',
        'tail-logs': '#!/bin/sh\nexec tail -f /dev/null\n',
      },
      'ecosystem.config.js',
      { executables: ['tail-logs'] },
    );
    expect(r.apps.map((a) => [a.name, a.command])).toEqual([
      ['backup', ['bash', './scripts/backup.sh']],
      ['checks', ['bash', 'check.sh']],
      // A bare name that is a file here: ./ keeps it from being looked up on PATH.
      ['tail', ['./tail-logs']],
    ]);
    expect(r.app('backup')).toMatchObject({ restart: { policy: 'never' } });
    expect(r.verdict('checks', 'script').note).toMatch(
      /^PM2 runs a \.sh file with bash: imported as a program/,
    );
    expect(r.verdict('tail', 'script').note).toMatch(
      /^PM2 runs tail-logs itself \(interpreter "none"\), and it is no Node\.js file/,
    );
    expect(r.verdict('tail', 'interpreter')).toMatchObject({
      kind: 'mapped',
      target: 'command',
      note: expect.stringMatching(/^"none": PM2 runs the script itself/),
    });
    for (const app of r.apps) {
      expect(app).not.toHaveProperty('script');
      expect(app).not.toHaveProperty('readiness');
      expect(app.env).toBeUndefined();
    }
    expect(r.dropped).toEqual([]);
    expect(r.machine).toEqual([]);
  });

  it('binaries: interpreter "none", a binary PM2 detects itself, and a program from PATH', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    {
      name: 'server',
      script: './bin/server',
      interpreter: 'none',
      args: ['--listen', ':8080'],
      node_args: '--max-old-space-size=100',
      instances: 4,
    },
    { name: 'worker', script: 'worker' },
    { name: 'sleeper', script: 'sleep', args: '1000', interpreter: 'none' },
  ],
};
`,
        'bin/server': BINARY,
        worker: BINARY,
      },
      'ecosystem.config.js',
      { executables: ['bin/server', 'worker'] },
    );
    expect(r.apps).toEqual([
      {
        name: 'server',
        command: ['./bin/server', '--listen', ':8080'],
        instances: 4,
        ...PM2_DEFAULTS,
      },
      { name: 'worker', command: ['./worker'], ...PM2_DEFAULTS },
      { name: 'sleeper', command: ['sleep', '1000'], ...PM2_DEFAULTS },
    ]);
    expect(r.verdict('server', 'script').note).toMatch(/^\.\/bin\/server is a binary, which PM2 runs itself/);
    // PM2 passes node_args to an interpreter only: a program that runs itself never saw them.
    expect(r.verdict('server', 'node_args')).toMatchObject({ kind: 'ignored', target: '' });
    expect(r.verdict('server', 'args')).toMatchObject({ kind: 'mapped', target: 'command' });
    // PM2's cluster mode by default with instances is for Node.js: a program runs in fork mode.
    expect(r.verdict('server', '(exec_mode not set: fork)')).toMatchObject({ kind: 'mapped' });
    expect(r.verdict('worker', 'script').note).toMatch(/^worker is a binary, which PM2 runs itself/);
    expect(r.verdict('sleeper', 'script').note).toMatch(
      /^"sleep" is no file in .*, so PM2 runs it as a program from PATH, and it runs "sleep", which is no Node\.js file/,
    );
    expect(r.verdict('sleeper', 'interpreter').note).toContain('found on PATH when the config loads');
    expect(r.dropped).toEqual([]);
    expect(r.machine).toEqual([]);
  });

  it("interpreter_args (and node_args) are the interpreter's, before the script, split as PM2 splits them", async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'a', script: 'app.py', interpreter: 'python3', interpreter_args: '-u -X "importtime"', args: 'serve' },
    { name: 'b', script: 'app.py', interpreter: 'python3', interpreterArgs: ['-W', 'error'] },
    { name: 'c', script: 'app.py', interpreter: 'python3', node_args: '-O' },
    { name: 'd', script: 'site', interpreter: 'npx', interpreter_args: 'serve -s' },
  ],
};
`,
        'app.py': '',
        'site/index.html': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps.map((a) => [a.name, a.command])).toEqual([
      ['a', ['python3', '-u', '-X', 'importtime', 'app.py', 'serve']],
      ['b', ['python3', '-W', 'error', 'app.py']],
      ['c', ['python3', '-O', 'app.py']],
      // npx running a program that is no loader clusterd knows: the command PM2 spawns.
      ['d', ['npx', 'serve', '-s', 'site']],
    ]);
    expect(r.verdict('a', 'interpreter_args')).toEqual({
      kind: 'mapped',
      target: 'command',
      note: "python3's own, before the script, as PM2 passes them; split into words as PM2 splits them",
    });
    expect(r.verdict('b', 'interpreterArgs')).toEqual({
      kind: 'mapped',
      target: 'command',
      note: "python3's own, before the script, as PM2 passes them",
    });
    expect(r.verdict('c', 'node_args')).toMatchObject({ kind: 'mapped', target: 'command' });
    expect(r.verdict('d', 'interpreter_args').note).toMatch(/^npx's own/);
    for (const app of r.apps) expect(app).not.toHaveProperty('nodeArgs');
    expect(r.verdicts.filter((v) => v.kind === 'unsupported')).toEqual([]);
  });

  it("a relative interpreter path is taken from the app's cwd, as PM2 spawns it, wherever the config is written", async () => {
    const files = {
      'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'venv', script: 'app.py', interpreter: './venv/bin/python' },
    { name: 'backend', cwd: 'backend', script: 'manage.py', args: 'runserver', interpreter: '../venv/bin/python' },
    // A cwd of its own (not on this machine): its relative paths are the app's, not the project's.
    { name: 'deployed', cwd: '/srv/app', script: 'app.py', interpreter: 'venv/bin/python' },
  ],
};
`,
      'app.py': '',
      'backend/manage.py': '',
      'venv/bin/python': PYTHON_SHIM,
    };
    const r = await importFile(files, 'ecosystem.config.js', { executables: ['venv/bin/python'] });
    expect(r.apps).toEqual([
      {
        name: 'venv',
        command: ['./venv/bin/python', 'app.py'],
        env: { PYTHONUNBUFFERED: '1' },
        ...PM2_DEFAULTS,
      },
      {
        name: 'backend',
        command: ['../venv/bin/python', 'manage.py', 'runserver'],
        cwd: 'backend',
        env: { PYTHONUNBUFFERED: '1' },
        ...PM2_DEFAULTS,
      },
      {
        name: 'deployed',
        command: ['venv/bin/python', 'app.py'],
        cwd: '/srv/app',
        env: { PYTHONUNBUFFERED: '1' },
        ...PM2_DEFAULTS,
      },
    ]);
    expect(r.verdict('venv', 'interpreter')).toEqual({
      kind: 'mapped',
      target: 'command',
      note: "the command's first element, relative to the app's cwd as PM2 takes it",
    });
    // Only what this machine lacks: the deploy path of the third app.
    expect(r.machine.map((issue) => issue.pointer)).toEqual(['/apps/2/cwd', '/apps/2/command/0']);

    // Written in another directory: the cwd is rebased, the command (relative to it) stays.
    const moved = await importFile(files, 'ecosystem.config.js', {
      executables: ['venv/bin/python'],
      outDir: 'deploy',
    });
    expect(moved.apps.slice(0, 2).map((a) => [a.command, a.cwd])).toEqual([
      [['./venv/bin/python', 'app.py'], '..'],
      [['../venv/bin/python', 'manage.py', 'runserver'], '../backend'],
    ]);
    expect(Object.keys(moved.apps[0])).toEqual(['name', 'command', 'cwd', 'env', 'restart', 'shutdown']);
    expect(moved.machine.map((issue) => issue.pointer)).toEqual(['/apps/2/cwd', '/apps/2/command/0']);
  });

  it('an interpreter whose relative path leads out of the project: the app is left out, named with the path', async () => {
    const r = await importFile(
      {
        'proj/ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'etl', script: 'etl.py', interpreter: '../venv/bin/python' },
    { name: 'api', script: 'serve.py', interpreter: 'python3' },
  ],
};
`,
        'proj/etl.py': '',
        'proj/serve.py': '',
        'venv/bin/python': PYTHON_SHIM,
      },
      'proj/ecosystem.config.js',
      { executables: ['venv/bin/python'] },
    );
    expect(r.apps.map((a) => a.name)).toEqual(['api']);
    expect(r.dropped).toEqual(['etl']);
    expect(r.verdicts.filter((v) => v.app === 'etl')).toEqual([
      {
        app: 'etl',
        option: 'interpreter',
        kind: 'unsupported',
        target: '',
        note: `its interpreter "../venv/bin/python" is a relative path that leads out of the project (${join(r.dir, 'proj')}), to ${join(r.dir, 'venv/bin/python')}: give the interpreter's absolute path in the ecosystem file; the app is not imported`,
      },
    ]);

    // The only app: the import is refused, with the app and the reason, as a ClusterdError.
    const dir = writeFiles(tempDir(), {
      'proj/ecosystem.config.js': `module.exports = { apps: [{ name: 'etl', script: 'etl.py', interpreter: '../../venv/bin/python' }] };\n`,
    });
    const only = await readEcosystem(join(dir, 'proj/ecosystem.config.js'));
    expect(() => convertEcosystem(only)).toThrow(
      /^no app of .* can run under clusterd:\n {2}etl: its interpreter "\.\.\/\.\.\/venv\/bin\/python" is a relative path that leads out of the project/,
    );
  });

  it('Node.js-only options on a program: cluster mode, wait_ready, source maps; increment_var without its variable', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'api',
    script: 'serve.py',
    interpreter: 'python3',
    exec_mode: 'cluster',
    instances: 'max',
    wait_ready: true,
    listen_timeout: 8000,
    source_map_support: true,
    increment_var: 'PORT',
    kill_timeout: 3000,
  }],
};
`,
        'serve.py': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps).toEqual([
      {
        name: 'api',
        command: ['python3', 'serve.py'],
        instances: 'max',
        env: { PYTHONUNBUFFERED: '1' },
        restart: { policy: 'always' },
        readyTimeout: 8000,
        shutdown: { signal: 'SIGINT', timeout: 3000 },
      },
    ]);
    expect(r.verdict('api', 'exec_mode')).toMatchObject({
      kind: 'changed',
      target: '',
      note: expect.stringMatching(
        /^PM2's cluster mode loads the script into Node\.js \(node:cluster\), which cannot run a program/,
      ),
    });
    expect(r.verdict('api', 'wait_ready')).toMatchObject({
      kind: 'changed',
      target: '',
      note: expect.stringMatching(/^a program does not send PM2's 'ready' message/),
    });
    expect(r.verdict('api', 'source_map_support')).toMatchObject({ kind: 'ignored', target: '' });
    expect(r.verdict('api', 'kill_timeout')).toMatchObject({ kind: 'mapped', target: 'shutdown.timeout' });
    // As for a Node.js app: without PORT in env, PM2 counts from the shell's value or from 0.
    expect(r.verdict('api', 'increment_var')).toMatchObject({
      kind: 'unsupported',
      target: '',
      note: expect.stringMatching(
        /^PORT is not set in the app's env: PM2 counts up from its value in the environment/,
      ),
    });
    expect(r.machine).toEqual([]);
  });

  it('interpreter "none" stays a Node.js app when it leads to Node.js, and is a program when it does not', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'www', script: 'bin/www', interpreter: 'none' },
    { name: 'js', script: 'server.js', interpreter: 'none' },
    { name: 'start', script: 'npm', args: 'start', interpreter: 'none' },
    { name: 'py', script: 'npm', args: 'run py' },
    { name: 'gunicorn', script: '.venv/bin/gunicorn', args: 'app:app', interpreter: 'none' },
  ],
};
`,
        'package.json': JSON.stringify({ scripts: { start: 'node server.js', py: 'python3 app.py' } }),
        'bin/www': '#!/usr/bin/env node\n',
        'server.js': '',
        'app.py': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps.map((a) => [a.name, a.script ?? a.command])).toEqual([
      ['www', 'bin/www'],
      ['js', 'server.js'],
      ['start', 'server.js'],
      // npm runs a package.json script that is not Node.js: npm itself, as PM2 runs it.
      ['py', ['npm', 'run', 'py']],
      // Not on this machine, and no JavaScript file by its name: what PM2 spawns.
      ['gunicorn', ['.venv/bin/gunicorn', 'app:app']],
    ]);
    expect(r.verdict('www', 'interpreter').note).toBe(
      'PM2 runs the script as a program; clusterd runs the Node.js file it leads to',
    );
    expect(r.verdict('py', 'script').note).toMatch(
      /^PM2 runs npm run py, and package\.json's "py" script "python3 app\.py": it runs "python3", which is no Node\.js file/,
    );
    expect(r.verdict('gunicorn', 'script').note).toMatch(/it is no JavaScript file by its name/);
    expect(r.machine.map((issue) => issue.pointer)).toEqual(['/apps/4/command/0']);
  });

  it('a command line PM2 runs with bash: its words, or bash -c with the line when it needs a shell', async () => {
    const r = await importFile(
      {
        'ecosystem.config.js': `module.exports = {
  apps: [
    { name: 'line', script: 'python3 -u app.py', args: 'ignored' },
    { name: 'cd', script: 'cd api && python3 app.py' },
  ],
};
`,
        'app.py': '',
        'api/app.py': '',
      },
      'ecosystem.config.js',
    );
    expect(r.apps.map((a) => [a.name, a.command])).toEqual([
      ['line', ['python3', '-u', 'app.py']],
      ['cd', ['bash', '-c', 'cd api && python3 app.py']],
    ]);
    expect(r.verdict('line', 'script')).toMatchObject({
      kind: 'changed',
      note: expect.stringContaining('clusterd runs its words, without a shell'),
    });
    expect(r.verdict('line', 'args')).toMatchObject({ kind: 'changed', target: '' });
    expect(r.verdict('cd', 'script').kind).toBe('mapped');
  });
});

describe('the programs a PM2 app runs, as the importer finds them', () => {
  it('picks python where PATH has one, else python3, as PM2 does for a .py file', () => {
    const dir = writeFiles(tempDir(), { 'a/python': '', 'b/python3': '' });
    chmodSync(join(dir, 'a/python'), 0o755);
    chmodSync(join(dir, 'b/python3'), 0o755);
    expect(pythonInterpreter(`${join(dir, 'a')}:${join(dir, 'b')}`)).toBe('python');
    expect(pythonInterpreter(join(dir, 'b'))).toBe('python3');
    expect(pythonInterpreter('')).toBe('python3');
    expect(findOnPath('python3', `relative:${join(dir, 'b')}`)).toBe(join(dir, 'b/python3'));
    // Not executable: not found, as which(1) would not find it.
    writeFiles(dir, { 'c/python': '' });
    expect(findOnPath('python', join(dir, 'c'))).toBeNull();
  });

  it('splits a command line into words only where no shell is needed', () => {
    expect(commandLine('python3 -u "my app.py" --flag')).toEqual(['python3', '-u', 'my app.py', '--flag']);
    for (const line of ['PORT=80 python3 app.py', 'cd x && ./run', 'echo $HOME', 'a | b', 'exec ./run'])
      expect(commandLine(line), line).toEqual(['bash', '-c', line]);
  });
});
