// Sticky balancing keyed by a header (`stickyHeader`), for apps behind a proxy: every connection comes
// from the proxy's address, so the client IP would send them all to one worker. The primary reads the
// first request head of each connection, keys it by X-Forwarded-For, and hands the socket over with the
// bytes it read: the app sees the whole request (a 100 KB body included), and each client keeps its
// worker slot through a reload. A TLS connection, which the primary cannot read, is keyed by its IP.
import http from 'node:http';
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

interface Answer {
  worker: number;
  pid: number;
  xff: string | null;
  bytes: number;
}

function request(
  address: string,
  options: { xff?: string; body?: Buffer; tls?: boolean; agent?: http.Agent } = {},
): Promise<Answer> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    address.slice(address.lastIndexOf(':') + 1),
  ];
  const client = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        host,
        port,
        method: options.body ? 'POST' : 'GET',
        path: '/',
        headers: options.xff ? { 'x-forwarded-for': options.xff } : {},
        agent: options.agent ?? false,
        rejectUnauthorized: false,
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

function start(extra: Record<string, unknown> = {}): Root {
  return startRoot({
    apps: [
      fixtureApp('web', 'sticky-echo.mjs', {
        instances: 4,
        balancing: 'sticky',
        stickyHeader: 'X-Forwarded-For',
        env: { PORT: 0 },
        ...extra,
      }),
    ],
  });
}

const clients = Array.from({ length: 40 }, (_, i) => `203.0.113.${i + 1}, 10.0.0.1`);

async function slots(address: string): Promise<Map<string, number>> {
  const slot = new Map<string, number>();
  for (let round = 0; round < 3; round++)
    for (const xff of clients) {
      const { worker } = await request(address, { xff });
      const seen = slot.get(xff);
      if (seen !== undefined) expect(worker, `${xff} sticks`).toBe(seen);
      slot.set(xff, worker);
    }
  return slot;
}

describe('sticky balancing by a header', () => {
  it('keys connections by X-Forwarded-For, delivers the bytes it read, and keeps each key through a reload', async () => {
    const root = start();
    await root.running('web');
    const address = await root.address('web');
    const before = await slots(address);
    // All from 127.0.0.1, and yet spread over the workers by their header.
    expect(new Set(before.values()).size).toBeGreaterThanOrEqual(3);
    // A body much larger than the head the primary read reaches the app whole.
    const body = Buffer.alloc(100_000, 'x');
    const posted = await request(address, { xff: clients[0], body });
    expect(posted).toMatchObject({ worker: before.get(clients[0] as string), bytes: 100_000 });
    expect(posted.xff).toBe(clients[0]);

    const from = root.events.length;
    root.signal('SIGUSR2');
    const done = await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the reload', {
      from,
      timeoutMs: 30_000,
    });
    expect(done.replaced).toBe(4);
    // The successors took their slots' keys.
    expect(await slots(address)).toEqual(before);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);

  it('a keep-alive connection stays with the worker its first request chose; no header: the client IP', async () => {
    const root = start();
    await root.running('web');
    const address = await root.address('web');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await request(address, { xff: clients[0], agent });
    const later = await Promise.all(clients.slice(1, 10).map((xff) => request(address, { xff, agent })));
    // One connection (one pid), whatever client each request was for: the key was decided once.
    expect(new Set(later.map((a) => a.pid))).toEqual(new Set([first.pid]));
    agent.destroy();
    const bare = await Promise.all(Array.from({ length: 10 }, () => request(address)));
    expect(new Set(bare.map((a) => a.worker)).size).toBe(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);

  it('HTTPS: the primary cannot read the head, keys by IP, and every request is answered', async () => {
    const root = start({ env: { PORT: 0, TLS: '1' } });
    await root.running('web');
    const address = await root.address('web');
    const answers = await Promise.all(
      clients.slice(0, 20).map((xff) => request(address, { xff, tls: true, body: Buffer.alloc(20_000) })),
    );
    expect(answers.every((a) => a.bytes === 20_000)).toBe(true);
    expect(new Set(answers.map((a) => a.worker)).size).toBe(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);

  it('refuses stickyHeader without sticky balancing, with a clear message', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'sticky-echo.mjs', { stickyHeader: 'X-Forwarded-For', env: { PORT: 0 } })],
    });
    const exit = await root.waitForExit();
    expect(exit.code).not.toBe(0);
    expect(root.tail()).toContain('stickyHeader "X-Forwarded-For" keys sticky balancing');
  });
});
