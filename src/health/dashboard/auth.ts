// Who may do what on the dashboard: pure decisions, the session table and the sign-in rate limit, all on
// an injected clock. The design (docs/monitoring.md#dashboard):
// - without a token (loopback only) the pages and streams are open, and there are no actions;
// - with one, the token is entered once on the sign-in page; a right one opens a session, a random id in
//   an HttpOnly, SameSite=Strict cookie that expires, and every page, stream and action needs it;
// - an action is a POST with the header X-Clusterd-Dashboard (a page elsewhere cannot send it without
//   a CORS preflight, which this server never grants), from this very origin (Sec-Fetch-Site, Origin);
// - tokens are compared in constant time; failed sign-ins are limited per client address and in all;
// - served on a loopback address, only a Host of this machine (localhost, 127.x.y.z, [::1]) is answered:
//   a page whose domain rebinds to 127.0.0.1 is same-origin to the browser, but its Host is its own name.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'clusterd_dashboard';
/** How long a session lasts from its sign-in (ms). */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/** Sessions held at most: a new one beyond it ends the oldest. */
export const MAX_SESSIONS = 64;
/** The header every action must carry. */
export const ACTION_HEADER = 'x-clusterd-dashboard';
/** Failed sign-ins a client address may make per window, and all addresses together. */
export const FAILURES_PER_CLIENT = 5;
export const FAILURES_IN_ALL = 50;
export const FAILURE_WINDOW_MS = 60_000;

/** Whether `given` is the token, in time that does not depend on where they differ (nor their lengths). */
export function tokenMatches(token: string, given: string): boolean {
  const a = createHash('sha256').update(token).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

export type Route = 'asset' | 'page' | 'stream' | 'login' | 'logout' | 'action';

export interface RequestFacts {
  route: Route;
  method: string;
  /** A live session cookie came with it. */
  session: boolean;
  /** Headers as sent (lower-case names). */
  origin: string | undefined;
  host: string | undefined;
  fetchSite: string | undefined;
  actionHeader: boolean;
}

export interface AuthSettings {
  /** A token is set: sign-in required. */
  token: boolean;
  actions: boolean;
  /** The server binds a loopback address: a request's Host must name this machine (DNS rebinding). */
  loopbackHost?: boolean;
}

/**
 * Whether a Host header names this machine: `localhost`, an IPv4 127.x.y.z or `[::1]`, with an optional
 * port. Anything else (a name that may rebind to 127.0.0.1, no Host at all) is not.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::\d{1,5})?$/.exec(host ?? '');
  if (!match) return false;
  const name = (match[1] as string).toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export type Decision =
  | { allow: true }
  | { allow: false; status: 401 | 403 | 404 | 405; reason: string; signIn?: boolean };

const deny = (status: 401 | 403 | 404 | 405, reason: string, signIn = false): Decision => ({
  allow: false,
  status,
  reason,
  ...(signIn ? { signIn } : {}),
});

/**
 * Whether the request comes from a page of this very server. Sec-Fetch-Site (sent by every current
 * browser) says so first: with the dashboard's `Referrer-Policy: no-referrer`, browsers send
 * `Origin: null` on a same-origin POST, so Origin alone cannot tell. An Origin that is sent must be this
 * host's. `required`: a request that says neither is refused (a client that is no browser sends its
 * own headers anyway; the session cookie is what it must have).
 */
export function sameOrigin(
  facts: Pick<RequestFacts, 'origin' | 'host' | 'fetchSite'>,
  required: boolean,
): boolean {
  const site = facts.fetchSite;
  if (site !== undefined && site !== 'same-origin' && !(site === 'none' && !required)) return false;
  const origin = facts.origin === 'null' ? undefined : facts.origin;
  if (origin !== undefined)
    return !!facts.host && (origin === `http://${facts.host}` || origin === `https://${facts.host}`);
  return site === 'same-origin' || !required;
}

/** What to do with a dashboard request, before anything is read or done. */
export function decide(facts: RequestFacts, settings: AuthSettings): Decision {
  // Before anything else: a rebinding page may not even try the sign-in (the Host is not echoed).
  if (settings.loopbackHost && !isLoopbackHostHeader(facts.host))
    return deny(403, 'this dashboard answers only to Host localhost, 127.0.0.1 or [::1]');
  const post = facts.route === 'login' || facts.route === 'logout' || facts.route === 'action';
  if (post ? facts.method !== 'POST' : facts.method !== 'GET' && facts.method !== 'HEAD')
    return deny(405, `${post ? 'POST' : 'GET'} only`);
  switch (facts.route) {
    case 'asset':
      // The page's code and styles: the package's files, no data.
      return { allow: true };
    case 'page':
    case 'stream':
      if (settings.token && !facts.session) return deny(401, 'sign in first', facts.route === 'page');
      return { allow: true };
    case 'login':
    case 'logout':
      if (!settings.token) return deny(404, 'this dashboard has no token to sign in with');
      // A sign-in posted from another site's page (login CSRF) is refused.
      if (!sameOrigin(facts, false)) return deny(403, 'cross-origin request refused');
      return { allow: true };
    case 'action':
      if (!settings.actions || !settings.token)
        return deny(403, 'actions are off (health.dashboard.actions and a token turn them on)');
      if (!facts.session) return deny(401, 'sign in first');
      if (!facts.actionHeader) return deny(403, `an action needs the ${ACTION_HEADER} header`);
      if (!sameOrigin(facts, true)) return deny(403, 'cross-origin request refused');
      return { allow: true };
  }
}

/** The cookies of a Cookie header. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The Set-Cookie of a session (an empty id and no age: the cookie's removal). */
export function sessionCookie(id: string, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/dashboard/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`;
}

/** The server's sessions: random ids, each valid until its expiry. */
export class Sessions {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => string = () => randomBytes(32).toString('base64url'),
    private readonly ttlMs = SESSION_TTL_MS,
  ) {}

  open(): { id: string; maxAgeMs: number } {
    const id = this.random();
    this.expiries.set(id, this.now() + this.ttlMs);
    if (this.expiries.size > MAX_SESSIONS) this.expiries.delete(this.expiries.keys().next().value as string);
    return { id, maxAgeMs: this.ttlMs };
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const expires = this.expiries.get(id);
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.expiries.delete(id);
      return false;
    }
    return true;
  }

  close(id: string | undefined): void {
    if (id) this.expiries.delete(id);
  }

  get size(): number {
    return this.expiries.size;
  }
}

/** Failed sign-ins, per client address and in all, over a sliding window. */
export class SignInLimit {
  private readonly failures = new Map<string, number[]>();
  private all: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** 0 when `client` may try now, else how long until it may (ms). */
  wait(client: string): number {
    const now = this.now();
    const cutoff = now - FAILURE_WINDOW_MS;
    this.all = this.all.filter((t) => t > cutoff);
    const mine = (this.failures.get(client) ?? []).filter((t) => t > cutoff);
    if (mine.length) this.failures.set(client, mine);
    else this.failures.delete(client);
    const waits: number[] = [];
    if (mine.length >= FAILURES_PER_CLIENT) waits.push((mine[0] as number) + FAILURE_WINDOW_MS - now);
    if (this.all.length >= FAILURES_IN_ALL) waits.push((this.all[0] as number) + FAILURE_WINDOW_MS - now);
    return waits.length ? Math.max(1, ...waits) : 0;
  }

  failed(client: string): void {
    const now = this.now();
    this.all.push(now);
    this.failures.set(client, [...(this.failures.get(client) ?? []), now]);
    // Many addresses: the oldest are forgotten (the limit in all still holds them back).
    if (this.failures.size > 1024) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeeded(client: string): void {
    this.failures.delete(client);
  }
}
