// The control commands, through the real CLI binary against a real running clusterd.
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { FIXTURES, type Root, startRoot } from '../helpers/root.js';

const server = join(FIXTURES, 'http-server.cjs');
const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

async function started(apps: object[]) {
  const root = startRoot({ apps });
  await Promise.all(apps.map((a) => root.running((a as { name: string }).name)));
  return root;
}

function socketOf(root: Root): string {
  const dir = join(String(root.env.XDG_RUNTIME_DIR), 'clusterd');
  const [file] = readdirSync(dir).filter((f) => f.endsWith('.sock'));
  return join(dir, String(file));
}

// One raw exchange on the control socket: writes `data`, collects what comes back until it closes or answers.
function raw(path: string, data: string, { lines = 1 } = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const got: string[] = [];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(data));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      got.push(...parts);
      if (got.length >= lines) socket.end();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('control commands', () => {
  it('status shows every app and worker, as a table and as JSON', async () => {
    const root = await started([
      { name: 'web', script: server, instances: 2 },
      { name: 'api', script: server, instances: 1 },
    ]);
    const json = await cli(root, ['status', '--json']);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status.pid).toBe(root.child.pid);
    expect(
      status.apps.map((a: { name: string; state: string; workers: unknown[] }) => [
        a.name,
        a.state,
        a.workers.length,
      ]),
    ).toEqual([
      ['web', 'running', 2],
      ['api', 'running', 1],
    ]);
    const pids = root.events.filter((e) => e.to === 'ready').map((e) => e.pid);
    for (const w of status.apps[0].workers) {
      expect(w).toMatchObject({
        state: 'ready',
        restarts: 0,
        cpu: expect.any(Number),
        memory: expect.any(Number),
      });
      expect(pids).toContain(w.pid);
    }
    const table = await cli(root, ['status']);
    expect(table.stdout).toMatch(
      /^clusterd \d+, cluster\.config\.json, up \d+s\nAPP +APP STATE +WORKER +PID +STATE +RESTARTS +UPTIME +CPU +MEMORY +REQ\/S +5XX +P99 +SCRIPT\n/,
    );
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(5);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('reloads, restarts, scales, stops and starts apps, and shuts down', async () => {
    const root = await started([
      { name: 'web', script: server, instances: 2 },
      { name: 'api', script: server, instances: 1 },
    ]);
    const workerPids = async (app: string) => {
      const s = JSON.parse((await cli(root, ['status', '--json'])).stdout);
      return s.apps
        .find((a: { name: string }) => a.name === app)
        .workers.map((w: { pid: number }) => w.pid)
        .sort();
    };
    const web = await workerPids('web');
    const reload = await cli(root, ['reload', 'web']);
    expect([reload.code, reload.stdout]).toEqual([
      0,
      expect.stringMatching(/^web: reloaded, 2 workers replaced in /),
    ]);
    const reloaded = await workerPids('web');
    expect(reloaded.filter((p: number) => web.includes(p))).toEqual([]);

    const api = await workerPids('api');
    expect((await cli(root, ['restart', 'api'])).stdout).toBe('restarted: api\n');
    await root.waitForCount((e) => e.app === 'api' && e.to === 'running', 2, 'api running again');
    expect(await workerPids('api')).not.toEqual(api);

    expect((await cli(root, ['scale', 'web', '+2'])).stdout).toBe('web: 2 -> 4 workers\n');
    expect((await cli(root, ['scale', 'web', '-1'])).stdout).toBe('web: 4 -> 3 workers\n');
    const bad = await cli(root, ['scale', 'web', '0']);
    expect([bad.code, bad.stderr]).toEqual([
      1,
      expect.stringMatching(/instances must stay between 1 and 1024, got 0/),
    ]);

    expect((await cli(root, ['stop', 'api'])).stdout).toBe('stopped: api\n');
    const stopped = JSON.parse((await cli(root, ['status', '--json'])).stdout);
    expect(stopped.apps.map((a: { state: string }) => a.state)).toEqual(['running', 'stopped']);
    expect((await cli(root, ['start', 'api'])).stdout).toBe('started: api\n');
    await root.waitForCount((e) => e.app === 'api' && e.to === 'running', 3, 'api started again');

    const unknown = await cli(root, ['reload', 'nope']);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'clusterd: no app named "nope" (apps: web, api)\n']);

    expect((await cli(root, ['shutdown'])).code).toBe(0);
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('reports a failed reload with its reason and a non-zero exit', async () => {
    const root = startRoot({ apps: [{ name: 'web', script: 'app.cjs', instances: 1, readyTimeout: '2s' }] });
    copyFileSync(server, join(root.dir, 'app.cjs'));
    await root.running('web');
    copyFileSync(join(FIXTURES, 'crash-at-boot.cjs'), join(root.dir, 'app.cjs'));
    const r = await cli(root, ['reload']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^clusterd: web: reload failed: worker 0 did not get ready: exit code 1: Error: boom at boot/,
    );
    // The code decided in the primary reaches --json unchanged, for scripts.
    const json = await cli(root, ['reload', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'CLUSTERD_ERR_RELOAD_FAILED',
        message: expect.stringMatching(/^web: reload failed: worker 0 did not get ready/),
        apps: [
          { app: 'web', code: 'CLUSTERD_ERR_RELOAD_FAILED', reason: expect.stringMatching(/boom at boot/) },
        ],
      },
    });
    expect((await get(await root.address('web'))).status).toBe(200);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('shows recent output and follows live output', async () => {
    const root = await started([{ name: 'web', script: server, instances: 1 }]);
    const address = await root.address('web');
    await get(address, '/slow?ms=1');
    await root.waitFor((e) => String(e.msg).startsWith('slow request started'), 'a line of output');
    const recent = await cli(root, ['logs', 'web', '--lines', '5']);
    expect(recent.stdout).toMatch(
      /"app":"web","worker":0,"pid":\d+,"stream":"stdout","msg":"slow request started on worker 0"/,
    );

    const follow = spawn(
      process.execPath,
      [join(process.cwd(), 'dist/cli/bin.js'), 'logs', '--follow', '--lines', '0'],
      {
        cwd: root.dir,
        env: root.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let seen = '';
    const live = new Promise<void>((resolve) =>
      follow.stdout.setEncoding('utf8').on('data', (d: string) => {
        seen += d;
        if (seen.includes('slow request started')) resolve();
      }),
    );
    // Keep producing output until the follower has shown some (it may take a moment to connect).
    while (!seen.includes('slow request started')) {
      await get(address, '/slow?ms=1');
      await Promise.race([live, new Promise((r) => setTimeout(r, 50))]);
    }
    follow.kill();
    await new Promise((r) => follow.once('close', r));
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('keeps its socket private and answers bad requests with errors, staying up', async () => {
    const root = await started([{ name: 'web', script: server, instances: 1 }]);
    const path = socketOf(root);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);

    const reply = async (data: string) => JSON.parse((await raw(path, data))[0] as string);
    expect(await reply('not json\n')).toMatchObject({
      ok: false,
      id: null,
      error: { message: 'malformed JSON' },
    });
    expect(await reply('{"v":1,"id":7,"cmd":"explode"}\n')).toMatchObject({
      ok: false,
      id: 7,
      error: { message: 'unknown command "explode"' },
    });
    expect(await reply('{"v":9,"id":1,"cmd":"status"}\n')).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/version 9/) },
    });
    expect(await reply('[1,2]\n')).toMatchObject({ ok: false });
    const huge = await raw(path, 'x'.repeat(200_000));
    expect(JSON.parse(huge[0] as string)).toMatchObject({
      ok: false,
      error: { message: 'request larger than 65536 bytes' },
    });
    // A client that goes away mid-request.
    await new Promise<void>((resolve) => {
      const s = connect(path, () => {
        s.write('{"v":1,"id":1,"cmd":"sta');
        s.destroy();
        resolve();
      });
    });
    const status = await cli(root, ['status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).apps[0].state).toBe('running');
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('says in one line that nothing is running, with a non-zero exit', async () => {
    const root = startRoot({ apps: [{ name: 'web', script: server, instances: 1 }] });
    await root.running('web');
    root.signal('SIGTERM');
    await root.waitForExit();
    for (const args of [['status'], ['reload'], ['logs']]) {
      const r = await cli(root, args);
      expect([r.code, r.stderr]).toEqual([69, 'clusterd: clusterd is not running for cluster.config.json\n']);
    }
  });

  it('refuses to start a twin for the same config, and replaces a stale socket', async () => {
    const root = await started([{ name: 'web', script: server, instances: 1 }]);
    const twin = await runCli(['start'], { cwd: root.dir, env: root.env });
    expect([twin.code, twin.stderr]).toEqual([
      1,
      expect.stringMatching(/^clusterd: clusterd is already running for .*cluster\.config\.json/),
    ]);
    const path = socketOf(root);
    root.signal('SIGKILL');
    await root.waitForExit();
    expect(statSync(path).isSocket()).toBe(true);
    // The killed root's socket is stale: a new clusterd notices and takes its place.
    const next = spawn(
      process.execPath,
      [join(process.cwd(), 'dist/cli/bin.js'), 'start', '--log-format', 'json'],
      {
        cwd: root.dir,
        env: root.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    await new Promise<void>((resolve) =>
      next.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('"to":"running"')) resolve();
      }),
    );
    expect(out).toContain('replacing a stale control socket');
    expect((await cli(root, ['status', '--json'])).code).toBe(0);
    next.kill('SIGTERM');
    await new Promise((r) => next.once('close', r));
  });
});
