// The root's control socket: a Unix domain socket in the user's private runtime directory, JSON lines,
// one reply per request. Bad input gets an error reply (or the connection closed), never a crash; at
// most MAX_CONNECTIONS clients are served at once (see connection.ts for the limits on each).
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { answer, failure } from './commands.js';
import { Connection } from './connection.js';
import { ensurePrivateDir } from './paths.js';
import { MAX_CONNECTIONS } from './protocol.js';

/** How often, at most, refusing connections over the limit is logged. */
const REFUSALS_LOGGED_EVERY_MS = 10_000;
/** On shutdown, a client still connected this long after its connection was ended is dropped. */
const SHUTDOWN_GRACE_MS = 1_000;

// Whether something answers on `path`: a live clusterd, or a stale socket file left by a crashed one.
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ControlServer {
  /** Every open connection, served or refused. */
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Set<Connection>();
  private refusalLoggedAt = 0;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly log: Logger,
  ) {}

  private accept(socket: Socket, supervisor: Supervisor): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.connections.size >= MAX_CONNECTIONS) {
      this.refuse(socket);
      return;
    }
    const connection = new Connection(
      socket,
      (line, progress) => answer(line, supervisor, this.log, progress),
      this.log,
    );
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  // Over the limit: one error line, then the connection is closed without reading a request.
  private refuse(socket: Socket): void {
    if (Date.now() - this.refusalLoggedAt >= REFUSALS_LOGGED_EVERY_MS) {
      this.refusalLoggedAt = Date.now();
      this.log.warn(
        { connections: this.connections.size },
        `control socket: ${MAX_CONNECTIONS} connections open, refusing more`,
      );
    }
    socket.on('error', () => {});
    const message = `too many control connections (${MAX_CONNECTIONS} open); try again`;
    socket.end(`${JSON.stringify(failure(null, ErrorCode.CONTROL, message))}\n`);
    socket.resume();
    setTimeout(() => socket.destroy(), SHUTDOWN_GRACE_MS).unref();
  }

  /** Listens on `path`; refuses if a live clusterd already does, replaces a stale socket file. */
  static async listen(path: string, supervisor: Supervisor, log: Logger): Promise<ControlServer> {
    ensurePrivateDir(dirname(path));
    if (existsSync(path)) {
      if (await answers(path)) {
        throw new ClusterdError(
          ErrorCode.ALREADY_RUNNING,
          `clusterd is already running for ${supervisor.config.file} (control socket ${path})`,
          ExitCode.FAILURE,
        );
      }
      log.warn(
        { socket: path },
        'replacing a stale control socket left by a clusterd that did not stop cleanly',
      );
      unlinkSync(path);
    }
    let control: ControlServer | null = null;
    // Half-open: a client that half-closes after its request still gets the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      if (control) control.accept(socket, supervisor);
      else socket.destroy();
    });
    const umask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    server.on('error', (error) => log.error({ err: error }, `control socket: ${error.message}`));
    control = new ControlServer(server, path, log);
    return control;
  }

  /** Stops listening and ends every connection (a `logs --follow` client sees its output end). */
  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.sockets) {
      socket.end();
      setTimeout(() => socket.destroy(), SHUTDOWN_GRACE_MS).unref();
    }
    await closed;
    try {
      unlinkSync(this.path);
    } catch {}
  }
}
