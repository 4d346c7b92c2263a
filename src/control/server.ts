// The root's control socket: a Unix domain socket in the user's private runtime directory, JSON lines,
// one reply per request. Bad input gets an error reply (or the connection closed), never a crash; at
// most MAX_CONNECTIONS clients are served at once (see connection.ts for the limits on each).
import { lstatSync, renameSync, type Stats, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import type { LogEvents } from '../log/events.js';
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { answer, failure } from './commands.js';
import { Connection } from './connection.js';
import { type Holder, realSystem, tryLock, unlinkIf } from './lock.js';
import {
  checkSocketPathLength,
  ensurePrivateDir,
  lockPath,
  type RuntimeDir,
  runtimeDirHint,
} from './paths.js';
import { MAX_CONNECTIONS } from './protocol.js';

/** How often, at most, refusing connections over the limit is logged. */
const REFUSALS_LOGGED_EVERY_MS = 10_000;
/** On shutdown, a client still connected this long after its connection was ended is dropped. */
const SHUTDOWN_GRACE_MS = 1_000;

// Whether a socket file is stale: only a refused connection (or none there) says nobody listens. A
// full backlog (EAGAIN) or a stopped supervisor whose kernel still accepts is someone alive.
function stale(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT'),
    );
  });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export class ControlServer {
  /** Every open connection, served or refused. */
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Set<Connection>();
  private refusalLoggedAt = 0;

  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly log: Logger,
    /** The socket this process bound (dev, inode): the only one it unlinks. */
    private readonly bound: Stats,
    private readonly lock: { path: string; holder: Holder },
  ) {}

  private accept(socket: Socket, supervisor: Supervisor, events: LogEvents): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.connections.size >= MAX_CONNECTIONS) {
      this.refuse(socket);
      return;
    }
    const connection = new Connection(
      socket,
      (line, progress) => answer(line, { supervisor, log: this.log, events }, progress),
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

  /**
   * Listens on `path` (in the runtime directory `from` names): checks the directory, takes the
   * config's lock (refusing if a live clusterd holds it), replaces a stale socket file, binds under a
   * 0177 umask (no chmod after: it would resolve the path again). `events` are what `events` streams.
   */
  static async listen(
    path: string,
    supervisor: Supervisor,
    log: Logger,
    events: LogEvents,
    from: RuntimeDir['from'] = 'RUNTIME_DIRECTORY',
  ): Promise<ControlServer> {
    const socket = join(
      ensurePrivateDir(dirname(path), ErrorCode.CONTROL, runtimeDirHint(from)),
      basename(path),
    );
    checkSocketPathLength(socket, from);
    const running = (pid?: number) =>
      new ClusterdError(
        ErrorCode.ALREADY_RUNNING,
        `clusterd is already running for ${supervisor.config.file} (${pid ? `pid ${pid}, ` : ''}control socket ${socket})`,
        ExitCode.FAILURE,
      );
    const system = realSystem();
    const lock = lockPath(socket);
    const outcome = await tryLock(lock, system).catch((error: unknown) => {
      if (error instanceof ClusterdError) throw error;
      // EROFS, ENOSPC, EACCES: one line, not a trace.
      throw new ClusterdError(
        ErrorCode.CONTROL,
        `cannot take the lock ${lock}: ${(error as Error).message}`,
        ExitCode.FAILURE,
        { cause: error },
      );
    });
    if (!outcome.locked) throw running(outcome.holder.pid);
    const holder = system.self;
    try {
      const old = lstatOrNull(socket);
      if (old) {
        // A clusterd from before the lock (or one whose lock was removed by hand) may still listen.
        if (old.isSocket() && !(await stale(socket))) throw running();
        log.warn({ socket }, 'replacing a stale control socket left by a clusterd that did not stop cleanly');
      }
      // Bound under a name of its own, then renamed into place (atomically replacing a stale file):
      // libuv unlinks the name it bound when the server closes, by path, and that name is then gone.
      const aside = join(dirname(socket), `${process.pid}.bind`);
      try {
        unlinkSync(aside);
      } catch {}
      let control: ControlServer | null = null;
      // Half-open: a client that half-closes after its request still gets the answer.
      const server = createServer({ allowHalfOpen: true }, (peer) => {
        if (control) control.accept(peer, supervisor, events);
        else peer.destroy();
      });
      // 0177: the socket is created 0600 (connecting needs write permission only; no chmod afterwards).
      const umask = process.umask(0o177);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(aside, () => resolve());
        });
      } catch (error) {
        try {
          unlinkSync(aside);
        } catch {}
        throw new ClusterdError(
          ErrorCode.CONTROL,
          `cannot listen on the control socket ${socket}: ${(error as Error).message}`,
          ExitCode.FAILURE,
          { cause: error },
        );
      } finally {
        process.umask(umask);
      }
      renameSync(aside, socket);
      const bound = lstatSync(socket);
      server.on('error', (error) => log.error({ err: error }, `control socket: ${error.message}`));
      control = new ControlServer(server, socket, log, bound, { path: lock, holder });
      return control;
    } catch (error) {
      unlinkIf(lock, holder);
      throw error;
    }
  }

  /** Stops listening and ends every connection (a `logs --follow` client sees its output end). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.sockets) {
      socket.end();
      setTimeout(() => socket.destroy(), SHUTDOWN_GRACE_MS).unref();
    }
    await closed;
    // Only the socket this process bound: the file at the path may since be another's.
    const now = lstatOrNull(this.path);
    if (now && now.dev === this.bound.dev && now.ino === this.bound.ino) {
      try {
        unlinkSync(this.path);
      } catch {}
    }
    unlinkIf(this.lock.path, this.lock.holder);
  }
}
