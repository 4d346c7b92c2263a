// Programs that are not Node.js (`command`), run for real: gunicorn (Debian's python3-gunicorn) and a
// plain Python server on one socket clusterd listens on (systemd's socket activation), shell scripts
// with children, a program that crashes at boot, one that ignores SIGTERM, a Python process that leaks.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { freePort, getJson } from '../helpers/http.js';
import { isAlive, taggedProcesses } from '../helpers/processes.js';
import { FIXTURES, type LogEvent, type Root, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

const PROGRAMS = join(FIXTURES, 'programs');

// gunicorn is installed by .ci/run (Debian's python3-gunicorn): a test that cannot find it fails.
const GUNICORN = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v gunicorn'], { encoding: 'utf8' }).trim();
  } catch {
    return 'gunicorn';
  }
})();

const workerEvents = (root: Root, app: string, to: string, from = 0) =>
  root.events.slice(from).filter((e) => e.app === app && e.to === to && typeof e.pid === 'number');

async function stop(root: Root): Promise<void> {
  root.signal('SIGTERM');
  expect((await root.waitForExit()).code).toBe(0);
  expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
}

async function reload(root: Root, app: string): Promise<LogEvent> {
  const from = root.events.length;
  root.signal('SIGUSR2');
  return root.waitFor((e) => e.app === app && (e.reload === 'done' || e.reload === 'failed'), 'the reload', {
    from,
    timeoutMs: 30_000,
  });
}

describe('programs', () => {
  it('runs what `clusterd import pm2` writes for a PM2 file with a Python server and a bash script', async () => {
    const port = await freePort();
    const dir = writeFiles(tempDir(), {
      'ecosystem.config.js': `module.exports = { apps: [
        { name: 'py', script: 'server.py', interpreter: 'python3', env: { PORT: '${port}' } },
        { name: 'tick', script: './tick.sh', interpreter: 'bash' },
      ] };`,
      'server.py': [
        'import http.server, json, os',
        'class H(http.server.BaseHTTPRequestHandler):',
        '    def do_GET(self):',
        '        body = json.dumps({"pid": os.getpid()}).encode()',
        '        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)',
        'http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()',
        '',
      ].join('\n'),
      'tick.sh': 'echo tick; exec sleep 1000\n',
    });
    const imported = await runCli(['import', 'pm2', 'ecosystem.config.js', '-o', '-'], { cwd: dir });
    expect(imported.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    const config = JSON.parse(imported.stdout) as { apps: Record<string, unknown>[] };
    expect(config.apps.map((a) => a.command)).toEqual([
      ['python3', 'server.py'],
      ['bash', './tick.sh'],
    ]);
    const root = startRoot(config, { dir });
    await root.running('py');
    await root.running('tick');
    await root.waitFor((e) => e.app === 'tick' && e.msg === 'tick', 'the script');
    const served = await getJson<{ pid: number }>(`127.0.0.1:${port}`);
    expect(workerEvents(root, 'py', 'ready').map((e) => e.pid)).toContain(served.pid);
    await stop(root);
  }, 30_000);

  it('reloads gunicorn on the shared port three times under traffic with 0 failed requests', async () => {
    const port = await freePort();
    const root = startRoot({
      apps: [
        {
          name: 'api',
          command: [GUNICORN, '--workers', '2', '--graceful-timeout', '5', 'wsgi_app:app'],
          cwd: PROGRAMS,
          instances: 2,
          listen: { port, host: '127.0.0.1' },
          readyTimeout: '20s',
          shutdown: { timeout: '10s' },
        },
      ],
    });
    await root.running('api');
    const address = `127.0.0.1:${port}`;
    const first = workerEvents(root, 'api', 'ready').map((e) => e.pid);
    expect(first).toHaveLength(2);
    // gunicorn took the socket clusterd gave it (it would bind its default 127.0.0.1:8000 otherwise).
    expect(
      root.events.some((e) => e.app === 'api' && String(e.msg).includes(`Listening at: http://${address}`)),
    ).toBe(true);
    const traffic = startTraffic(address, { concurrency: 8 });
    await traffic.answered(50);
    const mark = root.events.length;
    for (let i = 0; i < 3; i++) {
      const result = await reload(root, 'api');
      expect(result.reload, String(result.reason)).toBe('done');
      await traffic.answered(50);
    }
    const outcomes = await traffic.stop();
    const failed = outcomes.filter((o) => o.error);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(200);
    // Replacement before stop: every new instance was ready before its predecessor began to drain.
    const events = root.events.slice(mark).filter((e) => e.app === 'api' && typeof e.pid === 'number');
    for (const drained of events.filter((e) => e.to === 'draining')) {
      const at = events.indexOf(drained);
      const successor = events.slice(0, at).findLast((e) => e.to === 'ready' && e.worker === drained.worker);
      expect(successor, `a ready successor before ${drained.pid} drained`).toBeDefined();
    }
    // The new arbiters served: the answers after the last reload come from their workers.
    const arbiters = new Set(
      workerEvents(root, 'api', 'ready', mark)
        .slice(-2)
        .map((e) => e.pid),
    );
    const last = await getJson<{ arbiter: number }>(address);
    expect(arbiters.has(last.arbiter)).toBe(true);
    for (const pid of first) expect(isAlive(pid as number)).toBe(false);
    await stop(root);
  }, 90_000);

  it('is ready on "port" only once the instance itself accepts, not when the kernel does', async () => {
    const port = await freePort();
    const root = startRoot({
      apps: [
        {
          name: 'py',
          command: ['python3', '-u', join(PROGRAMS, 'activated.py')],
          listen: { port, host: '127.0.0.1', name: 'web' },
          env: { SLOW_START: '1.5' },
        },
      ],
    });
    const activated = await root.waitFor((e) => e.app === 'py' && e.msg === 'activated: web', 'activation');
    const ready = await root.waitFor((e) => e.app === 'py' && e.to === 'ready', 'ready');
    // The socket listens from the start, so a connection succeeds at once: readiness waited for the accept.
    expect(ready.time - activated.time).toBeGreaterThanOrEqual(1_400);
    expect((await getJson<{ pid: number }>(`127.0.0.1:${port}`)).pid).toBe(ready.pid);
    await stop(root);
  }, 30_000);

  it('is ready by an HTTP probe once it answers 2xx, by a command probe once that exits 0', async () => {
    const port = await freePort();
    const root = startRoot({
      apps: [
        {
          // Accepts at once, answers 503 for 2.5 s: "port" or "loaded" would be ready long before.
          name: 'http',
          command: ['python3', '-u', join(PROGRAMS, 'activated.py')],
          listen: { port, host: '127.0.0.1' },
          env: { UNREADY_FOR: '2.5' },
          readiness: { http: `http://127.0.0.1:${port}/`, interval: '100ms' },
        },
        {
          // Ready once it has written its marker file, which takes it 2.5 s (readySettle is 1 s).
          name: 'cmd',
          command: [
            'sh',
            '-c',
            'echo started; sleep 2.5; touch "marker-$CLUSTERD_WORKER_ID"; exec sleep 1000',
          ],
          readiness: { command: ['sh', '-c', 'test -e "marker-$CLUSTERD_WORKER_ID"'], interval: '100ms' },
        },
      ],
    });
    for (const app of ['http', 'cmd']) {
      const started = await root.waitFor((e) => e.app === app && e.to === 'starting', `${app} starting`);
      const ready = await root.waitFor((e) => e.app === app && e.to === 'ready', `${app} ready`);
      expect(ready.time - started.time, app).toBeGreaterThanOrEqual(2_400);
    }
    await stop(root);
  }, 30_000);

  it('refuses to start on a port another process holds, saying so, and listens on no other port', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const root = startRoot({
        apps: [
          {
            name: 'taken',
            command: ['sleep', '1000'],
            listen: { port, host: '127.0.0.1' },
            readiness: 'loaded',
          },
        ],
      });
      const errored = await root.waitFor((e) => e.app === 'taken' && e.to === 'errored', 'the app errored');
      expect(String(errored.reason)).toMatch(new RegExp(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`));
      expect(
        root.events.some((e) => e.app === 'taken' && e.to === 'starting' && e.worker !== undefined),
      ).toBe(false);
      expect((await root.waitForExit()).code).toBe(3);
      expect(taggedProcesses(root.tag)).toEqual([]);
    } finally {
      holder.close();
    }
  }, 30_000);

  it('hands over a blocking socket, as systemd does: a plain accept() on fd 3 serves', async () => {
    const port = await freePort();
    const root = startRoot({
      apps: [
        {
          name: 'inetd',
          command: ['python3', '-u', join(PROGRAMS, 'blocking-accept.py')],
          listen: { port, host: '127.0.0.1' },
          instances: 2,
        },
      ],
    });
    await root.running('inetd');
    const pids = workerEvents(root, 'inetd', 'ready').map((e) => e.pid);
    for (let i = 0; i < 6; i++)
      expect(pids).toContain((await getJson<{ pid: number }>(`127.0.0.1:${port}`)).pid);
    expect(root.events.filter((e) => e.app === 'inetd' && e.to === 'crashed')).toEqual([]);
    await stop(root);
  }, 30_000);

  it('moves to a new listen port on a config reload and closes the old one', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const config = (port: number) => ({
      apps: [
        {
          name: 'py',
          command: ['python3', '-u', join(PROGRAMS, 'activated.py')],
          listen: { port, host: '127.0.0.1' },
          instances: 2,
        },
      ],
    });
    const root = startRoot(config(first));
    await root.running('py');
    const mark = root.events.length;
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify(config(second)));
    root.signal('SIGHUP');
    await root.waitFor((e) => e.app === 'py' && e.reload === 'done', 'the reload', {
      from: mark,
      timeoutMs: 20_000,
    });
    const now = workerEvents(root, 'py', 'ready', mark).map((e) => e.pid);
    expect(now).toContain((await getJson<{ pid: number }>(`127.0.0.1:${second}`)).pid);
    // The old port is closed by the primary, and the old instances (which held it too) are gone.
    for (const e of workerEvents(root, 'py', 'ready').slice(0, 2))
      await root.waitFor((x) => x.pid === e.pid && x.to === 'stopped', 'an old instance stopped');
    await expect(getJson(`127.0.0.1:${first}`)).rejects.toThrow(/ECONNREFUSED/);
    await stop(root);
  }, 40_000);

  it('replaces a watched program when its files change: the new version serves on the same port', async () => {
    const port = await freePort();
    const root = startRoot(
      {
        apps: [
          {
            name: 'py',
            command: ['python3', '-u', 'server.py'],
            listen: { port, host: '127.0.0.1' },
            watch: { debounce: '100ms' },
          },
        ],
      },
      {
        files: {
          'server.py': readFileSync(join(PROGRAMS, 'activated.py'), 'utf8'),
          'version.txt': 'v1',
        },
      },
    );
    await root.running('py');
    await root.waitFor((e) => e.app === 'py' && Array.isArray(e.watching), 'the watcher');
    const before = (await getJson<{ pid: number }>(`127.0.0.1:${port}`)).pid;
    const mark = root.events.length;
    writeFileSync(join(root.dir, 'version.txt'), 'v2');
    const done = await root.waitFor((e) => e.app === 'py' && e.reload === 'done', 'the reload', {
      from: mark,
    });
    expect(done.replaced).toBe(1);
    const after = (await getJson<{ pid: number }>(`127.0.0.1:${port}`)).pid;
    expect(after).not.toBe(before);
    await root.waitFor(
      (e) => e.app === 'py' && e.pid === before && e.to === 'stopped',
      'the old one stopped',
    );
    expect(isAlive(before)).toBe(false);
    await stop(root);
  }, 30_000);

  it('stops a shell script and every child it started (its process group), none left', async () => {
    const root = startRoot({
      apps: [{ name: 'sh', command: [join(PROGRAMS, 'spawns-children.sh')], instances: 2 }],
    });
    await root.running('sh');
    const children = await root.waitForCount(
      (e) => e.app === 'sh' && /^child \d+$/.test(e.msg),
      4,
      'children',
    );
    const pids = children.map((e) => Number(e.msg.split(' ')[1]));
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    // SIGTERM to the group ends the script and its sleeps at once: no SIGKILL was needed.
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    for (const pid of pids) expect(isAlive(pid), `child ${pid}`).toBe(false);
    const stopped = workerEvents(root, 'sh', 'stopped');
    expect(stopped).toHaveLength(2);
    for (const e of stopped) expect(e.signal === 'SIGTERM' || e.code === 143).toBe(true);
    expect(taggedProcesses(root.tag)).toEqual([]);
  }, 30_000);

  it('leaves nothing of a program behind when its primary is SIGKILLed: the root kills its group', async () => {
    const root = startRoot({ apps: [{ name: 'sh', command: [join(PROGRAMS, 'spawns-children.sh')] }] });
    await root.running('sh');
    const children = await root.waitForCount(
      (e) => e.app === 'sh' && /^child \d+$/.test(e.msg),
      2,
      'children',
    );
    const script = workerEvents(root, 'sh', 'ready')[0]?.pid as number;
    const primary = root.events.find((e) => e.app === 'sh' && typeof e.primary === 'number')
      ?.primary as number;
    const mark = root.events.length;
    process.kill(primary, 'SIGKILL');
    await root.waitFor((e) => e.app === 'sh' && e.to === 'ready', 'the app back', { from: mark });
    // The old script and its children: gone (not re-parented to init and left running).
    for (const pid of [script, ...children.map((e) => Number(e.msg.split(' ')[1]))])
      expect(isAlive(pid), `pid ${pid}`).toBe(false);
    await stop(root);
  }, 30_000);

  it('kills a program that ignores SIGTERM at shutdown.timeout, with its group', async () => {
    const root = startRoot({
      apps: [
        { name: 'stubborn', command: [join(PROGRAMS, 'ignores-term.sh')], shutdown: { timeout: '800ms' } },
      ],
    });
    await root.running('stubborn');
    await root.waitFor((e) => e.app === 'stubborn' && e.msg === 'ignoring SIGTERM', 'the trap');
    root.signal('SIGTERM');
    const draining = await root.waitFor((e) => e.app === 'stubborn' && e.to === 'draining', 'draining');
    const stopped = await root.waitFor((e) => e.app === 'stubborn' && e.to === 'stopped', 'stopped');
    expect(stopped.signal).toBe('SIGKILL');
    const took = stopped.time - draining.time;
    expect(took).toBeGreaterThanOrEqual(750);
    // A SIGKILL that never came fails the wait above; one that came late (not armed at the drain) this.
    expect(took).toBeLessThan(1_500);
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag)).toEqual([]);
  }, 30_000);

  it('backs off a program that crashes at boot and errors the app at the crash-loop limit', async () => {
    const root = startRoot({
      apps: [
        {
          name: 'crash',
          command: ['sh', '-c', 'echo "cannot open /etc/missing.conf" >&2; exit 3'],
          restart: { maxRestarts: 3, backoff: { initial: '50ms', max: '200ms' } },
        },
      ],
    });
    const errored = await root.waitFor((e) => e.app === 'crash' && e.to === 'errored', 'the app errored');
    expect(String(errored.reason)).toMatch(/crash|restart/);
    const crashes = root.events.filter((e) => e.app === 'crash' && e.to === 'crashed');
    expect(crashes.length).toBe(4);
    expect(crashes[0]?.code).toBe(3);
    expect(String(crashes[0]?.msg)).toContain('cannot open /etc/missing.conf');
    // Its only app ended by itself, errored: the root ends too, with exit status 3.
    expect((await root.waitForExit()).code).toBe(3);
    expect(taggedProcesses(root.tag)).toEqual([]);
  }, 30_000);

  it('replaces a leaking Python process at guards.memory.limit, measured over its process group', async () => {
    const root = startRoot({
      apps: [
        {
          name: 'leak',
          // sh in front: the wrapper holds little itself, the Python process below it the memory.
          command: ['sh', '-c', 'python3 -u "$0"; exit $?', join(PROGRAMS, 'grows.py')],
          // About 2 s to the limit after a 1 s readySettle: room to read the status of the first process.
          env: { GROW_MB: '8' },
          guards: { memory: { limit: '200MB', interval: '100ms' } },
        },
      ],
    });
    await root.running('leak');
    const first = workerEvents(root, 'leak', 'ready')[0]?.pid as number;
    // status counts the group too: the sh in front holds about 1 MB, Python below it ten times that.
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    expect(status.apps[0].workers[0].pid).toBe(first);
    const memory = status.apps[0].workers[0].memory as number;
    expect(memory).toBeGreaterThan(15 * 1024 * 1024);
    const guard = await root.waitFor(
      (e) => e.app === 'leak' && e.guard === 'memory' && e.pid === first,
      'the guard',
    );
    expect(guard.msg).toMatch(/guards.memory.limit \(200MB\)/);
    await root.waitFor(
      (e) => e.app === 'leak' && e.pid === first && e.to === 'stopped',
      'the old one stopped',
    );
    const next = workerEvents(root, 'leak', 'ready').map((e) => e.pid);
    expect(next.length).toBeGreaterThanOrEqual(2);
    expect(isAlive(first)).toBe(false);
    await stop(root);
  }, 40_000);

  it('says why a program exits at once with 127, naming the app', async () => {
    const root = startRoot({
      apps: [
        {
          name: 'gone',
          command: ['sh', '-c', 'exec /nonexistent/program'],
          restart: { maxRestarts: 1, backoff: { initial: '50ms', max: '50ms' } },
        },
      ],
    });
    const crashed = await root.waitFor((e) => e.app === 'gone' && e.to === 'crashed', 'the crash');
    expect(crashed.code).toBe(127);
    expect(String(crashed.msg)).toMatch(/nonexistent/);
    await root.waitFor((e) => e.app === 'gone' && e.to === 'errored', 'the app errored');
    expect((await root.waitForExit()).code).toBe(3);
    expect(taggedProcesses(root.tag)).toEqual([]);
  }, 30_000);
});
