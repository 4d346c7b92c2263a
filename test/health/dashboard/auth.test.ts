// The dashboard's decisions as data: who may load, stream, sign in and act; sessions and the sign-in
// limit on fake time; the token's comparison and its sources' rules; the headers and the SSE framing.
import { execFileSync } from 'node:child_process';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scaleSpec } from '../../../src/health/dashboard/actions.js';
import {
  decide,
  FAILURE_WINDOW_MS,
  FAILURES_IN_ALL,
  FAILURES_PER_CLIENT,
  isLoopbackHostHeader,
  MAX_SESSIONS,
  parseCookies,
  type RequestFacts,
  SESSION_TTL_MS,
  Sessions,
  SignInLimit,
  sameOrigin,
  sessionCookie,
  tokenMatches,
} from '../../../src/health/dashboard/auth.js';
import { targetOf } from '../../../src/health/dashboard/dashboard.js';
import {
  CONTENT_SECURITY_POLICY,
  SECURITY_HEADERS,
  sseEvent,
} from '../../../src/health/dashboard/headers.js';
import { readToken, tokenFileProblem, tokenValueProblem } from '../../../src/health/dashboard/token.js';
import { tempDir } from '../../helpers/files.js';

const GOOD = 'a-token-of-32-characters-0123456';

const facts = (over: Partial<RequestFacts>): RequestFacts => ({
  route: 'page',
  method: 'GET',
  session: false,
  origin: undefined,
  host: '127.0.0.1:9100',
  fetchSite: undefined,
  actionHeader: false,
  ...over,
});
const open = { token: false, actions: false };
const guarded = { token: true, actions: false };
const acting = { token: true, actions: true };
const action = (over: Partial<RequestFacts> = {}) =>
  facts({
    route: 'action',
    method: 'POST',
    session: true,
    origin: 'http://127.0.0.1:9100',
    fetchSite: 'same-origin',
    actionHeader: true,
    ...over,
  });

describe('decide', () => {
  it('serves assets to anyone, pages and streams without a token to anyone', () => {
    expect(decide(facts({ route: 'asset' }), guarded)).toEqual({ allow: true });
    expect(decide(facts({ route: 'page' }), open)).toEqual({ allow: true });
    expect(decide(facts({ route: 'stream', method: 'HEAD' }), open)).toEqual({ allow: true });
  });

  it('with a token: the sign-in page instead of the page, 401 for a stream, until a session', () => {
    expect(decide(facts({ route: 'page' }), guarded)).toMatchObject({
      allow: false,
      status: 401,
      signIn: true,
    });
    expect(decide(facts({ route: 'stream' }), guarded)).toEqual({
      allow: false,
      status: 401,
      reason: 'sign in first',
    });
    expect(decide(facts({ route: 'stream', session: true }), guarded)).toEqual({ allow: true });
  });

  it('allows an action only with actions on, a session, the header and this origin', () => {
    expect(decide(action(), acting)).toEqual({ allow: true });
    expect(decide(action({ fetchSite: undefined }), acting)).toEqual({ allow: true });
    expect(decide(action({ origin: 'https://127.0.0.1:9100' }), acting)).toEqual({ allow: true });
    expect(decide(action(), guarded)).toMatchObject({ status: 403, reason: /actions are off/ });
    expect(decide(action(), { token: false, actions: true })).toMatchObject({ status: 403 });
    expect(decide(action({ session: false }), acting)).toMatchObject({ status: 401 });
    expect(decide(action({ actionHeader: false }), acting)).toMatchObject({ status: 403, reason: /header/ });
    // What browsers send under Referrer-Policy: no-referrer: Origin null, Sec-Fetch-Site same-origin.
    expect(decide(action({ origin: 'null' }), acting)).toEqual({ allow: true });
    expect(decide(action({ origin: undefined }), acting)).toEqual({ allow: true });
    expect(decide(action({ origin: undefined, fetchSite: undefined }), acting)).toMatchObject({
      status: 403,
      reason: /cross-origin/,
    });
    expect(decide(action({ origin: 'null', fetchSite: undefined }), acting)).toMatchObject({ status: 403 });
    expect(decide(action({ origin: 'http://evil.example', fetchSite: 'same-origin' }), acting)).toMatchObject(
      {
        status: 403,
      },
    );
    expect(decide(action({ origin: 'http://evil.example' }), acting)).toMatchObject({ status: 403 });
    expect(decide(action({ fetchSite: 'cross-site' }), acting)).toMatchObject({ status: 403 });
    expect(decide(action({ fetchSite: 'same-site' }), acting)).toMatchObject({ status: 403 });
    expect(decide(action({ host: undefined }), acting)).toMatchObject({ status: 403 });
    expect(decide(action({ method: 'GET' }), acting)).toMatchObject({ status: 405 });
  });

  it('on a loopback server, answers only a Host of this machine (DNS rebinding), with a token or not', () => {
    for (const host of [
      'localhost',
      'localhost:9100',
      'LocalHost:1',
      '127.0.0.1:9100',
      '127.1.2.3',
      '[::1]:9100',
      '[::1]',
    ])
      expect(isLoopbackHostHeader(host), host).toBe(true);
    for (const host of [
      undefined,
      '',
      'evil.example',
      'evil.example:9100',
      'localhost.evil.example',
      '127.0.0.1.evil.example',
      '[::2]:1',
      '127.0.0.1:9100:1',
      'localhost:x',
      '0.0.0.0:9100',
    ])
      expect(isLoopbackHostHeader(host), String(host)).toBe(false);
    const rebound = { host: 'evil.example:9100' };
    for (const settings of [open, guarded, acting]) {
      const loopback = { ...settings, loopbackHost: true };
      expect(decide(facts(rebound), loopback)).toMatchObject({ status: 403, reason: /Host localhost/ });
      expect(decide(facts({ ...rebound, route: 'login', method: 'POST' }), loopback)).toMatchObject({
        status: 403,
      });
      expect(decide(facts({ ...rebound, route: 'stream' }), loopback)).toMatchObject({ status: 403 });
      expect(decide(facts({ route: 'asset', host: 'localhost:9100' }), loopback)).toEqual({ allow: true });
      // Served on 0.0.0.0 (a token is required there), any Host is legitimate: a pod IP, a service name.
      expect(decide(facts({ ...rebound, route: 'asset' }), settings)).toEqual({ allow: true });
    }
  });

  it('takes sign-ins only with a token, and not from another site', () => {
    const login = (over: Partial<RequestFacts>) => facts({ route: 'login', method: 'POST', ...over });
    expect(decide(login({}), guarded)).toEqual({ allow: true });
    expect(decide(login({ origin: 'http://127.0.0.1:9100' }), guarded)).toEqual({ allow: true });
    expect(decide(login({}), open)).toMatchObject({ status: 404 });
    expect(decide(login({ origin: 'http://evil.example' }), guarded)).toMatchObject({ status: 403 });
    expect(decide(login({ method: 'GET' }), guarded)).toMatchObject({ status: 405 });
    expect(decide(facts({ route: 'page', method: 'POST' }), open)).toMatchObject({ status: 405 });
  });

  it('knows the same origin by Origin and Sec-Fetch-Site', () => {
    const host = 'localhost:8080';
    expect(sameOrigin({ origin: 'http://localhost:8080', host, fetchSite: undefined }, true)).toBe(true);
    expect(sameOrigin({ origin: 'http://localhost:8081', host, fetchSite: undefined }, true)).toBe(false);
    expect(sameOrigin({ origin: 'null', host, fetchSite: undefined }, true)).toBe(false);
    expect(sameOrigin({ origin: undefined, host, fetchSite: 'none' }, false)).toBe(true);
    expect(sameOrigin({ origin: undefined, host, fetchSite: undefined }, true)).toBe(false);
    expect(sameOrigin({ origin: 'null', host, fetchSite: 'same-origin' }, true)).toBe(true);
    expect(sameOrigin({ origin: undefined, host, fetchSite: 'none' }, true)).toBe(false);
  });
});

describe('tokens, sessions and the sign-in limit', () => {
  it('compares tokens whole, whatever their lengths', () => {
    expect(tokenMatches(GOOD, GOOD)).toBe(true);
    expect(tokenMatches(GOOD, `${GOOD}x`)).toBe(false);
    expect(tokenMatches(GOOD, GOOD.slice(0, -1))).toBe(false);
    expect(tokenMatches(GOOD, '')).toBe(false);
  });

  it('opens random sessions that expire, ends them, and holds at most MAX_SESSIONS', () => {
    let now = 1_000;
    let n = 0;
    const sessions = new Sessions(
      () => now,
      () => `id${n++}`,
    );
    const first = sessions.open();
    expect(first).toEqual({ id: 'id0', maxAgeMs: SESSION_TTL_MS });
    expect(sessions.valid('id0')).toBe(true);
    expect(sessions.valid('nope')).toBe(false);
    expect(sessions.valid(undefined)).toBe(false);
    now += SESSION_TTL_MS;
    expect(sessions.valid('id0')).toBe(false);
    sessions.open();
    sessions.close('id1');
    expect(sessions.valid('id1')).toBe(false);
    for (let i = 0; i < MAX_SESSIONS + 5; i++) sessions.open();
    expect(sessions.size).toBe(MAX_SESSIONS);
    expect(sessions.valid('id2')).toBe(false);
    expect(sessions.valid(`id${n - 1}`)).toBe(true);
    expect(new Sessions().open().id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('limits failed sign-ins per client and in all, over a sliding window', () => {
    let now = 0;
    const limit = new SignInLimit(() => now);
    for (let i = 0; i < FAILURES_PER_CLIENT; i++) {
      expect(limit.wait('a')).toBe(0);
      limit.failed('a');
      now += 1_000;
    }
    expect(limit.wait('a')).toBe(FAILURE_WINDOW_MS - FAILURES_PER_CLIENT * 1_000);
    expect(limit.wait('b')).toBe(0);
    now = FAILURE_WINDOW_MS + 1;
    expect(limit.wait('a')).toBe(0);
    limit.failed('a');
    limit.succeeded('a');
    expect(limit.wait('a')).toBe(0);
    for (let i = 0; i < FAILURES_IN_ALL; i++) limit.failed(`c${i}`);
    expect(limit.wait('fresh')).toBeGreaterThan(0);
  });

  it('reads and writes the session cookie', () => {
    expect(parseCookies('a=1; clusterd_dashboard=xyz; b=')).toEqual(
      new Map([
        ['a', '1'],
        ['clusterd_dashboard', 'xyz'],
        ['b', ''],
      ]),
    );
    expect(parseCookies(undefined).size).toBe(0);
    expect(sessionCookie('xyz', 3_600_000)).toBe(
      'clusterd_dashboard=xyz; Path=/dashboard/; HttpOnly; SameSite=Strict; Max-Age=3600',
    );
  });
});

describe('token sources', () => {
  it('reads a token from the environment, trimmed, and refuses a missing, short or odd one', () => {
    expect(readToken({ env: 'T' }, { T: ` ${GOOD}\n` })).toBe(GOOD);
    expect(() => readToken({ env: 'T' }, {})).toThrow(/environment variable T is not set/);
    expect(() => readToken({ env: 'T' }, { T: 'short' })).toThrow(/5 characters long, shorter than 16/);
    try {
      readToken({ env: 'T' }, { T: `${GOOD}\u0001x` });
    } catch (error) {
      expect((error as Error).message).toMatch(/control character/);
      expect((error as Error).message).not.toContain(GOOD);
      expect((error as { exitCode: number }).exitCode).toBe(78);
    }
    expect(tokenValueProblem(GOOD)).toBeNull();
  });

  it('reads a token file that only its owner can read, through a symlink too', () => {
    const dir = tempDir();
    const file = join(dir, 'token');
    writeFileSync(file, `${GOOD}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(readToken({ file }, {})).toBe(GOOD);
    chmodSync(file, 0o640);
    expect(readToken({ file }, {})).toBe(GOOD);
    symlinkSync(file, join(dir, 'link'));
    expect(readToken({ file: join(dir, 'link') }, {})).toBe(GOOD);
    chmodSync(file, 0o644);
    expect(() => readToken({ file }, {})).toThrow(/readable by everyone \(mode 0644\); chmod 600/);
    chmodSync(file, 0o620);
    expect(() => readToken({ file }, {})).toThrow(/writable by group or others/);
    expect(() => readToken({ file: join(dir, 'none') }, {})).toThrow(/cannot open the file .* \(ENOENT\)/);
    expect(() => readToken({ file: dir }, {})).toThrow(/not a regular file/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    expect(() => readToken({ file: fifo }, {})).toThrow(/not a regular file/);
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(5000), { mode: 0o600 });
    expect(() => readToken({ file: big }, {})).toThrow(/larger than 4096 bytes/);
  });

  it('refuses a file another user owns (one they could swap for a token they know)', () => {
    const stat = (uid: number, mode: number) => ({ uid, mode, isFile: () => true });
    expect(tokenFileProblem(stat(1000, 0o100600), 1000)).toBeNull();
    expect(tokenFileProblem(stat(0, 0o100440), 1000)).toBeNull();
    expect(tokenFileProblem(stat(1001, 0o100600), 1000)).toMatch(/belongs to uid 1001/);
  });
});

describe('headers, framing and routes', () => {
  it('has the strict CSP and the other headers', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(SECURITY_HEADERS).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });

  it('frames an event whose data has line breaks as one event', () => {
    expect(sseEvent('sample', '{"a":1}')).toBe('event: sample\ndata: {"a":1}\n\n');
    expect(sseEvent('x\ny', 'one\ntwo\r\nthree\rfour')).toBe(
      'event: xy\ndata: one\ndata: two\ndata: three\ndata: four\n\n',
    );
  });

  it('routes paths, and nothing else reaches a file', () => {
    expect(targetOf('/dashboard')).toEqual({ route: 'redirect' });
    expect(targetOf('/dashboard/')).toEqual({ route: 'page', kind: 'page' });
    expect(targetOf('/dashboard/app.js')).toEqual({ route: 'asset', name: 'app.js' });
    expect(targetOf('/dashboard/vendor/uPlot.iife.min.js')).toMatchObject({ route: 'asset' });
    expect(targetOf('/dashboard/api/apps/web/reload')).toEqual({
      route: 'action',
      app: 'web',
      action: 'reload',
    });
    for (const path of [
      '/dashboard/index.html',
      '/dashboard/../package.json',
      '/dashboard/x',
      '/dashboard/vendor/',
    ])
      expect(targetOf(path), path).toBeNull();
    expect(targetOf('/dashboard/api/apps/%E0%A4%A/reload')).toBeNull();
    expect(targetOf('/dashboard/api/apps/a%2Fb/reload')).toEqual({
      route: 'action',
      app: 'a/b',
      action: 'reload',
    });
    expect(targetOf('/livez')).toBeNull();
    expect(scaleSpec({ to: 3 })).toBe('3');
    expect(scaleSpec({ to: '+1' })).toBe('+1');
    expect(scaleSpec({ to: 'max' })).toBeNull();
    expect(scaleSpec(null)).toBeNull();
  });
});
