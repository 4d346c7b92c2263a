// Loaded into every worker with `--require` (before the app, CommonJS or ESM), so that an app with no
// shutdown code of its own still drains without errors:
// - once draining, every response that has not sent its headers yet says `Connection: close`, and so does
//   any request that arrives later on a kept-alive connection: the client closes it after the response;
// - server.close() (node:cluster calls it to stop accepting) does not destroy idle keep-alive sockets
//   while draining (Node >= 19 does by default): a client may be sending its next request on one at that
//   very moment, and would get a reset. Idle sockets end by the client, by the next response's
//   `Connection: close`, or by the server's keep-alive timeout, as they always do.
// The app's own code is not changed. `clusterd/worker` (ready, onShutdown) shares the state below.
import http = require('node:http');
import net = require('node:net');

import messages = require('./messages.cjs');
import workerState = require('./state.cjs');

// The app's own node children (child_process.fork) inherit the worker's execArgv, and with it this
// preload: it is for the cluster worker only. The worker loop below would otherwise end the IPC channel
// of a child that lives by it, patch its servers and send it messages it does not expect.
const cluster = require('node:cluster') as typeof import('node:cluster').default;
if (cluster.isWorker) setUpWorker();

function setUpWorker(): void {
  // A worker whose work is done ends by itself (see lifetime.cts).
  const lifetime = require('./lifetime.cjs') as typeof import('./lifetime.cjs');
  if (process.env.CLUSTERD_READINESS === 'loaded') require('./loaded.cjs');

  function closeAfter(res: { headersSent: boolean; setHeader(name: string, value: string): unknown }): void {
    if (!res.headersSent) res.setHeader('connection', 'close');
  }

  function track(res: http.ServerResponse): void {
    if (workerState.draining) closeAfter(res);
    workerState.active.add(res);
    const done = () => workerState.active.delete(res);
    res.once('finish', done);
    res.once('close', done);
  }

  // Every HTTP/1 response is tracked, plain or TLS. The hook sits on net.Server, which both servers
  // inherit, so that https (and with it tls and OpenSSL, 5.5 MiB of RSS) is not loaded into apps that
  // do not use it. HTTP/2 compatibility responses are not http.ServerResponse and are left alone.
  const netEmit = net.Server.prototype.emit as (this: net.Server, ...args: unknown[]) => boolean;
  net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'request' && args[1] instanceof http.ServerResponse) track(args[1]);
    return netEmit.call(this, event, ...args);
  } as typeof net.Server.prototype.emit;
  // https copies this method from http when it loads, which is after this preload.
  const closeIdle = http.Server.prototype.closeIdleConnections;
  http.Server.prototype.closeIdleConnections = function (this: http.Server) {
    if (!workerState.draining) closeIdle.call(this);
  };

  process.on('message', (message: unknown) => {
    if (!messages.isDrain(message) || workerState.draining) return;
    workerState.draining = true;
    lifetime.drain();
    for (const res of workerState.active) closeAfter(res);
  });

  // `balancing: "kernel"`: every TCP listen of the app gets SO_REUSEPORT and its own socket (exclusive),
  // so the kernel spreads connections and the primary is off the data path. node:cluster then neither
  // sees the listen (no `listening` event, so the worker reports readiness itself) nor closes the
  // server on disconnect (so the drain closes it here, then tells the primary).
  if (process.env.CLUSTERD_BALANCING === 'kernel') {
    const servers = new Set<net.Server>();
    const listen = net.Server.prototype.listen;
    const tcp = (args: unknown[]): { options: net.ListenOptions; rest: unknown[] } | null => {
      const callback = typeof args.at(-1) === 'function' ? [args.at(-1)] : [];
      const params = callback.length ? args.slice(0, -1) : args;
      const [first, second, third] = params;
      if (typeof first === 'object' && first !== null) {
        const o = first as net.ListenOptions & { fd?: unknown; handle?: unknown; _handle?: unknown };
        if (o.path !== undefined || o.fd !== undefined || o.handle !== undefined || o._handle !== undefined)
          return null;
        return { options: { ...o }, rest: callback };
      }
      if (
        first !== undefined &&
        typeof first !== 'number' &&
        !(typeof first === 'string' && /^\d+$/.test(first))
      )
        return null;
      const options: net.ListenOptions = { port: Number(first ?? 0) };
      if (typeof second === 'string') options.host = second;
      const backlog = typeof second === 'number' ? second : third;
      if (typeof backlog === 'number') options.backlog = backlog;
      return { options, rest: callback };
    };
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      const plan = tcp(args);
      if (!plan) return listen.apply(this, args as Parameters<typeof listen>);
      servers.add(this);
      this.once('listening', () => {
        const address = this.address();
        const where =
          typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address);
        process.send?.(messages.listening(where));
      });
      this.once('close', () => servers.delete(this));
      return listen.call(this, { ...plan.options, exclusive: true, reusePort: true }, ...(plan.rest as []));
    } as typeof listen;

    process.on('message', (message: unknown) => {
      if (!messages.isDrain(message)) return;
      let open = servers.size;
      const drained = () => process.send?.(messages.drained);
      if (open === 0) drained();
      for (const server of servers) {
        server.close(() => {
          open -= 1;
          if (open === 0) drained();
        });
      }
    });
  }
}
