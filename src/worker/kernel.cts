// `balancing: "kernel"`: every TCP listen of the app gets SO_REUSEPORT and its own socket (exclusive),
// so the kernel spreads connections and the primary is off the data path. node:cluster then neither
// sees the listen (no `listening` event, so the worker reports it itself) nor closes the server on
// disconnect (so the drain closes it here, then tells the primary). A listen on a Unix socket or an fd
// is left to node:cluster, which reports it as usual.
import net = require('node:net');

import messages = require('./messages.cjs');

type Plan = { options: net.ListenOptions; rest: unknown[] };

// The arguments of a TCP listen() as options, or null for a path, an fd or a handle.
function tcp(args: unknown[]): Plan | null {
  const callback = typeof args.at(-1) === 'function' ? [args.at(-1)] : [];
  const params = callback.length ? args.slice(0, -1) : args;
  const [first, second, third] = params;
  if (typeof first === 'object' && first !== null) {
    const o = first as net.ListenOptions & { fd?: unknown; handle?: unknown; _handle?: unknown };
    if (o.path !== undefined || o.fd !== undefined || o.handle !== undefined || o._handle !== undefined)
      return null;
    return { options: { ...o }, rest: callback };
  }
  if (first !== undefined && typeof first !== 'number' && !(typeof first === 'string' && /^\d+$/.test(first)))
    return null;
  const options: net.ListenOptions = { port: Number(first ?? 0) };
  if (typeof second === 'string') options.host = second;
  const backlog = typeof second === 'number' ? second : third;
  if (typeof backlog === 'number') options.backlog = backlog;
  return { options, rest: callback };
}

/** Installs the listen of kernel balancing; `drain()` closes those servers, then says `drained`. */
function installKernelBalancing(): { drain(): void; servers: ReadonlySet<net.Server> } {
  const servers = new Set<net.Server>();
  const listen = net.Server.prototype.listen;
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

  return {
    servers,
    drain() {
      let open = servers.size;
      const drained = () => process.send?.(messages.drained);
      if (open === 0) drained();
      for (const server of servers) {
        server.close(() => {
          open -= 1;
          if (open === 0) drained();
        });
      }
    },
  };
}

export = installKernelBalancing;
