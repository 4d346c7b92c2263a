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

// Run as `node -e`: makes fd 3 listen, and exits before the loop could accept anything on it.
const MAKE_LISTEN = `require('node:net').createServer().on('error', (e) => { process.stderr.write(e.message); process.exit(1); }).listen({ fd: 3, backlog: ${BACKLOG} }, () => process.exit(0));`;

interface Handle {
  fd: number;
  close(): void;
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => Handle | number;

const keyOf = (listen: ResolvedListen) => `${listen.host ?? '*'} ${listen.port}`;

function describe(listen: ResolvedListen): string {
  const host = listen.host ?? '*';
  return `${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

export class ListenSockets {
  private readonly handles = new Map<string, Handle>();

  /** Opens the app's socket unless it is open; resolves to why it cannot be, or null. */
  async ensure(app: ResolvedApp | null): Promise<string | null> {
    const listen = app?.program?.listen;
    if (!listen || this.handles.has(keyOf(listen))) return null;
    const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
    const host = listen.host;
    const addressType = host === null ? 4 : net.isIPv6(host) ? 6 : 4;
    let address = host;
    if (host !== null && net.isIP(host) === 0) {
      const { lookup } = await import('node:dns/promises');
      try {
        address = (await lookup(host)).address;
      } catch (error) {
        return `cannot listen on ${describe(listen)}: ${(error as Error).message}`;
      }
    }
    const handle = create(address, listen.port, address === null ? addressType : net.isIPv6(address) ? 6 : 4);
    if (typeof handle === 'number')
      return `cannot listen on ${describe(listen)}: ${getSystemErrorName(handle)}`;
    const problem = await makeListen(handle.fd);
    if (problem) {
      handle.close();
      return `cannot listen on ${describe(listen)}: ${problem}`;
    }
    this.handles.set(keyOf(listen), handle);
    return null;
  }

  /** The file descriptor of the app's socket, or null when it is not open. */
  fd(app: ResolvedApp): number | null {
    const listen = app.program?.listen;
    return listen ? (this.handles.get(keyOf(listen))?.fd ?? null) : null;
  }

  /** Closes every socket but the app's (a reload moved it): its instances keep their own copies. */
  keepOnly(app: ResolvedApp): void {
    const listen = app.program?.listen;
    const keep = listen ? keyOf(listen) : null;
    for (const [key, handle] of this.handles)
      if (key !== keep) {
        handle.close();
        this.handles.delete(key);
      }
  }
}

function makeListen(fd: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', MAKE_LISTEN], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      env: {},
    });
    let said = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      said = (said + chunk).slice(0, 500);
    });
    child.once('error', (error) => resolve(error.message));
    child.once('close', (code) => resolve(code === 0 ? null : said.trim() || `exit status ${code}`));
  });
}
