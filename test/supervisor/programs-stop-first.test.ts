// A program that binds a fixed port itself (no `listen` socket to take) cannot overlap with the
// instance it replaces: a start-first reload fails on EADDRINUSE and keeps the old one serving, a
// stop-first reload (`reload.order`) stops the old one first and serves again from the new one. Real
// Python servers, real HTTP.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/files.js';
import { freePort, getJson } from '../helpers/http.js';
import { taggedProcesses } from '../helpers/processes.js';
import { startRoot } from '../helpers/root.js';

const SERVER = [
  'import http.server, json, os, sys',
  'class H(http.server.BaseHTTPRequestHandler):',
  '    def log_message(self, *args): pass',
  '    def do_GET(self):',
  '        body = json.dumps({"pid": os.getpid()}).encode()',
  '        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)',
  'http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()',
  '',
].join('\n');

const PROBE = [
  'import json, os, sys, urllib.request',
  'pid = json.load(urllib.request.urlopen(sys.argv[1], timeout=1))["pid"]',
  'sys.exit(pid != int(os.environ["CLUSTERD_INSTANCE_PID"]))',
].join('\n');

describe('programs on a fixed port: reload.order', () => {
  it('start-first fails on the busy port and keeps the old instance; stop-first replaces it', async () => {
    const dir = tempDir();
    const server = join(dir, 'server.py');
    writeFileSync(server, SERVER);
    const [overlap, recreate] = [await freePort(), await freePort()];
    const app = (name: string, port: number, order: string) => ({
      name,
      command: ['python3', '-u', server, String(port)],
      // Ready once the instance itself answers: an HTTP probe on the port could be answered by the old
      // one, which holds it while a start-first replacement starts (docs/programs.md).
      readiness: { command: ['python3', '-c', PROBE, `http://127.0.0.1:${port}/`], interval: '200ms' },
      reload: { order },
      restart: { maxRestarts: 0 },
    });
    const root = startRoot(
      { apps: [app('overlap', overlap, 'start-first'), app('recreate', recreate, 'stop-first')] },
      { dir },
    );
    await root.running('overlap');
    await root.running('recreate');
    const before = {
      overlap: (await getJson<{ pid: number }>(`127.0.0.1:${overlap}`)).pid,
      recreate: (await getJson<{ pid: number }>(`127.0.0.1:${recreate}`)).pid,
    };
    const from = root.events.length;
    root.signal('SIGUSR2');
    const ended = (name: string) =>
      root.waitFor(
        (e) => e.app === name && (e.reload === 'done' || e.reload === 'failed'),
        `${name} reload`,
        {
          from,
          timeoutMs: 20_000,
        },
      );
    const [failed, done] = [await ended('overlap'), await ended('recreate')];

    expect(failed.reload).toBe('failed');
    expect(String(failed.reason)).toMatch(/worker 0 did not get ready: exit code 1: OSError: \[Errno 98\]/);
    expect((await getJson<{ pid: number }>(`127.0.0.1:${overlap}`)).pid).toBe(before.overlap);

    expect(done.reload).toBe('done');
    const after = (await getJson<{ pid: number }>(`127.0.0.1:${recreate}`)).pid;
    expect(after).not.toBe(before.recreate);
    // The old instance stopped before the new one started: never two at once.
    const events = root.events.slice(from).filter((e) => e.app === 'recreate' && typeof e.pid === 'number');
    const stopped = events.findIndex((e) => e.pid === before.recreate && e.to === 'stopped');
    const started = events.findIndex((e) => e.pid === after && e.to === 'starting');
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(stopped);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  }, 40_000);
});
