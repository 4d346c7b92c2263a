// The health server of a real root: /livez, /readyz and /metrics answered from real primaries and
// workers, over real HTTP; readiness through a crash and a stop with shutdown.delay under load; a hung
// primary; and the errors of an address that cannot be served.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { get, getJson } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { parseExposition } from '../helpers/prometheus.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

/** Polls an async check (a scrape) until it holds; rejects with `what` after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The health server's address, from the root's start event. */
async function healthOf(root: Root): Promise<string> {
  const started = await root.waitFor((e) => typeof e.health === 'string', 'the health address');
  return String(started.health);
}

function request(address: string, path: string, method: string) {
  return fetch(`http://${address}${path}`, { method });
}

async function scrape(health: string) {
  const res = await get(health, '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

const readyPids = (root: Root, app: string) =>
  root.events.filter((e) => e.app === app && e.to === 'ready').map((e) => String(e.pid));

describe('health server', () => {
  it("answers probes and serves clusterd's metrics and the apps' own, summed over their workers", async () => {
    const root = startRoot(
      {
        health: { port: 0 },
        apps: [
          fixtureApp('web', 'prom-app.cjs', { instances: 3, env: { PORT: 0 } }),
          fixtureApp('esm', 'prom-app.mjs', { instances: 2, env: { PORT: 0 } }),
        ],
      },
      {},
    );
    const health = await healthOf(root);
    await root.running('web');
    await root.running('esm');
    const web = await root.address('web');
    const esm = await root.address('esm');

    const ready = await get(health, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      ready: true,
      apps: [
        { name: 'web', state: 'running', ready: 3, need: 2, instances: 3, ok: true },
        { name: 'esm', state: 'running', ready: 2, need: 1, instances: 2, ok: true },
      ],
    });
    expect(await getJson(health, '/livez')).toEqual({
      live: true,
      apps: [
        { name: 'web', primary: 'answered' },
        { name: 'esm', primary: 'answered' },
      ],
    });

    // The first scrape starts each worker's delay histogram; it has a sample once its timer ticked twice.
    await eventually(
      async () =>
        (await scrape(health)).find('clusterd_worker_event_loop_delay_seconds', { app: 'web', quantile: '1' })
          .length === 3,
      "every web worker's event-loop delay",
    );
    // 30 requests spread over web's workers, 5 on esm's: the sums say so, whichever worker served them.
    const served = new Set<number>();
    for (let i = 0; i < 30; i++) served.add((await getJson<{ pid: number }>(web)).pid);
    expect(served.size).toBe(3);
    for (let i = 0; i < 5; i++) await getJson(esm);
    let text = await scrape(health);
    expect(text.value('app_requests_total', { app: 'web', route: '/' })).toBe(30);
    expect(text.value('esm_requests_total', { app: 'esm' })).toBe(5);
    // The workers' request counts come in the same answer as their samples (one question per worker).
    const ok = text.find('clusterd_http_requests_total', { app: 'web', code: '2xx' });
    expect(ok).toHaveLength(3);
    expect(ok.reduce((sum, s) => sum + s.value, 0)).toBe(30);
    expect(text.value('clusterd_workers', { app: 'web', state: 'ready' })).toBe(3);
    expect(text.value('clusterd_app_state', { app: 'esm', state: 'running' })).toBe(1);
    expect(text.value('clusterd_ready')).toBe(1);
    // The apps' default metrics are summed too: web's three workers' CPU, not one's.
    expect(text.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(text.find('process_cpu_user_seconds_total', { app: 'web' })).toHaveLength(1);
    // The primary's own memory, read as it answered (bench/soak.ts samples it).
    expect(text.value('clusterd_primary_resident_memory_bytes', { app: 'web' })).toBeGreaterThan(10e6);
    expect(text.value('clusterd_primary_heap_used_bytes', { app: 'web' })).toBeGreaterThan(1e6);
    for (const pid of readyPids(root, 'web')) {
      const labels = { app: 'web', pid };
      expect(text.value('clusterd_worker_resident_memory_bytes', labels)).toBeGreaterThan(10e6);
      expect(text.value('clusterd_worker_cpu_seconds_total', labels)).toBeGreaterThan(0);
    }

    const busy = await getJson<{ pid: number }>(web, '/busy?ms=400');
    text = await scrape(health);
    const loop = (pid: string) => text.value('clusterd_worker_event_loop_utilization', { app: 'web', pid });
    const others = readyPids(root, 'web').filter((p) => p !== String(busy.pid));
    expect(loop(String(busy.pid))).toBeGreaterThan(0.3);
    for (const pid of others) expect(loop(pid)).toBeLessThan(loop(String(busy.pid)));
    const maxDelay = text.value('clusterd_worker_event_loop_delay_seconds', {
      app: 'web',
      pid: String(busy.pid),
      quantile: '1',
    });
    expect(maxDelay).toBeGreaterThan(0.3);
    for (const pid of others)
      expect(
        text.value('clusterd_worker_event_loop_delay_seconds', { app: 'web', pid, quantile: '1' }),
      ).toBeLessThan(maxDelay);
    expect(text.value('app_requests_total', { app: 'web', route: '/busy' })).toBe(1);

    // What it does not serve, it says.
    expect((await get(health, '/')).status).toBe(404);
    const post = await request(health, '/readyz', 'POST');
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await request(health, '/readyz', 'HEAD');
    expect([head.status, await head.text()]).toEqual([200, '']);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('is unready while an app has fewer than readyShare of its workers ready, and counts the restart', async () => {
    const root = startRoot(
      {
        health: { port: 0, readyShare: 1 },
        apps: [
          fixtureApp('web', 'http-server.cjs', {
            instances: 2,
            env: { PORT: 0 },
            // Time to see the gap before the restart.
            restart: { backoff: { initial: '2s' } },
          }),
        ],
      },
      {},
    );
    const health = await healthOf(root);
    await root.running('web');
    expect((await get(health, '/readyz')).status).toBe(200);
    const [victim] = readyPids(root, 'web');
    process.kill(Number(victim), 'SIGKILL');
    const crashed = await root.waitFor((e) => e.to === 'crashed', 'the crash');
    const during = await get(health, '/readyz');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body).reason).toBe('web: 1 of 2 needed workers ready');
    expect((await getJson(health, '/livez')).live).toBe(true);
    await root.waitFor((e) => e.to === 'ready', 'the replacement', { from: root.events.indexOf(crashed) });
    expect((await get(health, '/readyz')).status).toBe(200);
    const text = await scrape(health);
    expect(text.value('clusterd_worker_restarts_total', { app: 'web', reason: 'signal' })).toBe(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('says a primary that stopped answering is not live, and live again once it answers', async () => {
    const root = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1, env: { PORT: 0 } })] },
      { args: ['--health', '127.0.0.1:0'] },
    );
    const health = await healthOf(root);
    await root.running('web');
    const primary = Number((await root.waitFor((e) => typeof e.primary === 'number', 'the primary')).primary);
    process.kill(primary, 'SIGSTOP');
    try {
      const hung = await get(health, '/livez');
      expect(hung.status).toBe(503);
      expect(JSON.parse(hung.body)).toMatchObject({
        live: false,
        reason: 'primary of web did not answer',
        apps: [{ name: 'web', primary: 'unresponsive' }],
      });
      // The metrics still answer, without that app's samples.
      const text = await scrape(health);
      expect(text.find('clusterd_worker_resident_memory_bytes')).toEqual([]);
      expect(text.value('clusterd_workers', { app: 'web', state: 'ready' })).toBe(1);
    } finally {
      process.kill(primary, 'SIGCONT');
    }
    expect((await get(health, '/livez')).status).toBe(200);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('shutdown.delay: on SIGTERM readiness turns 503 at once and the apps serve on; a load balancer that follows it loses no request', async () => {
    const DELAY = 1_500;
    const root = startRoot(
      {
        health: { port: 0 },
        apps: [
          fixtureApp('web', 'http-server.cjs', {
            instances: 2,
            env: { PORT: 0 },
            shutdown: { delay: `${DELAY}ms` },
          }),
        ],
      },
      {},
    );
    const health = await healthOf(root);
    await root.running('web');
    const load = startLoad(await root.address('web'), { connections: 10, maxSeconds: 20 });
    await load.after(200);
    const sent = Date.now();
    root.signal('SIGTERM');
    // The load balancer: it checks readiness every 50 ms and stops sending once it is 503.
    let status = 200;
    while (status === 200) {
      status = (await get(health, '/readyz')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    const unready = Date.now();
    expect(status).toBe(503);
    const before = load.responses();
    await load.after(100);
    expect(load.responses()).toBeGreaterThan(before);
    const result = await load.stop();
    expect(result).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
    expect(result.ok).toBe(result.requests);
    const draining = await root.waitFor((e) => e.to === 'draining', 'the drain');
    // Unready first; the drain only after the delay.
    expect(unready).toBeLessThan(draining.time);
    expect(draining.time - sent).toBeGreaterThanOrEqual(DELAY - 50);
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('keeps its address through a config reload that changes health, and says so', async () => {
    const config = {
      health: { port: 0 },
      apps: [fixtureApp('web', 'http-server.cjs', { instances: 1, env: { PORT: 0 } })],
    };
    const root = startRoot(config, {});
    const health = await healthOf(root);
    await root.running('web');
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify({ ...config, health: { port: 1 } }));
    root.signal('SIGHUP');
    await root.waitFor((e) => /^health changed in the config file: /.test(e.msg), 'the warning');
    await root.waitFor((e) => /^config reloaded/.test(e.msg), 'the reload');
    expect((await get(health, '/readyz')).status).toBe(200);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('refuses to start on an address it cannot serve, before any app starts', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const root = startRoot(
        {
          health: { port },
          apps: [fixtureApp('web', 'http-server.cjs', { instances: 1, env: { PORT: 0 } })],
        },
        {},
      );
      expect((await root.waitForExit()).code).toBe(1);
      expect(root.output.join('\n')).toContain(
        `cannot serve health on 127.0.0.1:${port}: the port is in use`,
      );
      expect(root.events.some((e) => e.primary !== undefined)).toBe(false);
    } finally {
      taken.close();
    }
    const bad = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] },
      { args: ['--health', 'localhost'] },
    );
    expect((await bad.waitForExit()).code).toBe(64);
    expect(bad.output.join('\n')).toContain('--health takes [host:]port');
  });
});
