// An HTTPS app (node:https, the test-only key pair in test/fixtures/tls) with the two balancings in
// which the primary hands over each connection: it receives the raw TCP connection and the TLS handshake
// happens in the worker, so the app's TLS server works unchanged, sticky keys on the client IP as
// for plain HTTP, and a reload under keep-alive TLS load fails no request.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type Root, startRoot } from '../helpers/root.js';

const CA = readFileSync(join(FIXTURES, 'tls/cert.pem'));
const IPS = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);

/** One GET over TLS (the certificate checked against the fixture's) on a fresh connection. */
function getTls(address: string, localAddress: string): Promise<{ pid: number; framework: string }> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/',
      ca: CA,
      localAddress,
      agent: false,
      timeout: 5_000,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode} ${body}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('GET / over TLS timed out')));
    req.on('error', reject);
    req.end();
  });
}

const readyPids = (root: Root, from = 0) =>
  root.events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'ready')
    .map((e) => e.pid as number);

describe('HTTPS with a handoff balancing', () => {
  it.each(['least-connections', 'sticky'])(
    '%s: the app answers over TLS, and reloads under keep-alive TLS load with 0 failed requests',
    async (balancing) => {
      const root = startRoot({
        apps: [
          {
            name: 'web',
            script: join(FIXTURES, 'https-app.mjs'),
            instances: 4,
            balancing,
            env: { PORT: 0 },
          },
        ],
      });
      await root.running('web');
      const address = await root.address('web');
      const workers = new Set(readyPids(root));

      // Each IP, three times on new connections; every answer from one of the app's workers.
      const byIp = new Map<string, Set<number>>();
      await Promise.all(
        IPS.map(async (ip) => {
          const pids = new Set<number>();
          for (let i = 0; i < 3; i++) {
            const answer = await getTls(address, ip);
            expect(answer.framework).toBe('https');
            pids.add(answer.pid);
          }
          byIp.set(ip, pids);
        }),
      );
      const reached = new Set([...byIp.values()].flatMap((pids) => [...pids]));
      for (const pid of reached) expect(workers).toContain(pid);
      expect(reached.size).toBeGreaterThan(1);
      if (balancing === 'sticky') for (const [ip, pids] of byIp) expect(pids.size, ip).toBe(1);

      const from = root.events.length;
      const load = startLoad(address, { connections: 20, tls: true });
      await load.after(50);
      const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 30_000 });
      expect(reload.code, reload.stderr).toBe(0);
      await load.after(50);
      const stats = await load.stop();
      expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
      expect(stats.ok).toBe(stats.requests);
      const successors = new Set(readyPids(root, from));
      expect(successors.size).toBe(4);
      expect(successors).toContain((await getTls(address, '127.0.0.2')).pid);

      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
  );
});
