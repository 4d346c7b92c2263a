// Idle keep-alive connections, the kind a drain must close itself: each one sends one request
// (`Connection: keep-alive`), reads the answer, and then sends nothing more, like a client's pool or a
// load balancer between requests. Raw sockets, so a test sees how the server ended each one: a FIN
// (`end`), or an error such as a reset.
import net from 'node:net';
import tls from 'node:tls';

export interface IdleConnection {
  /** The worker that answered (the app answers `{ "pid": N }`). */
  pid: number;
  /** Resolves with how the server ended the connection: 'end' (a FIN), or the error's code. */
  ended: Promise<string>;
  destroy(): void;
}

function open(address: string, secure: boolean): Promise<IdleConnection> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').at(-1))];
  const socket = secure
    ? tls.connect({ host, port, rejectUnauthorized: false })
    : net.connect({ host, port });
  let resolveEnded: (how: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    resolveEnded = resolve;
  });
  return new Promise((resolve, reject) => {
    let received = '';
    let answered = false;
    socket.setEncoding('utf8');
    socket.once(secure ? 'secureConnect' : 'connect', () =>
      socket.write(`GET / HTTP/1.1\r\nhost: ${address}\r\nconnection: keep-alive\r\n\r\n`),
    );
    socket.on('data', (chunk: string) => {
      if (answered) return;
      received += chunk;
      const split = received.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, split))?.[1]);
      const body = received.slice(split + 4);
      if (!(body.length >= length)) return;
      answered = true;
      if (/\r\nconnection: *close/i.test(received.slice(0, split)))
        return reject(new Error(`the server closes this connection: ${received.slice(0, split)}`));
      resolve({ pid: (JSON.parse(body) as { pid: number }).pid, ended, destroy: () => socket.destroy() });
    });
    socket.on('end', () => resolveEnded('end'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      resolveEnded(error.code ?? error.message);
      if (!answered) reject(error);
    });
    socket.on('close', () => {
      resolveEnded('closed without a FIN');
      if (!answered) reject(new Error(`connection to ${address} closed before an answer`));
    });
  });
}

/**
 * Opens idle keep-alive connections until each of `pids` holds at least one (node:cluster gives new
 * connections to the workers in turn); at most `max` connections.
 */
export async function holdIdle(
  address: string,
  pids: Iterable<number>,
  { tls: secure = false, max = 40 } = {},
): Promise<IdleConnection[]> {
  const wanted = new Set(pids);
  const held: IdleConnection[] = [];
  while (wanted.size > 0) {
    if (held.length >= max) {
      for (const c of held) c.destroy();
      throw new Error(`${max} connections reached none of the workers ${[...wanted].join(', ')}`);
    }
    const connection = await open(address, secure);
    held.push(connection);
    wanted.delete(connection.pid);
  }
  return held;
}
