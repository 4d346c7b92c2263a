// The root's health server (`health` in the config, or `start --health`): plain HTTP, GET and HEAD only.
// - `/livez`: 200 while the root and every running primary answer (a ping, 2 s), else 503;
// - `/readyz`: 200 while every app has enough ready workers and no stop has begun, else 503;
// - `/metrics`: Prometheus text (metrics.ts); scrapes that arrive during one share its answer.
// Bodies of /livez and /readyz are JSON that says why. It binds 127.0.0.1 unless told otherwise: it
// tells whoever reaches it which apps run and how many workers each has (no env, no paths).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResolvedHealth } from '../config/resolved.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type AppScrape, CONTENT_TYPE, type Metrics } from './metrics.js';
import type { Liveness, Readiness } from './readiness.js';

export interface HealthSource {
  readiness(): Readiness;
  liveness(): Promise<Liveness>;
  scrape(): Promise<AppScrape[]>;
}

const ROUTES = ['/livez', '/readyz', '/metrics'] as const;

/** Routes served beside the probes, with their own methods and headers: the dashboard (health/dashboard/). */
export interface ExtraRoutes {
  handles(path: string): boolean;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Ends what it keeps open (event streams). */
  close(): void;
}

export class HealthServer {
  private scraping: Promise<string> | null = null;
  private readonly logged = new Set<string>();

  private constructor(
    private readonly server: http.Server,
    private readonly source: HealthSource,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly extra: ExtraRoutes | null,
  ) {}

  /** Listens; a port that cannot be bound is a clear error, before any app starts. */
  static async listen(
    health: ResolvedHealth,
    source: HealthSource,
    metrics: Metrics,
    log: Logger,
    extra: ExtraRoutes | null = null,
  ): Promise<HealthServer> {
    const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 });
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 64;
    const self = new HealthServer(server, source, metrics, log, extra);
    server.on('request', (req, res) => self.handle(req, res));
    // A client's bad bytes end its connection, nothing else.
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new ClusterdError(
            ErrorCode.HEALTH,
            `cannot serve health on ${health.host}:${health.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`,
            ExitCode.FAILURE,
          ),
        ),
      );
      server.listen(health.port, health.host, () => resolve());
    });
    server.on('error', (error) => log.error({ err: error }, `health server: ${error.message}`));
    return self;
  }

  /** Where it listens, as host:port (IPv6 in brackets). */
  get address(): string {
    const a = this.server.address() as AddressInfo;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  close(): Promise<void> {
    this.extra?.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as (typeof ROUTES)[number];
    res.setHeader('cache-control', 'no-store');
    if (this.extra?.handles(path)) {
      try {
        this.extra.handle(req, res);
      } catch (error) {
        // A fault in the extra routes ends that request (500), never the root.
        this.log.error({ code: ErrorCode.INTERNAL, err: error }, `health dashboard: ${errorMessage(error)}`);
        if (res.headersSent) res.destroy();
        else this.send(res, 500, 'application/json', `${JSON.stringify({ error: 'internal error' })}\n`);
      }
      return;
    }
    if (!ROUTES.includes(path)) {
      const paths = this.extra ? [...ROUTES, '/dashboard/'] : ROUTES;
      this.send(res, 404, 'application/json', `${JSON.stringify({ error: 'not found', paths })}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.send(res, 405, 'application/json', `${JSON.stringify({ error: 'method not allowed' })}\n`);
      return;
    }
    this.answer(path).then(
      ({ status, type, body }) => this.send(res, status, type, body),
      (error: unknown) => {
        this.log.error({ code: ErrorCode.INTERNAL, err: error }, `health ${path}: ${errorMessage(error)}`);
        this.send(res, 500, 'application/json', `${JSON.stringify({ error: errorMessage(error) })}\n`);
      },
    );
  }

  private async answer(
    path: (typeof ROUTES)[number],
  ): Promise<{ status: number; type: string; body: string }> {
    const json = (ok: boolean, value: object) => ({
      status: ok ? 200 : 503,
      type: 'application/json',
      body: `${JSON.stringify(value)}\n`,
    });
    switch (path) {
      case '/livez': {
        const live = await this.source.liveness();
        return json(live.live, live);
      }
      case '/readyz': {
        const ready = this.source.readiness();
        return json(ready.ready, ready);
      }
      case '/metrics': {
        this.scraping ??= this.scrape().finally(() => {
          this.scraping = null;
        });
        return { status: 200, type: CONTENT_TYPE, body: await this.scraping };
      }
    }
  }

  private async scrape(): Promise<string> {
    const text = await this.metrics.render(await this.source.scrape(), this.source.readiness());
    for (const app of this.metrics.clashes)
      this.once(app, `app ${app}'s own metrics named clusterd_* are left out of /metrics`);
    if (this.metrics.aggregateError)
      this.once('aggregate', `the apps' metrics could not be summed: ${this.metrics.aggregateError}`);
    return text;
  }

  private once(key: string, message: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log.warn(message);
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}
