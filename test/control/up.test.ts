// `clusterd up`, the deploy verb, through the real CLI: it starts a stopped config in the background, and
// against a running one applies the config file's changes and reloads the rest (new code on disk); a
// broken new version exits non-zero while the old workers keep serving; an invalid config changes nothing.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { get, getJson } from '../helpers/http.js';
import { isAlive, until } from '../helpers/processes.js';
import { noneLeft, project } from '../helpers/project.js';
import { FIXTURES, fixtureApp, type Root, startRoot } from '../helpers/root.js';

const server = join(FIXTURES, 'http-server.cjs');
const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env, timeoutMs: 60_000 });
const writeConfig = (root: Root, apps: object[]) =>
  writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify({ apps }, null, 2));

async function serving(root: Root, app: string): Promise<number[]> {
  const status = JSON.parse((await cli(root, ['status', '--json'])).stdout);
  return status.apps
    .find((a: { name: string }) => a.name === app)
    .workers.filter((w: { state: string }) => w.state === 'ready')
    .map((w: { pid: number }) => w.pid)
    .sort();
}

// A version of an app: answers with `version` (and its pid), from its own file in the project.
const version = (n: number) =>
  `require('node:http').createServer((q, s) => s.end(JSON.stringify({ version: ${n}, pid: process.pid }))).listen(0, '127.0.0.1');\n`;

describe('clusterd up', () => {
  it('starts a stopped config in the background, returns once every app is ready, and leaves it running', async () => {
    const { dir, env, tag } = project([{ name: 'web', script: server, instances: 2 }]);
    try {
      const up = await runCli(['up'], { cwd: dir, env });
      expect([up.code, up.stderr]).toEqual([0, '']);
      expect(up.stdout).toMatch(/^clusterd started in the background \(pid (\d+)\): web x2\nlogs: /);
      const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
      const status = JSON.parse((await runCli(['status', '--json'], { cwd: dir, env })).stdout);
      expect(status).toMatchObject({ pid, apps: [{ name: 'web', state: 'running' }] });
      expect(status.apps[0].workers.map((w: { state: string }) => w.state)).toEqual(['ready', 'ready']);
      expect((await runCli(['shutdown'], { cwd: dir, env })).code).toBe(0);
      await until(() => !isAlive(pid), 'the supervisor to exit', 10_000);
    } finally {
      await noneLeft(tag);
    }
  });

  it('applies a config change (an app added, instances and env changed) and reloads the apps left as they were', async () => {
    const web = { name: 'web', script: server, instances: 2 };
    const api = { name: 'api', script: server, instances: 1, env: { GREETING: 'hello' } };
    const admin = { name: 'admin', script: server, instances: 1 };
    const root = startRoot({ apps: [web, api, admin] });
    await Promise.all(['web', 'api', 'admin'].map((name) => root.running(name)));
    const adminPids = await serving(root, 'admin');
    const bonjour = { ...api, env: { GREETING: 'bonjour' } };
    writeConfig(root, [
      { ...web, instances: 3 },
      bonjour,
      admin,
      { name: 'jobs', script: server, instances: 2 },
    ]);
    const up = await cli(root, ['up']);
    expect([up.code, up.stderr]).toEqual([0, '']);
    expect(up.stdout.split('\n')).toEqual([
      'web: scaled 2 -> 3 workers, reloaded, 3 workers replaced',
      'api: rolled (env), 1 worker replaced',
      'admin: reloaded, 1 worker replaced',
      'jobs: added, 2 workers',
      expect.stringMatching(/^clusterd \d+, cluster\.config\.json: every app ready in \d/),
      '',
    ]);
    expect((await serving(root, 'web')).length).toBe(3);
    expect((await serving(root, 'jobs')).length).toBe(2);
    expect((await serving(root, 'admin')).filter((p) => adminPids.includes(p))).toEqual([]);
    const env = await getJson<Record<string, string>>(await root.address('api'), '/env');
    expect(env.GREETING).toBe('bonjour');

    // Removed, as --json for a script.
    writeConfig(root, [web, bonjour]);
    const json = await cli(root, ['up', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      ok: true,
      config: join(root.dir, 'cluster.config.json'),
      environment: null,
    });
    expect(report.apps.map((a: { app: string; change: string | null }) => [a.app, a.change])).toEqual([
      ['admin', 'removed'],
      ['jobs', 'removed'],
      ['web', 'scaled'],
      ['api', null],
    ]);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('replaces every worker with the new code on disk', async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 2 }] },
      { files: { 'app.cjs': version(1) } },
    );
    await root.running('web');
    const address = await root.address('web');
    const before = await serving(root, 'web');
    expect(await getJson(address)).toMatchObject({ version: 1 });
    writeFileSync(join(root.dir, 'app.cjs'), version(2));
    const up = await cli(root, ['up']);
    expect([up.code, up.stdout.split('\n')[0]]).toEqual([0, 'web: reloaded, 2 workers replaced']);
    const after = await serving(root, 'web');
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    for (let i = 0; i < 4; i += 1) expect(await getJson(address)).toMatchObject({ version: 2 });
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('exits non-zero with the reason on a broken new version, while the old workers keep serving', async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 2, readyTimeout: '2s' }] },
      { files: { 'app.cjs': version(1) } },
    );
    await root.running('web');
    const address = await root.address('web');
    const before = await serving(root, 'web');
    copyFileSync(join(FIXTURES, 'crash-at-boot.cjs'), join(root.dir, 'app.cjs'));
    // Requests all through the up: every one is answered, by the old version.
    let going = true;
    const answers: { status: number; body: string }[] = [];
    const load = (async () => {
      while (going) answers.push(await get(address));
    })();
    const up = await cli(root, ['up']);
    going = false;
    await load;
    expect(up.code).toBe(1);
    expect(up.stdout).toBe('');
    expect(up.stderr).toMatch(
      /^clusterd: web: reload failed: worker \d did not get ready: exit code 1: Error: boom at boot.*; rolled back: the old workers keep serving\nclusterd: up failed for 1 app\n$/,
    );
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => JSON.parse(a.body).version))).toEqual(new Set([1]));
    expect(await serving(root, 'web')).toEqual(before);
    const after = await Promise.all([1, 2, 3, 4].map(() => getJson<{ pid: number }>(address)));
    for (const a of after) expect(before).toContain(a.pid);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('changes nothing on an invalid config, and prints its problems as validate does', async () => {
    const web = fixtureApp('web', 'http-server.cjs', { instances: 1 });
    const root = startRoot({ apps: [web] });
    await root.running('web');
    const before = await serving(root, 'web');
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      '{\n  "apps": [{ "name": "web", "script": "nope.js", "instanses": 2 }]\n}\n',
    );
    const up = await cli(root, ['up']);
    const validate = await cli(root, ['validate']);
    expect([up.code, up.stdout, up.stderr]).toEqual([78, '', validate.stderr]);
    expect(up.stderr).toMatch(/^clusterd: cluster\.config\.json has 2 problems:\n/);
    expect(up.stderr).toMatch(
      /unknown key "instanses"; did you mean "instances"\? \[CLUSTERD_ERR_CONFIG_UNKNOWN_KEY\]/,
    );
    expect(await serving(root, 'web')).toEqual(before);

    // Another environment than the running one is refused too.
    writeConfig(root, [{ ...web, environments: { production: { NODE_ENV: 'production' } } }]);
    const other = await cli(root, ['up', '--env', 'production']);
    expect([other.code, other.stderr]).toEqual([
      1,
      'clusterd: clusterd runs cluster.config.json without --env, not --env production: the environment is chosen when clusterd starts; run clusterd shutdown, then clusterd up --env production\n',
    ]);
    expect(await serving(root, 'web')).toEqual(before);
    root.signal('SIGTERM');
    await root.waitForExit();
  });
});
