// The health server's dashboard (`health.dashboard`): pages, streams and actions under /dashboard/.
// Loaded only when the config asks for it. Who may do what is decided by auth.ts (pure); this file reads
// requests, keeps the sessions, and answers. Every answer has the security headers (headers.ts).
import type http from 'node:http';
import { dashboardRefusal, isLoopback } from '../../config/dashboard.js';
import type { ResolvedHealth } from '../../config/resolved.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../../errors.js';
import type { LogEvents } from '../../log/events.js';
import type { Logger } from '../../log/logger.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { isAction, runAction } from './actions.js';
import { Assets } from './assets.js';
import {
  ACTION_HEADER,
  type AuthSettings,
  decide,
  parseCookies,
  type Route,
  SESSION_COOKIE,
  Sessions,
  SignInLimit,
  sessionCookie,
  tokenMatches,
} from './auth.js';
import { SECURITY_HEADERS } from './headers.js';
import { Streams } from './streams.js';
import { readToken } from './token.js';

export interface DashboardDeps {
  supervisor: Supervisor;
  events: LogEvents;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** Request bodies read at most (a sign-in form, an action's JSON); a longer one is answered 413. */
export const MAX_BODY_BYTES = 4096;

type Target =
  | { route: Exclude<Route, 'asset' | 'action'>; kind: 'page' | 'login' | 'logout' | 'fleet' | 'logs' }
  | { route: 'asset'; name: string }
  | { route: 'action'; app: string; action: string }
  | { route: 'redirect' }
  | null;

/** Which dashboard route a path is (a path under /dashboard that is none: null). */
export function targetOf(path: string): Target {
  if (path === '/dashboard') return { route: 'redirect' };
  if (!path.startsWith('/dashboard/')) return null;
  const rest = path.slice('/dashboard/'.length);
  if (rest === '') return { route: 'page', kind: 'page' };
  if (rest === 'login') return { route: 'login', kind: 'login' };
  if (rest === 'logout') return { route: 'logout', kind: 'logout' };
  if (rest === 'api/stream') return { route: 'stream', kind: 'fleet' };
  if (rest === 'api/logs') return { route: 'stream', kind: 'logs' };
  const action = /^api\/apps\/([^/]+)\/([a-z]+)$/.exec(rest);
  if (action) {
    let app: string;
    try {
      app = decodeURIComponent(action[1] as string);
    } catch {
      return null;
    }
    return { route: 'action', app, action: action[2] as string };
  }
  if (Assets.names.includes(rest) && rest !== 'index.html' && rest !== 'login.html')
    return { route: 'asset', name: rest };
  return null;
}

export class Dashboard {
  private readonly assets = new Assets();
  private readonly sessions = new Sessions();
  private readonly limit = new SignInLimit();
  private readonly streams: Streams;
  private readonly settings: AuthSettings;

  private constructor(
    private readonly token: string | null,
    actions: boolean,
    loopbackHost: boolean,
    private readonly deps: DashboardDeps,
  ) {
    this.settings = { token: token !== null, actions: actions && token !== null, loopbackHost };
    this.streams = new Streams(deps.supervisor, deps.events, deps.log);
  }

  /**
   * The dashboard of `health` (which has one). Refused with EX_CONFIG, before any app starts, where it
   * would be open to others (`--health 0.0.0.0:9100` without a token), or when the token cannot be read.
   * A token read from the environment is taken out of it (deps.env is the root's process.env, which its
   * primaries and their workers inherit); this instance keeps the only copy. The health settings are not
   * re-read on a config reload (`up`, SIGHUP), so the token is never needed from the environment again.
   */
  static create(health: ResolvedHealth, deps: DashboardDeps): Dashboard {
    const dashboard = health.dashboard;
    if (!dashboard) throw new TypeError('Dashboard.create without health.dashboard');
    const refusal = dashboardRefusal(health.host, dashboard);
    if (refusal)
      throw new ClusterdError(ErrorCode.HEALTH, `${refusal.message}; ${refusal.hint}`, ExitCode.CONFIG);
    const token = dashboard.token ? readToken(dashboard.token, deps.env) : null;
    if (dashboard.token && 'env' in dashboard.token) delete deps.env[dashboard.token.env];
    return new Dashboard(token, dashboard.actions, isLoopback(health.host), deps);
  }

  handles(path: string): boolean {
    return path === '/dashboard' || path.startsWith('/dashboard/');
  }

  get streamCounts(): { fleet: number; logs: number } {
    return this.streams.counts;
  }

  close(): void {
    this.streams.close();
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // Routed on the path as sent: no normalization (`/dashboard/../x`) reaches a route.
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const target = targetOf(path);
    if (!target) {
      this.json(res, 404, { error: 'not found' });
      return;
    }
    if (target.route === 'redirect') {
      res.writeHead(308, { location: 'dashboard/' });
      res.end();
      return;
    }
    const session = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const decision = decide(
      {
        route: target.route,
        method: req.method ?? 'GET',
        session: this.sessions.valid(session),
        origin: header('origin'),
        host: header('host'),
        fetchSite: header('sec-fetch-site'),
        actionHeader: header(ACTION_HEADER) !== undefined,
      },
      this.settings,
    );
    if (!decision.allow) {
      if (decision.signIn) {
        this.page(res, 'login.html', '');
        return;
      }
      if (decision.status === 405) res.setHeader('allow', target.route === 'action' ? 'POST' : 'GET, HEAD');
      this.json(res, decision.status, { error: decision.reason });
      return;
    }
    if (target.route === 'asset') {
      this.asset(res, target.name);
      return;
    }
    if (target.route === 'action') {
      this.action(req, res, target.app, target.action).catch((error: unknown) => this.fail(res, error));
      return;
    }
    // HEAD of a stream: its headers, and no subscription (nothing held open, nothing sampled).
    if (target.route === 'stream' && req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end();
      return;
    }
    switch (target.kind) {
      case 'page':
        this.page(res, 'index.html', '');
        return;
      case 'login':
        this.signIn(req, res).catch((error: unknown) => this.fail(res, error));
        return;
      case 'logout':
        this.sessions.close(session);
        res.writeHead(303, { location: './', 'set-cookie': sessionCookie('', 0) });
        res.end();
        return;
      case 'fleet': {
        const hello = { actions: this.settings.actions, signedIn: this.settings.token };
        if (!this.streams.fleet(res, hello)) this.json(res, 503, { error: 'too many dashboard streams' });
        return;
      }
      case 'logs':
        this.logs(res, new URLSearchParams(query).get('app'));
        return;
    }
  }

  private logs(res: http.ServerResponse, app: string | null): void {
    if (!app) {
      this.json(res, 400, { error: 'which app? ?app=<name>' });
      return;
    }
    try {
      if (!this.streams.logs(res, app)) this.json(res, 503, { error: 'too many log streams' });
    } catch (error) {
      this.json(res, 404, { error: errorMessage(error) });
    }
  }

  /** An answer to a fault of this file's own (a bug): logged as internal, answered 500, never a crash. */
  private fail(res: http.ServerResponse, error: unknown): void {
    this.deps.log.error({ code: ErrorCode.INTERNAL, err: error }, `dashboard: ${errorMessage(error)}`);
    if (res.headersSent) res.destroy();
    else this.json(res, 500, { error: 'internal error (see clusterd log)' });
  }

  /** 429 with Retry-After if `client` must wait; true when it was answered so. */
  private limited(res: http.ServerResponse, client: string): boolean {
    const wait = this.limit.wait(client);
    if (wait <= 0) return false;
    res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
    this.page(res, 'login.html', 'Too many failed sign-ins: wait a minute.', 429);
    return true;
  }

  private async signIn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? 'unknown';
    // Checked before the body is read (a limited client's body is not waited for) and again after it:
    // the check, the comparison and the record of a failure are one synchronous step, so sign-ins sent
    // in parallel are counted as they are decided, not all let through while their bodies arrive.
    if (this.limited(res, client)) return;
    const body = await readBody(req);
    if (body === 'broken') return;
    if (body === 'too large') {
      this.page(res, 'login.html', 'That is too long for a token.', 413);
      return;
    }
    if (this.limited(res, client)) return;
    const given = new URLSearchParams(body.text).get('token') ?? '';
    if (this.token === null || !tokenMatches(this.token, given)) {
      this.limit.failed(client);
      this.deps.log.warn({ client }, `dashboard: a failed sign-in from ${client}`);
      this.page(res, 'login.html', 'That is not the token.', 401);
      return;
    }
    this.limit.succeeded(client);
    const { id, maxAgeMs } = this.sessions.open();
    this.deps.log.info({ client }, `dashboard: signed in from ${client}`);
    res.writeHead(303, { location: './', 'set-cookie': sessionCookie(id, maxAgeMs) });
    res.end();
  }

  private async action(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    app: string,
    action: string,
  ): Promise<void> {
    if (!isAction(action)) {
      this.json(res, 404, { error: `no action "${action}"` });
      return;
    }
    // The app is resolved first: only a name the config has is ever logged (the path's is the client's).
    let name: string | undefined;
    try {
      name = this.deps.supervisor.select(app)[0]?.app.name;
    } catch (error) {
      this.json(res, 404, { error: errorMessage(error) });
      return;
    }
    if (name === undefined) throw new TypeError('Supervisor.select gave no app');
    const text = await readBody(req);
    if (text === 'broken') return;
    if (text === 'too large') {
      this.json(res, 413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      return;
    }
    let body: unknown = null;
    try {
      body = text.text ? JSON.parse(text.text) : null;
    } catch {
      this.json(res, 400, { error: 'the body is not JSON' });
      return;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    this.deps.log.info({ app: name, action, client }, `dashboard: ${action} of ${name} asked from ${client}`);
    const answer = await runAction(this.deps.supervisor, name, action, body);
    this.json(res, answer.status, answer.body);
  }

  private asset(res: http.ServerResponse, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) {
      this.json(res, 404, { error: 'not found' });
      return;
    }
    this.send(res, 200, asset.type, asset.body);
  }

  private page(res: http.ServerResponse, name: string, message: string, status = 200): void {
    const asset = this.assets.get(name);
    if (!asset) {
      this.json(res, 404, { error: 'not found' });
      return;
    }
    // The only text put into a page: one of this file's own messages, never anything from a request.
    const body = message
      ? Buffer.from(asset.body.toString('utf8').replace('<!--message-->', escapeHtml(message)))
      : asset.body;
    this.send(res, status, asset.type, body);
  }

  private json(res: http.ServerResponse, status: number, value: object): void {
    this.send(res, status, 'application/json', Buffer.from(`${JSON.stringify(value)}\n`));
  }

  private send(res: http.ServerResponse, status: number, type: string, body: Buffer): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': type, 'content-length': body.length });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The request's body as text; 'too large' beyond MAX_BODY_BYTES (by its Content-Length or as it came:
 * the rest is drained, not kept), 'broken' if the request failed (there is no one to answer).
 */
function readBody(req: http.IncomingMessage): Promise<{ text: string } | 'too large' | 'broken'> {
  return new Promise((resolve) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      resolve('too large');
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.resume();
        resolve('too large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => resolve('broken'));
  });
}
