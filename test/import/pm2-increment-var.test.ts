// PM2's increment_var imported as incrementVar. PM2 (lib/God.js, injectVariables) gives each process
// `Number(value) || 0` plus its number, the value read from the app's env over the environment
// `pm2 start` ran in: the importer writes incrementVar when the variable is in the app's env, with the
// value as PM2 counts from it, and says what PM2 does otherwise. Every config goes through clusterd's
// own validation.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImported } from '../../src/import/pm2/check.js';
import { convertEcosystem } from '../../src/import/pm2/convert.js';
import type { Verdict } from '../../src/import/pm2/mapping.js';
import { readEcosystem } from '../../src/import/pm2/read.js';
import { tempDir, writeFiles } from '../helpers/files.js';

async function importApps(apps: Record<string, unknown>[]) {
  const dir = writeFiles(tempDir(), {
    'ecosystem.config.js': `module.exports = { apps: ${JSON.stringify(apps)} };\n`,
    'app.js': '',
    'serve.py': '',
  });
  const conversion = convertEcosystem(await readEcosystem(join(dir, 'ecosystem.config.js')));
  const machine = checkImported(conversion.config, join(dir, 'cluster.config.json'), 'json');
  const verdict = (app: string, option = 'increment_var'): Omit<Verdict, 'app' | 'option'> => {
    const found = conversion.verdicts.find((v) => v.app === app && v.option === option);
    if (!found) throw new Error(`no verdict for ${app} ${option}`);
    const { app: _, option: __, ...rest } = found;
    return rest;
  };
  return { apps: conversion.config.apps, machine, verdict };
}

const MAPPED_NOTE =
  'each instance gets PORT plus its number (0, 1, ...), as PM2 counts; a slot added by clusterd scale gets its own';

describe('clusterd import pm2: increment_var', () => {
  it('becomes incrementVar when the variable is in the app env, for a Node.js app and a program', async () => {
    const r = await importApps([
      {
        name: 'api',
        script: 'app.js',
        instances: 4,
        exec_mode: 'cluster',
        increment_var: 'PORT',
        env: { PORT: 3000 },
        env_production: { PORT: '8080' },
      },
      {
        name: 'py',
        script: 'serve.py',
        interpreter: 'python3',
        instances: 2,
        increment_var: 'PORT',
        port: 9000,
      },
    ]);
    expect(r.machine).toEqual([]);
    expect(r.apps[0]).toMatchObject({
      instances: 4,
      env: { PORT: 3000 },
      environments: { production: { PORT: '8080' } },
      incrementVar: 'PORT',
    });
    expect(r.verdict('api')).toEqual({ kind: 'mapped', target: 'incrementVar', note: MAPPED_NOTE });
    // `port` is env.PORT, as PM2 sets it.
    expect(r.apps[1]).toMatchObject({
      command: ['python3', 'serve.py'],
      env: { PORT: 9000 },
      incrementVar: 'PORT',
    });
    expect(r.verdict('py')).toMatchObject({ kind: 'mapped', target: 'incrementVar' });
    // incrementVar is written after instanceVar, as the schema orders an app's keys.
    expect(Object.keys(r.apps[0] as object)).toEqual([
      'name',
      'script',
      'instances',
      'env',
      'environments',
      'incrementVar',
      'restart',
      'shutdown',
    ]);
  });

  it('is unsupported when the app env does not set the variable: PM2 would count from the shell or 0', async () => {
    const r = await importApps([{ name: 'api', script: 'app.js', instances: 2, increment_var: 'PORT' }]);
    expect(r.apps[0]).not.toHaveProperty('incrementVar');
    expect(r.verdict('api')).toEqual({
      kind: 'unsupported',
      target: '',
      note: `PORT is not set in the app's env: PM2 counts up from its value in the environment pm2 start ran in, or from 0 where it is unset; set PORT in env (or an env file) and incrementVar "PORT" counts up from it`,
    });
  });

  it('writes the value PM2 counts from (Number(value) || 0), and never quotes what was written', async () => {
    const r = await importApps([
      { name: 'api', script: 'app.js', instances: 2, increment_var: 'PORT', env: { PORT: ' 3000 ' } },
      {
        name: 'jobs',
        script: 'app.js',
        instances: 2,
        increment_var: 'SHARD',
        env: { SHARD: 'not-a-number' },
      },
    ]);
    expect(r.machine).toEqual([]);
    expect(r.apps[0]).toMatchObject({ env: { PORT: 3000 }, incrementVar: 'PORT' });
    expect(r.apps[1]).toMatchObject({ env: { SHARD: 0 }, incrementVar: 'SHARD' });
    expect(r.verdict('jobs')).toEqual({
      kind: 'changed',
      target: 'incrementVar',
      note: 'each instance gets SHARD plus its number (0, 1, ...), as PM2 counts; a slot added by clusterd scale gets its own; env.SHARD written as the number PM2 reads (Number(value), 0 for one that is not a number)',
    });
    expect(JSON.stringify(r.verdict('jobs'))).not.toContain('not-a-number');
  });

  it('is unsupported when clusterd cannot count as PM2 does: fractions, ports out of range, names', async () => {
    const r = await importApps([
      { name: 'frac', script: 'app.js', instances: 2, increment_var: 'SHARD', env: { SHARD: '1.5' } },
      { name: 'high', script: 'app.js', instances: 2, increment_var: 'PORT', env: { PORT: 65535 } },
      { name: 'word', script: 'app.js', instances: 2, increment_var: 'PORT', env: { PORT: 'auto' } },
      {
        name: 'prod',
        script: 'app.js',
        instances: 2,
        increment_var: 'PORT',
        env: { PORT: 3000 },
        env_production: { PORT: 70000 },
      },
      { name: 'own', script: 'app.js', increment_var: 'NODE_APP_INSTANCE', env: { NODE_APP_INSTANCE: 1 } },
      { name: 'twice', script: 'app.js', increment_var: 'ID', instance_var: 'ID', env: { ID: 1 } },
      { name: 'bad', script: 'app.js', increment_var: 'MY-PORT', env: { 'MY-PORT': 1 } },
    ]);
    expect(r.machine).toEqual([]);
    for (const app of r.apps) expect(app).not.toHaveProperty('incrementVar');
    const note = (app: string) => {
      const v = r.verdict(app);
      expect(v.kind).toBe('unsupported');
      return v.note;
    };
    expect(note('frac')).toBe(
      'env.SHARD: not a whole number: PM2 counts up from it in fractions, clusterd from an integer',
    );
    expect(note('high')).toBe(
      "env.PORT: PORT names a port: the app's PORT plus each slot number (0 to 1) must be a TCP port, 1 to 65535",
    );
    expect(note('word')).toMatch(/^env\.PORT \(PM2 reads it as 0\): PORT names a port/);
    expect(note('prod')).toMatch(/^environments\.production\.PORT: PORT names a port/);
    // Nothing written for a refused option: env as in the file.
    expect(r.apps.find((a) => a.name === 'prod')).toMatchObject({
      env: { PORT: 3000 },
      environments: { production: { PORT: 70000 } },
    });
    expect(note('own')).toMatch(/^NODE_APP_INSTANCE is a variable clusterd or Node\.js gives a meaning to/);
    expect(note('twice')).toMatch(/^ID is instance_var too/);
    expect(note('bad')).toMatch(/^"MY-PORT" is not a variable name/);
  });
});
