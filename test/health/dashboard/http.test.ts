// The dashboard of a real root over real HTTP: its headers, routes and streams read-only on loopback;
// with a token on 0.0.0.0, sign-in, sessions, the checks on actions and an action that reloads the app;
// and the starts it refuses. No process is left behind (helpers/root.ts checks after each test).
import { describe, expect, it } from 'vitest';
import { call, dashboardAddress, SseStream } from '../../helpers/dashboard.js';
import { get } from '../../helpers/http.js';
import { fixtureApp, type Root, startRoot } from '../../helpers/root.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const TOKEN = 'dashboard-test-token-7f3a9c1e5b';
const web = (instances = 2) => fixtureApp('web', 'http-server.cjs', { instances, env: { PORT: 0 } });

function expectSecure(headers: Record<string, unknown>) {
  expect(headers['content-security-policy']).toBe(CSP);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
}

const noStack = (root: Root) => expect(root.output.join('\n')).not.toMatch(/^\s+at /m);

describe('dashboard over HTTP', () => {
  it('read-only on loopback: the page, its files and streams under a strict CSP; no actions, no sign-in', async () => {
    const root = startRoot({ health: { port: 0, dashboard: true }, apps: [web()] });
    const address = await dashboardAddress(root);
    await root.running('web');

    const redirect = await call(address, 'GET', '/dashboard');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('dashboard/');
    const page = await call(address, 'GET', '/dashboard/');
    expect(page.status).toBe(200);
    expectSecure(page.headers);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    // No inline script, no inline style, no absolute URL: everything from this server, relative.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\sstyle=|<style/);
    expect(page.body).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    for (const [asset, type] of [
      ['app.js', 'text/javascript'],
      ['charts.js', 'text/javascript'],
      ['view.js', 'text/javascript'],
      ['style.css', 'text/css'],
      ['vendor/uPlot.iife.min.js', 'text/javascript'],
      ['vendor/uPlot.min.css', 'text/css'],
    ]) {
      const res = await call(address, 'GET', `/dashboard/${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers['content-type']).toBe(`${type}; charset=utf-8`);
      expectSecure(res.headers);
    }
    const missing = await call(address, 'GET', '/dashboard/nothing.js');
    expect(missing.status).toBe(404);
    expectSecure(missing.headers);
    expect((await call(address, 'GET', '/dashboard/index.html')).status).toBe(404);
    expect((await call(address, 'GET', '/dashboard/../package.json')).status).toBe(404);
    expect((await call(address, 'GET', '/dashboard/../dashboard/')).status).toBe(404);
    const malformed = await call(address, 'POST', '/dashboard/api/apps/%E0%A4%A/reload');
    expect(malformed.status).toBe(404);
    const elsewhere = await get(address, '/nothing');
    expect(elsewhere.status).toBe(404);
    expect(JSON.parse(elsewhere.body).paths).toContain('/dashboard/');
    expect((await call(address, 'POST', '/dashboard/login', { body: `token=${TOKEN}` })).status).toBe(404);
    const action = await call(address, 'POST', '/dashboard/api/apps/web/reload', {
      headers: { 'x-clusterd-dashboard': '1', origin: `http://${address}` },
    });
    expect(action.status).toBe(403);
    expect(JSON.parse(action.body).error).toMatch(/actions are off/);
    expect((await call(address, 'DELETE', '/dashboard/')).status).toBe(405);

    const stream = new SseStream(address, '/dashboard/api/stream');
    expect((await stream.next((m) => m.event === 'hello', 'hello')).value).toEqual({
      actions: false,
      signedIn: false,
    });
    const history = await stream.next<{ events: { msg: string }[] }>((m) => m.event === 'history', 'history');
    expect(history.value.events.some((e) => /clusterd started/.test(e.msg))).toBe(true);
    const sample = await stream.next<{ apps: { name: string; workers: unknown[] }[] }>(
      (m) => m.event === 'sample',
      'a sample',
    );
    expect(sample.value.apps[0]).toMatchObject({ name: 'web' });
    expect(sample.value.apps[0]?.workers).toHaveLength(2);
    expect(stream.status).toBe(200);

    const logs = new SseStream(address, '/dashboard/api/logs?app=web');
    await logs.next((m) => m.event === 'lines', 'the recent lines');
    const app = await root.address('web');
    await get(app, '/slow?ms=1');
    await logs.next((m) => m.event === 'lines' && m.data.includes('slow request started'), 'a live line');
    expect((await call(address, 'GET', '/dashboard/api/logs?app=nope')).status).toBe(404);
    expect((await call(address, 'GET', '/dashboard/api/logs')).status).toBe(400);
    // Log streams are limited: 8 at once, the 9th is refused.
    const more = Array.from({ length: 7 }, () => new SseStream(address, '/dashboard/api/logs?app=web'));
    await Promise.all(more.map((s) => s.next((m) => m.event === 'lines', 'lines')));
    expect((await call(address, 'GET', '/dashboard/api/logs?app=web')).status).toBe(503);
    for (const s of [logs, ...more]) s.close();

    // A stop ends the open stream, and clusterd exits as usual.
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    await stream.next(() => false, 'the end').catch(() => {});
    expect(stream.closed).toBe(true);
  });

  it('with a token on 0.0.0.0: sign-in, a session cookie, and actions only from this origin with the header', async () => {
    const root = startRoot(
      {
        health: { port: 0, host: '0.0.0.0', dashboard: { actions: true, token: { env: 'DASH_TOKEN' } } },
        apps: [web()],
      },
      { env: { DASH_TOKEN: TOKEN } },
    );
    const address = await dashboardAddress(root);
    await root.running('web');
    const origin = `http://${address}`;

    const signIn = await call(address, 'GET', '/dashboard/');
    expect(signIn.status).toBe(200);
    expectSecure(signIn.headers);
    expect(signIn.body).toContain('name="token"');
    expect(signIn.body).not.toContain('app.js');
    expect((await call(address, 'GET', '/dashboard/api/stream')).status).toBe(401);
    expect((await call(address, 'GET', '/dashboard/api/logs?app=web')).status).toBe(401);
    // The page's files carry no data: the sign-in page needs its styles.
    expect((await call(address, 'GET', '/dashboard/style.css')).status).toBe(200);

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await call(address, 'POST', '/dashboard/login', { headers: form, body: 'token=nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('That is not the token.');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    await root.waitFor((e) => /failed sign-in/.test(e.msg), 'the failed sign-in logged');
    const crossSite = await call(address, 'POST', '/dashboard/login', {
      headers: { ...form, origin: 'http://evil.example' },
      body: `token=${TOKEN}`,
    });
    expect(crossSite.status).toBe(403);
    const good = await call(address, 'POST', '/dashboard/login', {
      headers: { ...form, origin },
      body: `token=${encodeURIComponent(TOKEN)}`,
    });
    expect(good.status).toBe(303);
    expect(good.headers.location).toBe('./');
    const setCookie = String(good.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^clusterd_dashboard=[A-Za-z0-9_-]{43}; Path=\/dashboard\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    const cookie = setCookie.split(';')[0] as string;

    const page = await call(address, 'GET', '/dashboard/', { headers: { cookie } });
    expect(page.body).toContain('app.js');
    const stream = new SseStream(address, '/dashboard/api/stream', { cookie });
    expect((await stream.next((m) => m.event === 'hello', 'hello')).value).toEqual({
      actions: true,
      signedIn: true,
    });

    const act = (headers: Record<string, string>, path = '/dashboard/api/apps/web/reload', body = '{}') =>
      call(address, 'POST', path, { headers, body });
    const ok = { cookie, origin, 'x-clusterd-dashboard': '1' };
    expect((await act({ origin, 'x-clusterd-dashboard': '1' })).status).toBe(401);
    expect((await act({ cookie, origin })).status).toBe(403);
    expect((await act({ cookie, 'x-clusterd-dashboard': '1' })).status).toBe(403);
    expect((await act({ ...ok, origin: 'http://evil.example' })).status).toBe(403);
    expect((await act({ ...ok, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(root.events.some((e) => e.reload === 'started')).toBe(false);

    const before = root.events.length;
    const reload = await act(ok);
    expect(reload.status).toBe(200);
    expect(JSON.parse(reload.body)).toMatchObject({ ok: true, outcomes: [{ app: 'web', ok: true }] });
    await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the reload', { from: before });
    await root.waitFor((e) => /dashboard: reload of web asked/.test(e.msg), 'the action logged');
    // The timeline stream shows it too.
    await stream.next((m) => m.event === 'event' && m.data.includes('"reload":"done"'), 'the reload event');

    const scale = await act(ok, '/dashboard/api/apps/web/scale', '{"to":"+1"}');
    expect(scale.status).toBe(200);
    await stream.next(
      (m) => m.event === 'sample' && (JSON.parse(m.data).apps[0]?.instances as number) === 3,
      'a sample with 3 instances',
    );
    expect((await act(ok, '/dashboard/api/apps/web/scale', '{"to":"lots"}')).status).toBe(400);
    expect((await act(ok, '/dashboard/api/apps/nope/reload')).status).toBe(404);
    expect((await act(ok, '/dashboard/api/apps/web/explode')).status).toBe(404);
    stream.close();

    const out = await call(address, 'POST', '/dashboard/logout', { headers: { cookie, origin } });
    expect(out.status).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(/^clusterd_dashboard=; .*Max-Age=0$/);
    expect((await call(address, 'GET', '/dashboard/api/stream', { headers: { cookie } })).status).toBe(401);

    // Failed sign-ins are limited per client: after 5 failures in a minute, even the right token waits.
    for (let i = 0; i < 5; i++)
      expect(
        (await call(address, 'POST', '/dashboard/login', { headers: form, body: 'token=x' })).status,
      ).toBe(401);
    const limited = await call(address, 'POST', '/dashboard/login', {
      headers: form,
      body: `token=${TOKEN}`,
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    expect(root.output.join('\n')).not.toContain(TOKEN);
  });

  it('refuses to start a dashboard open to others, or with a token it cannot read (exit 78, no stack)', async () => {
    const flagged = startRoot(
      { health: { port: 0, dashboard: true }, apps: [web(1)] },
      { args: ['--health', '0.0.0.0:0'] },
    );
    expect((await flagged.waitForExit()).code).toBe(78);
    expect(flagged.output.join('\n')).toMatch(/the dashboard on 0\.0\.0\.0 \(not loopback\) needs a token/);
    noStack(flagged);

    const configured = startRoot({ health: { port: 0, host: '::', dashboard: true }, apps: [web(1)] });
    expect((await configured.waitForExit()).code).toBe(78);
    expect(configured.output.join('\n')).toMatch(/needs a token/);
    noStack(configured);

    const unset = startRoot({
      health: { port: 0, dashboard: { token: { env: 'CLUSTERD_TEST_UNSET_TOKEN' } } },
      apps: [web(1)],
    });
    expect((await unset.waitForExit()).code).toBe(78);
    expect(unset.output.join('\n')).toMatch(/the environment variable CLUSTERD_TEST_UNSET_TOKEN is not set/);
    expect(unset.events.some((e) => e.to === 'ready')).toBe(false);
    noStack(unset);
  });
});
