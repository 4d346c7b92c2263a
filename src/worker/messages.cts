// The messages between a worker and its primary on node:cluster's IPC channel. CommonJS, because the
// preload that sends most of them loads with --require into every worker; src/protocol.ts re-exports
// them with their types, beside every other message of clusterd.
//
// Primary -> worker: `{ clusterd: 'drain' }`: stop taking new connections, finish what is in flight.
// Worker -> primary:
// - `'ready'` (PM2's `process.send('ready')`) or `{ clusterd: 'ready' }` (clusterd/worker's `ready()`);
// - `{ clusterd: 'loaded' }`: with `readiness: "loaded"`, its entry module has run;
// - `{ clusterd: 'listening', address }`: with kernel balancing, its server listens (no cluster event);
// - `{ clusterd: 'drained' }`: with kernel balancing, its servers are closed;
// - `{ clusterd: 'keep-alive', timeout }`: a server's keepAliveTimeout outlasts shutdown.timeout (once);
// - `{ clusterd: 'open', count }`: while it drains, the connections its servers still hold (when it changes).
// Heartbeat (guards.heartbeat, primary/guards/guards.ts): primary -> worker `{ clusterd: 'beat' }`, answered at
// once by the preload with `{ clusterd: 'alive' }`, from the worker's main thread.
// Metrics (metrics.cts, primary/process/scrape.ts): primary -> worker `{ clusterd: 'metrics', seq }`, answered by
// `{ clusterd: 'sample', seq, sample }` (protocol.ts's WorkerSample).
// With `balancing: "least-connections"` or `"sticky"` (handoff.cts, primary/balance/handoff.ts):
// - worker -> primary `{ clusterd: 'listen', seq, address, port, addressType, flags, backlog, index }`,
//   answered by `{ clusterd: 'listen-reply', seq, id, sockname }` or `{ ..., seq, errno }`;
// - primary -> worker `{ clusterd: 'conn', id }` with the accepted connection's handle;
// - worker -> primary `{ clusterd: 'conns', id, took, closed }`: connections taken and closed since;
// - worker -> primary `{ clusterd: 'unlisten', id }`: its server closed.

type Tagged =
  | { clusterd?: unknown; address?: unknown; timeout?: unknown; count?: unknown }
  | null
  | undefined;

const tag = (message: unknown): unknown =>
  typeof message === 'object' && message !== null ? (message as Tagged)?.clusterd : undefined;

const messages = {
  drain: { clusterd: 'drain' } as const,
  ready: { clusterd: 'ready' } as const,
  drained: { clusterd: 'drained' } as const,
  loaded: { clusterd: 'loaded' } as const,
  listening: (address: string) => ({ clusterd: 'listening' as const, address }),
  keepAlive: (timeout: number) => ({ clusterd: 'keep-alive' as const, timeout }),
  open: (count: number) => ({ clusterd: 'open' as const, count }),
  metrics: (seq: number) => ({ clusterd: 'metrics' as const, seq }),
  sample: (seq: number, sample: unknown) => ({ clusterd: 'sample' as const, seq, sample }),
  beat: { clusterd: 'beat' } as const,
  alive: { clusterd: 'alive' } as const,

  isDrain: (message: unknown): boolean => tag(message) === 'drain',
  isBeat: (message: unknown): boolean => tag(message) === 'beat',
  isAlive: (message: unknown): boolean => tag(message) === 'alive',
  tag,
  isReady: (message: unknown): boolean => message === 'ready' || tag(message) === 'ready',
  isDrained: (message: unknown): boolean => tag(message) === 'drained',
  isLoaded: (message: unknown): boolean => tag(message) === 'loaded',
  isListening: (message: unknown): boolean =>
    tag(message) === 'listening' && typeof (message as Tagged)?.address === 'string',
  isOpen: (message: unknown): boolean =>
    tag(message) === 'open' && typeof (message as Tagged)?.count === 'number',
  isMetrics: (message: unknown): boolean =>
    tag(message) === 'metrics' && typeof (message as { seq?: unknown })?.seq === 'number',
  isSample: (message: unknown): boolean =>
    tag(message) === 'sample' && typeof (message as { seq?: unknown })?.seq === 'number',
  isKeepAlive: (message: unknown): boolean =>
    tag(message) === 'keep-alive' && typeof (message as Tagged)?.timeout === 'number',
};

export = messages;
