// `incrementVar` run for real: a Python program that binds the port in its PORT itself (it cannot take
// clusterd's socket), two instances, each on its own port counted up from the app's PORT; a scale up
// gives the new slot the next one. A Node.js app beside it does the same with its workers. Every
// instance answers over HTTP, and nothing is left after the stop.
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { freePort, getJson } from '../helpers/http.js';
import { taggedProcesses } from '../helpers/processes.js';
import { FIXTURES, startRoot } from '../helpers/root.js';

// Binds (HTTPServer's constructor does), then leaves a mark named by its port, and serves.
const SERVER = [
  'import http.server, json, os',
  'port = int(os.environ["PORT"])',
  'class H(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        body = json.dumps({"port": port, "worker": os.environ["CLUSTERD_WORKER_ID"], "pid": os.getpid()}).encode()',
  '        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)',
  '    def log_message(self, *args): pass',
  'server = http.server.HTTPServer(("127.0.0.1", port), H)',
  'open("bound-%d" % port, "w").close()',
  'server.serve_forever()',
  '',
].join('\n');

// The probe runs with the instance's environment: it sees the instance's own PORT.
const PROBE = ['sh', '-c', 'test -e "bound-$PORT"'];

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

/** The first of `count` consecutive ports free on loopback right now. */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort();
    if (first + count - 1 > 65535) continue;
    const held: net.Server[] = [];
    try {
      for (let i = 0; i < count; i++) held.push(await listen(first + i));
      return first;
    } catch {
      // One of them is taken: try another run.
    } finally {
      await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
  throw new Error(`no ${count} consecutive free ports`);
}

describe('incrementVar', () => {
  it('gives each instance of a program its own port, PORT + slot, a scale up included; a Node.js app too', async () => {
    // One run for both apps, so that they cannot overlap: srv's three ports, then web's two.
    const base = await freePortRun(5);
    const web = base + 3;
    const dir = writeFiles(tempDir(), { 'serve.py': SERVER });
    const root = startRoot(
      {
        apps: [
          {
            name: 'srv',
            command: ['python3', '-u', 'serve.py'],
            instances: 2,
            env: { PORT: base },
            incrementVar: 'PORT',
            readiness: { command: PROBE, interval: '100ms' },
            readyTimeout: '10s',
          },
          // node:cluster workers each on their own port: each is ready on its own PORT's listen.
          {
            name: 'web',
            script: join(FIXTURES, 'http-server.cjs'),
            instances: 2,
            env: { PORT: web },
            incrementVar: 'PORT',
            readyTimeout: '10s',
          },
        ],
      },
      { dir },
    );
    await root.running('srv');
    await root.running('web');
    const ready = root.events.filter((e) => e.app === 'srv' && e.to === 'ready').map((e) => e.pid);
    const answers = [
      await getJson<{ port: number; worker: string; pid: number }>(`127.0.0.1:${base}`),
      await getJson<{ port: number; worker: string; pid: number }>(`127.0.0.1:${base + 1}`),
    ];
    expect(answers.map((a) => [a.port, a.worker])).toEqual([
      [base, '0'],
      [base + 1, '1'],
    ]);
    expect(ready).toEqual(expect.arrayContaining(answers.map((a) => a.pid)));

    const workers = [
      await getJson<{ worker: number }>(`127.0.0.1:${web}`),
      await getJson<{ worker: number }>(`127.0.0.1:${web + 1}`),
    ];
    expect(workers.map((w) => w.worker)).toEqual([0, 1]);

    const scaled = await runCli(['scale', 'srv', '3'], { cwd: root.dir, env: root.env });
    expect(scaled.stdout).toBe('srv: 2 -> 3 workers\n');
    const third = await getJson<{ port: number; worker: string }>(`127.0.0.1:${base + 2}`);
    expect([third.port, third.worker]).toEqual([base + 2, '2']);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  }, 60_000);
});
