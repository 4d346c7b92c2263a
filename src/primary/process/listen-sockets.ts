// The listening sockets a program's primary holds for its instances (`listen`), as systemd holds a
// socket unit's: bound and listening, handed to every instance as file descriptor 3, and never accepted
// on by the primary itself. Node.js has no way to listen without accepting, so the socket is bound here
// (node:cluster's own bind-only handle) and a short-lived Node.js process puts it into the listening
// state and exits before its event loop ever polls it: the socket is shared, so it stays listening, and
// no process accepts on it but the instances.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { ResolvedApp, ResolvedListen } from '../../config/resolved.js';

/** Connections the kernel queues for the instances before one accepts (as Node.js's default). */
export const BACKLOG = 511;
/** How long the helper that puts the socket into the listening state may take. */
const HELPER_MS = 5_000;

// Run as `node -e` with the expected port: makes fd 3 listen, checks it is bound there (a bind that
// failed is only told by listen(), which then binds a random port), and exits before the loop could
// accept anything on it.
const MAKE_LISTEN = `const want = Number(process.argv[1]); require('node:net').createServer().on('error', (e) => { process.stderr.write(e.code || e.message); process.exit(1); }).listen({ fd: 3, backlog: ${BACKLOG} }, function () { const a = this.address(); if (!a || a.port !== want) { process.stderr.write('EADDRINUSE'); process.exit(1); } process.exit(0); });`;

interface Handle {
  fd: number;
  close(): void;
  getsockname(out: { port?: number }): number;
  setBlocking?(blocking: boolean): number;
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => Handle | number;

const keyOf = (listen: ResolvedListen) => `${listen.host ?? '*'} ${listen.port}`;
const keyOfApp = (app: ResolvedApp | null) => (app?.program?.listen ? keyOf(app.program.listen) : null);

function describe(listen: ResolvedListen): string {
  const host = listen.host ?? '*';
  return `${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

/**
 * The sockets, each open while anything may still fork on it: the settings in force, a reload under way
 * that brought it, a live instance that was given it. Once none is left, it is closed (a reload moved
 * the port, or failed with a new one): nothing then accepts connections that no instance will serve.
 */
export class ListenSockets {
  private readonly handles = new Map<string, Handle>();
  private readonly holds = new Map<string, number>();
  private inForce: string | null = null;

  /** Opens the app's socket unless it is open; resolves to why it cannot be, or null. */
  async ensure(app: ResolvedApp | null): Promise<string | null> {
    const listen = app?.program?.listen;
    if (!listen || this.handles.has(keyOf(listen))) return null;
    const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
    const host = listen.host;
    let address = host;
    if (host !== null && net.isIP(host) === 0) {
      const { lookup } = await import('node:dns/promises');
      try {
        address = (await lookup(host)).address;
      } catch (error) {
        return `cannot listen on ${describe(listen)}: ${(error as Error).message}`;
      }
    }
    const handle = create(address, listen.port, address !== null && net.isIPv6(address) ? 6 : 4);
    if (typeof handle === 'number')
      return `cannot listen on ${describe(listen)}: ${getSystemErrorName(handle)}`;
    // libuv keeps a failed bind's error (EADDRINUSE) for the listen() that this process never makes:
    // an unbound socket says port 0.
    const bound: { port?: number } = {};
    if (handle.getsockname(bound) !== 0 || bound.port !== listen.port) {
      handle.close();
      return `cannot listen on ${describe(listen)}: EADDRINUSE (another process holds the port)`;
    }
    const problem = await makeListen(handle.fd, listen.port);
    if (problem) {
      handle.close();
      return `cannot listen on ${describe(listen)}: ${problem}`;
    }
    // Blocking, as systemd hands a socket over by default: a program that accept()s without polling
    // would get EAGAIN from a non-blocking one. (The flag is the socket's, shared with the instances.)
    handle.setBlocking?.(true);
    this.handles.set(keyOf(listen), handle);
    return null;
  }

  /** The settings in force now: their socket stays open. */
  settings(app: ResolvedApp): void {
    this.inForce = keyOfApp(app);
    this.tidy();
  }

  /**
   * Holds the app's socket open (a reload under way that will fork on it, an instance given it) until
   * the returned release; its file descriptor, or null when the app has no open socket.
   */
  hold(app: ResolvedApp | null): { fd: number | null; release: () => void } {
    const key = keyOfApp(app);
    const handle = key === null ? undefined : this.handles.get(key);
    if (key === null || !handle) return { fd: null, release: () => {} };
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    let released = false;
    return {
      fd: handle.fd,
      release: () => {
        if (released) return;
        released = true;
        this.holds.set(key, (this.holds.get(key) ?? 1) - 1);
        this.tidy();
      },
    };
  }

  private tidy(): void {
    for (const [key, handle] of this.handles) {
      if (key === this.inForce || (this.holds.get(key) ?? 0) > 0) continue;
      handle.close();
      this.handles.delete(key);
      this.holds.delete(key);
    }
  }
}

function makeListen(fd: number, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', MAKE_LISTEN, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      env: {},
      timeout: HELPER_MS,
      killSignal: 'SIGKILL',
    });
    let said = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      said = (said + chunk).slice(0, 500);
    });
    child.once('error', (error) => resolve(error.message));
    child.once('close', (code, signal) =>
      resolve(
        code === 0
          ? null
          : said.trim() ||
              (signal ? `the helper was killed (${signal}) after ${HELPER_MS} ms` : `exit status ${code}`),
      ),
    );
  });
}
