// The dashboard's defences on a real root over real HTTP: sign-ins sent in parallel are limited as they
// are decided, the env token is taken out of the apps' environment (also after a config reload), the
// Host rule against DNS rebinding, HEAD on streams, oversized bodies, and unchecked app names in logs.
import { writeFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, dashboardAddress, SseStream } from '../../helpers/dashboard.js';
import { getJson } from '../../helpers/http.js';
import { fixtureApp, startRoot } from '../../helpers/root.js';

const TOKEN = 'dashboard-security-token-4c8e2a9f17';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const web = (name = 'web') => fixtureApp(name, 'http-server.cjs', { instances: 1, env: { PORT: 0 } });

/**
 * `count` sign-ins from one address whose headers all reach the server (each answered 100 Continue, so
 * its handler has run) before any body is sent; resolves to their statuses.
 */
async function parallelSignIns(address: string, count: number, body: string): Promise<number[]> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').pop())];
  const sent: { req: ClientRequest; status: Promise<number> }[] = [];
  const continued: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let onContinue: () => void = () => {};
    continued.push(new Promise<void>((resolve) => (onContinue = resolve)));
    const req = request({
      host,
      port,
      method: 'POST',
      path: '/dashboard/login',
      agent: false,
      headers: { ...form, expect: '100-continue', 'content-length': String(Buffer.byteLength(body)) },
    });
    req.on('continue', onContinue);
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        onContinue();
      });
      req.on('error', reject);
    });
    req.flushHeaders();
    sent.push({ req, status });
  }
  await Promise.all(continued);
  for (const { req } of sent) req.end(body);
  return Promise.all(sent.map((s) => s.status));
}

describe('dashboard defences', () => {
  const guarded = () =>
    startRoot(
      {
        health: { port: 0, host: '0.0.0.0', dashboard: { actions: true, token: { env: 'DASH_TOKEN' } } },
        apps: [web()],
      },
      { env: { DASH_TOKEN: TOKEN } },
    );
  const signIn = (address: string, localAddress: string) =>
    call(address, 'POST', '/dashboard/login', { headers: form, body: `token=${TOKEN}`, localAddress });

  it('counts sign-ins sent in parallel as they are decided; the limit is per address', async () => {
    const root = guarded();
    const address = await dashboardAddress(root);
    // 10 wrong sign-ins whose bodies arrive after all their headers: 5 are tried, 5 are refused.
    const statuses = await parallelSignIns(address, 10, 'token=wrong-but-long-enough');
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect((await signIn(address, '127.0.0.1')).status).toBe(429);
    // The right token from another address still signs in.
    expect((await signIn(address, '127.0.0.2')).status).toBe(303);
    expect(root.output.join('\n')).not.toContain(TOKEN);
  });

  it('takes the env token out of the apps, also of one a config reload adds; sign-in still works', async () => {
    const root = guarded();
    const address = await dashboardAddress(root);
    await root.running('web');
    const env = await getJson<Record<string, string>>(await root.address('web'), '/env');
    expect(env.CLUSTERD_APP).toBe('web');
    expect(env.DASH_TOKEN).toBeUndefined();
    expect(JSON.stringify(env)).not.toContain(TOKEN);

    const mark = root.events.length;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({
        health: { port: 0, host: '0.0.0.0', dashboard: { actions: true, token: { env: 'DASH_TOKEN' } } },
        apps: [web(), web('added')],
      }),
    );
    root.signal('SIGHUP');
    await root.waitFor((e) => String(e.msg).startsWith('config reloaded'), 'the config reload', {
      from: mark,
    });
    await root.running('added', mark);
    const added = await getJson<Record<string, string>>(await root.address('added'), '/env');
    expect(added.CLUSTERD_APP).toBe('added');
    expect(added.DASH_TOKEN).toBeUndefined();
    expect((await signIn(address, '127.0.0.1')).status).toBe(303);
  });

  it('without a token, answers only a Host of this machine (DNS rebinding); with one on 0.0.0.0, any', async () => {
    const root = startRoot({ health: { port: 0, dashboard: true }, apps: [web()] });
    const address = await dashboardAddress(root);
    await root.running('web');
    const port = address.split(':').pop() as string;
    // A page whose name rebinds to 127.0.0.1 sends its own name as Host.
    for (const path of ['/dashboard/', '/dashboard/api/stream', '/dashboard/api/logs?app=web']) {
      const rebound = await call(address, 'GET', path, { headers: { host: `evil.example:${port}` } });
      expect(rebound.status, path).toBe(403);
      expect(rebound.body).not.toContain('evil');
    }
    expect((await call(address, 'GET', '/dashboard/', { headers: { host: 'evil.example' } })).status).toBe(
      403,
    );
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      expect((await call(address, 'GET', '/dashboard/', { headers: { host } })).status, host).toBe(200);
      const stream = new SseStream(address, '/dashboard/api/logs?app=web', { host });
      await stream.next((m) => m.event === 'lines', `the lines for Host ${host}`);
      expect(stream.status).toBe(200);
      stream.close();
    }

    // Bound to 0.0.0.0 with a token, any Host is legitimate (a pod IP, a service name).
    const other = guarded();
    const otherAddress = await dashboardAddress(other);
    const named = await call(otherAddress, 'GET', '/dashboard/', { headers: { host: 'clusterd.svc:9100' } });
    expect(named.status).toBe(200);
    expect(named.body).toContain('name="token"');
  });

  it('answers HEAD of a stream at once, holding no stream open', async () => {
    const root = startRoot({ health: { port: 0, dashboard: true }, apps: [web()] });
    const address = await dashboardAddress(root);
    await root.running('web');
    // 20 HEADs of each: more than either stream limit, so GETs after them show nothing was held.
    for (let i = 0; i < 20; i++) {
      for (const path of ['/dashboard/api/stream', '/dashboard/api/logs?app=web']) {
        const head = await call(address, 'HEAD', path, { timeoutMs: 1_000 });
        expect(head.status, path).toBe(200);
        expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      }
    }
    const fleet = new SseStream(address, '/dashboard/api/stream');
    await fleet.next((m) => m.event === 'hello', 'hello after the HEADs');
    const logs = new SseStream(address, '/dashboard/api/logs?app=web');
    await logs.next((m) => m.event === 'lines', 'lines after the HEADs');
    fleet.close();
    logs.close();
  });

  it('refuses oversized bodies (413) and unknown apps (404) before anything is run or logged', async () => {
    const root = guarded();
    const address = await dashboardAddress(root);
    await root.running('web');
    const huge = await call(address, 'POST', '/dashboard/login', {
      headers: form,
      body: `token=${'x'.repeat(5 * 1024)}`,
    });
    expect(huge.status).toBe(413);
    const good = await signIn(address, '127.0.0.1');
    expect(good.status).toBe(303);
    const cookie = String(good.headers['set-cookie']).split(';')[0] as string;
    const headers = {
      cookie,
      origin: `http://${address}`,
      'x-clusterd-dashboard': '1',
      'content-type': 'application/json',
    };
    const act = (path: string, body = '{}') => call(address, 'POST', path, { headers, body });

    // An action with a 5 KiB body is refused, not run without its body.
    const big = await act('/dashboard/api/apps/web/restart', JSON.stringify({ pad: 'x'.repeat(5 * 1024) }));
    expect(big.status).toBe(413);
    // An unknown app named with control characters: 404, and the name never reaches the log.
    expect((await act('/dashboard/api/apps/%1B%5B2J%0Afake/restart')).status).toBe(404);
    // A real action after them: its log line comes after any they would have written.
    expect((await act('/dashboard/api/apps/web/reload')).status).toBe(200);
    await root.waitFor((e) => /dashboard: reload of web asked/.test(e.msg), 'the reload logged');
    expect(root.events.filter((e) => /dashboard: restart/.test(e.msg))).toEqual([]);
    expect(root.output.join('\n')).not.toMatch(/\[2J|fake/);
  });
});
