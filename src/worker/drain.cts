// How a drain ends for the HTTP servers of a worker, with its effects (time) injected so that it is
// unit-tested with fake servers and fake time (test/worker/drain.test.ts).
//
// When node:cluster closes a server, Node (>= 19) destroys its idle keep-alive sockets at once: a client
// sending its next request on one at that instant gets a reset. Waiting for the clients instead keeps a
// drain open until the server's keepAliveTimeout (Fastify's is 72 s), past shutdown.timeout: SIGKILL.
// So, per server and at drain time (an own property: the prototype, which another module may have
// copied or wrapped before us, is left alone), closing idle sockets is held while the drain begins, and
// done `grace` ms after the drain began and again `grace` ms after the last response ended meanwhile.
// A request that arrives on an idle socket within the grace is answered (with `Connection: close`, the
// preload's part); one whose first bytes are being read when a sweep runs is not idle, and is answered
// too. Node's own closeIdleConnections() decides what is idle (no request being read, none answered).

/** A server; those with Node's closeIdleConnections (http.Server, https.Server) are swept. */
type IdleClosable = object & { closeIdleConnections?: () => void };

interface SweepEffects {
  /** Whether the worker drains (state.cts): the sweep keeps no draining flag of its own. */
  draining(): boolean;
  now(): number;
  /** Calls `fn` once after `ms`. */
  timer(ms: number, fn: () => void): void;
}

/** Never wait longer than this for a client that may be sending on an idle socket. */
const MAX_GRACE_MS = 1_000;

/** The grace for idle sockets: at most a second, and a quarter of the time before SIGKILL. */
function graceMs(shutdownTimeout: number): number {
  if (!Number.isFinite(shutdownTimeout) || shutdownTimeout <= 0) return MAX_GRACE_MS;
  return Math.min(MAX_GRACE_MS, Math.floor(shutdownTimeout / 4));
}

class IdleSweep {
  /** Each server, with Node's own closeIdleConnections once it is held (null until then). */
  private readonly servers = new Map<IdleClosable, (() => void) | null>();
  private due = 0;
  private armed = false;

  constructor(
    private readonly grace: number,
    private readonly fx: SweepEffects,
  ) {}

  /** A server that holds connections; it is forgotten once it has closed. */
  add(server: object): void {
    if (this.servers.has(server)) return;
    this.servers.set(server, null);
    if (this.fx.draining()) this.hold(server);
  }

  has(server: object): boolean {
    return this.servers.has(server);
  }

  delete(server: object): void {
    this.servers.delete(server);
  }

  /** The drain has begun: no idle socket is destroyed now; they are swept after the grace. */
  begin(): void {
    for (const server of this.servers.keys()) this.hold(server);
    this.later();
  }

  /** A response ended: during the drain, its socket, if kept alive, is idle from now. */
  responseEnded(): void {
    if (this.fx.draining()) this.later();
  }

  private hold(server: IdleClosable): void {
    // Held already: what it has now is our stand-in, not Node's.
    if (this.servers.get(server)) return;
    const close = server.closeIdleConnections;
    if (typeof close !== 'function') return;
    this.servers.set(server, close);
    server.closeIdleConnections = () => {};
  }

  private later(): void {
    this.due = this.fx.now() + this.grace;
    if (!this.armed) this.arm(this.grace);
  }

  private arm(ms: number): void {
    this.armed = true;
    this.fx.timer(ms, () => this.fire());
  }

  private fire(): void {
    this.armed = false;
    const left = this.due - this.fx.now();
    if (left > 0) this.arm(left);
    else for (const [server, close] of this.servers) close?.call(server);
  }
}

const drain = { MAX_GRACE_MS, graceMs, IdleSweep };
export = drain;
