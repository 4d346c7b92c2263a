// The request metrics of a real clusterd: real HTTP and HTTPS traffic of every kind to real workers,
// counted by the preload with no code in the app, read back from /metrics (per app and slot, as
// Prometheus parses it) and from `clusterd status` (req/s, 5xx share and p99 per worker, from the
// primary's request history), and nothing counted for an app with `requestMetrics: false`.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { type Exposition, parseExposition } from '../helpers/prometheus.js';
import { FIXTURES, fixtureApp, type Root, startRoot } from '../helpers/root.js';

const CA = readFileSync(join(FIXTURES, 'tls/cert.pem'));

type How = 'read' | 'abort' | 'upgrade';

/**
 * One exchange on a fresh connection: `read` the whole answer (its status), `abort` once the head has
 * come (the server started answering, and its response never finishes), or `upgrade`.
 */
function exchange(address: string, path: string, how: How = 'read', tls = false): Promise<number> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const upgrade = how === 'upgrade' ? { connection: 'Upgrade', upgrade: 'test' } : {};
  const options = { host: '127.0.0.1', port, path, agent: false, headers: upgrade, timeout: 10_000 };
  return new Promise((resolve, reject) => {
    const req = tls ? https.request({ ...options, ca: CA }) : http.request(options);
    req.on('response', (res) => {
      if (how === 'abort') {
        req.destroy();
        resolve(res.statusCode ?? 0);
        return;
      }
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', (error) => (how === 'abort' ? undefined : reject(error)));
    req.end();
  });
}

/**
 * One HTTP/1.0 request on a raw socket, read until the server closes it (HTTP/1.0 has no keep-alive by
 * default, and a response of unknown length is delimited by the close): its status.
 */
function http10(address: string, path: string): Promise<number> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      answer += d;
    });
    socket.on('end', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

/** Polls an async check until it holds; rejects with `what` after `timeoutMs`. */
async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function healthOf(root: Root): Promise<string> {
  const started = await root.waitFor((e) => typeof e.health === 'string', 'the health address');
  return String(started.health);
}

async function scrape(health: string): Promise<Exposition> {
  const res = await get(health, '/metrics');
  expect(res.status).toBe(200);
  return parseExposition(res.body);
}

/** A family's samples of an app, summed over its worker slots. */
const total = (text: Exposition, name: string, labels: Record<string, string>) =>
  text.find(name, labels).reduce((sum, s) => sum + s.value, 0);

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

describe('request metrics', () => {
  it('counts every kind of exchange per app and slot in /metrics and status, HTTP and HTTPS, with no app code', async () => {
    const root = startRoot({
      health: { port: 0 },
      apps: [
        fixtureApp('web', 'request-kinds.cjs', { instances: 2, env: { PORT: 0 } }),
        fixtureApp('tls', 'request-kinds.cjs', { instances: 1, env: { PORT: 0, HTTPS: '1' } }),
        fixtureApp('off', 'request-kinds.cjs', { instances: 1, env: { PORT: 0 }, requestMetrics: false }),
      ],
    });
    const health = await healthOf(root);
    await Promise.all(['web', 'tls', 'off'].map((app) => root.running(app)));
    const web = await root.address('web');
    const tls = await root.address('tls');
    const off = await root.address('off');

    // web: 20 x 200, 4 x 404, 6 x 500, a 1 s answer, a server-sent event stream (chunked), an aborted
    // response, an upgrade, and over HTTP/1.0 (ended by the close, no chunks) an answer and an event stream.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await exchange(web, '/'));
    for (let i = 0; i < 4; i++) statuses.push(await exchange(web, '/status/404'));
    for (let i = 0; i < 6; i++) statuses.push(await exchange(web, '/status/500'));
    statuses.push(await exchange(web, '/slow?ms=1000'));
    statuses.push(await exchange(web, '/sse?ms=600'));
    statuses.push(await exchange(web, '/hang', 'abort'));
    statuses.push(await exchange(web, '/', 'upgrade'));
    statuses.push(await http10(web, '/'));
    statuses.push(await http10(web, '/sse?ms=100'));
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses.at(-3)).toBe(101);
    for (let i = 0; i < 5; i++) expect(await exchange(tls, '/', 'read', true)).toBe(200);
    expect(await exchange(tls, '/status/503', 'read', true)).toBe(503);
    for (let i = 0; i < 5; i++) expect(await exchange(off, '/')).toBe(200);

    // A response is counted when it closes, right after the client has its end: scraped until it shows.
    const text = await eventually(async () => {
      const t = await scrape(health);
      return total(t, 'clusterd_http_requests_total', { app: 'web', code: 'aborted' }) === 1 &&
        total(t, 'clusterd_http_requests_total', { app: 'tls', code: '5xx' }) === 1
        ? t
        : undefined;
    }, 'the requests in /metrics');
    const web2 = (code: string) => total(text, 'clusterd_http_requests_total', { app: 'web', code });
    expect([web2('1xx'), web2('2xx'), web2('3xx'), web2('4xx'), web2('5xx'), web2('aborted')]).toEqual([
      0, 24, 0, 4, 6, 1,
    ]);
    // Both workers served some (round-robin), each its own series.
    const slots = new Set(
      text.find('clusterd_http_requests_total', { app: 'web' }).map((s) => s.labels.worker),
    );
    expect(slots).toEqual(new Set(['0', '1']));
    // The latency: every finished response but the event streams, the 1 s one above 0.5 s.
    const bucket = (le: string) =>
      total(text, 'clusterd_http_request_duration_seconds_bucket', { app: 'web', le });
    expect(total(text, 'clusterd_http_request_duration_seconds_count', { app: 'web' })).toBe(32);
    expect(bucket('+Inf')).toBe(32);
    expect(bucket('0.5')).toBeLessThanOrEqual(31);
    expect(bucket('2.5')).toBe(32);
    expect(total(text, 'clusterd_http_request_duration_seconds_sum', { app: 'web' })).toBeGreaterThan(1);
    // HTTPS through the same subscriber.
    expect(total(text, 'clusterd_http_requests_total', { app: 'tls', code: '2xx' })).toBe(5);
    expect(total(text, 'clusterd_http_request_duration_seconds_count', { app: 'tls' })).toBe(6);
    // requestMetrics: false: nothing, rather than zeros that would say "no traffic".
    expect(text.find('clusterd_http_requests_total', { app: 'off' })).toEqual([]);

    // status: from the primary's history, sampled every 2 s; polled until a sample after the traffic.
    type Figures = { rate: number | null; serverErrors: number | null; p99: number | null } | null;
    type Status = {
      apps: { name: string; requests: Figures; workers: { pid: number; requests: Figures }[] }[];
    };
    const status = await eventually(async () => {
      const s = JSON.parse((await cli(root, ['status', '--json'])).stdout) as Status;
      const app = s.apps.find((a) => a.name === 'web')?.requests;
      // Each primary samples on its own 2 s timer: the HTTPS app's history may come a sample later.
      const tls = s.apps.find((a) => a.name === 'tls')?.workers[0]?.requests;
      // 6 of the 34 finished responses were 5xx; 1 of the HTTPS app's 6.
      return app?.serverErrors === 6 / 34 && tls?.serverErrors === 1 / 6 ? s : undefined;
    }, 'the requests in status');
    const [webStatus, tlsStatus, offStatus] = status.apps;
    expect(webStatus?.requests?.rate).toBeGreaterThan(0);
    // p99 of 32 latencies, one of them just over 1 s: read in that one's bucket.
    expect(webStatus?.requests?.p99).toBeGreaterThan(1000);
    expect(webStatus?.requests?.p99).toBeLessThan(2500);
    const rates = webStatus?.workers.map((w) => w.requests?.rate ?? Number.NaN) ?? [];
    expect(rates).toHaveLength(2);
    for (const rate of rates) expect(rate).toBeGreaterThan(0);
    expect(rates.reduce((a, b) => a + b, 0)).toBeCloseTo(webStatus?.requests?.rate ?? 0, 6);
    expect(tlsStatus?.workers[0]?.requests).toMatchObject({ serverErrors: 1 / 6 });
    expect(offStatus?.requests).toBeNull();
    expect(offStatus?.workers[0]?.requests).toBeNull();

    // Each primary sends its figures after each sample: `status` reads the root's copy. With web's
    // primary stopped (SIGSTOP), they are still there at once, not left out after the 1 s it would
    // have been given to answer (the hang watch allows it 10 s).
    const webPrimary = root.events.find((e) => e.app === 'web' && typeof e.primary === 'number')
      ?.primary as number;
    process.kill(webPrimary, 'SIGSTOP');
    try {
      const asked = Date.now();
      const s = JSON.parse((await cli(root, ['status', '--json'])).stdout) as Status;
      expect(s.apps.find((a) => a.name === 'web')?.requests?.serverErrors).toBe(6 / 34);
      expect(Date.now() - asked).toBeLessThan(5_000);
    } finally {
      process.kill(webPrimary, 'SIGCONT');
    }

    const table = (await cli(root, ['status'])).stdout.split('\n');
    expect(table[1]).toMatch(/ MEMORY +REQ\/S +5XX +P99 +SCRIPT$/);
    const rows = (app: string) => table.filter((line) => line.startsWith(`${app} `));
    for (const row of rows('web')) expect(row).toMatch(/ MiB +\d+(\.\d)? +\d+(\.\d)?% +\d+(\.\d)? ms +\S/);
    expect(rows('off')[0]).toMatch(/ MiB +- +- +- +\S/);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
