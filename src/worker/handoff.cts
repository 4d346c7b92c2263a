// `balancing: "least-connections"` and `"sticky"`, the worker's half (the primary's: primary/balance/handoff.ts).
// The primary listens and picks the worker of each connection itself, so a TCP listen of the app is
// answered here instead of by node:cluster: `cluster._getServer` asks clusterd's primary for the
// listen, and the server gets a stand-in handle (as node:cluster's round-robin gives it) whose
// `onconnection` receives the connections the primary hands over. The app's server, plain or TLS, HTTP
// or not, sees ordinary connections, counted by net as its own (`server.close()` waits for them).
// Each handoff is acknowledged to the primary (the last `seq` dealt with, batched per turn of the event
// loop, with the connections closed since): the primary keeps its copy of a connection until then, so
// that one whose worker dies before taking it goes to another worker. Those acknowledgements are also
// how it knows a worker's open connections, and which worker is busy. A connection this worker cannot
// take is sent back (`bounce`) by its seq alone: the primary still holds it. A listen on a Unix socket
// or an fd, and dgram, are left to node:cluster. node:cluster neither sees these listens nor closes these servers on disconnect: the
// worker reports `listening`, and its drain closes them, then says `drained` (as with kernel balancing).
import net = require('node:net');

import messages = require('./messages.cjs');

type Callback = (error: unknown, handle?: unknown) => unknown;
type GetServer = (obj: unknown, options: Record<string, unknown>, cb: Callback) => unknown;
type Sockname = { address?: string; family?: string; port?: number };
type Reply = typeof messages.isListenReply extends (m: unknown) => m is infer R ? R : never;
/** net's own bookkeeping of a server's connections, which `close()` waits on. */
type Counted = net.Server & { _connections?: number };

/** What node:cluster's round-robin stand-in offers net.Server, and the connections' way in. */
interface StandIn {
  onconnection?: (error: number, handle: unknown) => void;
  close(): void;
  listen(): number;
  getsockname(out: Sockname): number;
  ref(): void;
  unref(): void;
}

interface Listen {
  server: net.Server;
  handle: StandIn;
}

const isTcp = (obj: unknown, options: Record<string, unknown>) =>
  obj instanceof net.Server &&
  (options.addressType === 4 || options.addressType === 6) &&
  typeof options.port === 'number' &&
  options.port >= 0 &&
  !(typeof options.fd === 'number' && options.fd >= 0);

/** Installs the handoff listen; `drain()` closes those servers, then says `drained`. */
function installHandoff(): { drain(): void } {
  const cluster = require('node:cluster') as { _getServer?: GetServer };
  const getServer = cluster._getServer;
  const listens = new Map<number, Listen>();
  const waiting = new Map<number, (reply: Reply) => void>();
  // Per address, the indexes of this worker's open listens: two identical listens of one worker (port 0)
  // are two servers, and the primary tells them apart by index. As node:cluster does, the count starts
  // again once every listen of the address has closed, so that a server closed and listened again
  // joins the other workers' listen instead of binding the port a second time (EADDRINUSE).
  const indexes = new Map<string, { next: number; open: Set<number> }>();
  const release = (where: string, index: number) => {
    const used = indexes.get(where);
    used?.open.delete(index);
    if (used?.open.size === 0) indexes.delete(where);
  };
  let seq = 0;

  const send = (message: object) => {
    if (process.connected) process.send?.(message);
  };

  // The last handoff this worker has dealt with (taken or sent back), and per listen the connections closed
  // since the last report. One report per listen and turn of the event loop, sent when the loop comes
  // back from whatever it ran: a worker whose loop is blocked (a CPU-bound request) leaves the
  // connections handed to it unanswered, which is how the primary tells it is busy.
  let upTo = 0;
  let closedSince = new Map<number, number>();
  let flushing = false;
  function flush(): void {
    flushing = false;
    const due = closedSince;
    closedSince = new Map();
    for (const [id, closed] of due) send(messages.conns(id, upTo, closed));
  }
  function count(id: number, closed: number): void {
    closedSince.set(id, (closedSince.get(id) ?? 0) + closed);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  }
  const countClosed = (id: number) => count(id, 1);

  function standIn(id: number, sockname: Sockname, closed: () => void): StandIn {
    return {
      close() {
        listens.delete(id);
        closed();
        send(messages.unlisten(id));
      },
      listen: () => 0,
      getsockname(out) {
        Object.assign(out, sockname);
        return 0;
      },
      // The channel keeps the worker alive while the server is open (lifetime.cts), as with round-robin.
      ref() {},
      unref() {},
    };
  }

  function accept(
    conn: { id: number; seq: number; data?: string },
    handle: { close(): void } | net.Socket,
  ): void {
    const { id, seq, data } = conn;
    // Handoffs arrive in the order they were sent: this one acknowledges every earlier one too.
    upTo = seq;
    count(id, 0);
    const listen = listens.get(id);
    const server = listen?.server as Counted | undefined;
    const full =
      server && server.maxConnections != null && (server._connections ?? 0) >= server.maxConnections;
    if (!server || !listen?.handle.onconnection || full) {
      // Not taken here (its server closed, or at maxConnections): the primary, which still holds the
      // connection, gives it to another worker, as node:cluster's round-robin does with a connection a
      // worker does not accept. Nothing has been read from it here: it came in this tick.
      if (handle instanceof net.Socket) handle.destroy();
      else handle.close();
      send(messages.bounce(seq));
      return;
    }
    if (handle instanceof net.Socket) inject(server, handle, data);
    else listen.handle.onconnection(0, handle);
  }

  // A connection the primary read the first request head of (`stickyHeader`) comes as a socket, with
  // the bytes read. It is given to the server as net's onconnection gives one: counted as the server's
  // (close() waits for it), and the bytes back in front of what the socket reads next.
  function inject(server: Counted, socket: net.Socket, data: unknown): void {
    server._connections = (server._connections ?? 0) + 1;
    Object.assign(socket, { server, _server: server });
    if (typeof data === 'string' && data.length > 0) socket.unshift(Buffer.from(data, 'base64'));
    server.emit('connection', socket);
  }

  process.on('message', (message: unknown, handle: unknown) => {
    if (messages.isConn(message)) {
      if (handle) accept(message, handle as { close(): void } | net.Socket);
    } else if (messages.isListenReply(message)) {
      waiting.get(message.seq)?.(message);
      waiting.delete(message.seq);
    }
  });

  cluster._getServer = function (this: unknown, obj, options, cb) {
    if (!isTcp(obj, options)) return getServer?.call(this, obj, options, cb);
    const server = obj as net.Server;
    const where = [options.addressType, options.address, options.port].join(':');
    const used = indexes.get(where) ?? { next: 0, open: new Set<number>() };
    indexes.set(where, used);
    const index = used.next++;
    used.open.add(index);
    const number = ++seq;
    waiting.set(number, (reply) => {
      if ('errno' in reply) {
        release(where, index);
        return cb(reply.errno);
      }
      const id = reply.id;
      const handle = standIn(id, reply.sockname, () => release(where, index));
      listens.set(id, { server, handle });
      const closedOne = () => countClosed(id);
      server.on('connection', (socket: net.Socket) => socket.once('close', closedOne));
      server.once('listening', () => {
        const a = server.address();
        send(messages.listening(typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a)));
      });
      return cb(0, handle);
    });
    send(
      messages.listen({
        seq: number,
        address: typeof options.address === 'string' ? options.address : null,
        port: options.port as number,
        addressType: options.addressType as 4 | 6,
        flags: typeof options.flags === 'number' ? options.flags : 0,
        backlog: typeof options.backlog === 'number' ? options.backlog : null,
        index,
      }),
    );
  };

  return {
    drain() {
      let open = listens.size;
      const drained = () => send(messages.drained);
      if (open === 0) drained();
      for (const { server } of [...listens.values()]) {
        server.close(() => {
          open -= 1;
          if (open === 0) drained();
        });
      }
    },
  };
}

export = installHandoff;
