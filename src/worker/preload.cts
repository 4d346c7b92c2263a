// Loaded into every worker with `--require` (before the app, CommonJS or ESM), so that an app with no
// shutdown code of its own drains without errors and without waiting for its clients:
// - once draining, every response that has not sent its headers yet says `Connection: close`, and so does
//   any request that arrives later on a kept-alive connection: the client closes it after the response;
// - idle keep-alive sockets are closed a short grace after the drain begins, and after the last response
//   ended (drain.cts), not at once (a client sending on one would get a reset), nor at the server's
//   keepAliveTimeout (72 s in Fastify: SIGKILL at shutdown.timeout, and onShutdown never ran).
// Everything is learnt from node:diagnostics_channel (which both http and https publish to, whatever
// loaded first, an APM through NODE_OPTIONS included) and changed per server instance at drain time:
// no prototype of http, https or net is patched, except net's listen() with `balancing: "kernel"`
// (`least-connections` and `sticky` answer node:cluster's listen request instead: handoff.cts).
// The app's own code is not changed. `clusterd/worker` (ready, onShutdown) shares the state below.
// A worker whose work is done ends by itself (lifetime.cts); with `readiness: "loaded"` the end of its
// entry module makes it ready (loaded.cts). The same subscriber and listener count the requests for the
// request metrics (requests.cts), unless the app sets `requestMetrics: false`.
import diagnostics = require('node:diagnostics_channel');
import type http = require('node:http');

import drain = require('./drain.cjs');
import installKernelBalancing = require('./kernel.cjs');
import messages = require('./messages.cjs');
import workerState = require('./state.cjs');

// The app's own node children (child_process.fork) inherit the worker's execArgv, and with it this
// preload: it is for the cluster worker only. The worker loop below would otherwise end the IPC channel
// of a child that lives by it, watch its servers and send it messages it does not expect.
const cluster = require('node:cluster') as typeof import('node:cluster').default;
if (cluster.isWorker) setUpWorker();

// clusterd/worker's messaging (messaging.ts) takes the primary's messages through `dispatch` once the app
// loads it; until then (or if it never does), a sibling's request is answered at once: no handler here.
function answerMessages(): void {
  const holder = globalThis as unknown as Record<
    symbol,
    { preloaded?: boolean; dispatch?: (m: unknown) => void }
  >;
  const key = Symbol.for('clusterd.messaging');
  holder[key] ??= {};
  const shared = holder[key];
  shared.preloaded = true;
  process.on('message', (message: unknown) => {
    if (shared.dispatch) shared.dispatch(message);
    else if (messages.isMsgAsk(message) && process.connected)
      process.send?.(messages.msgReply({ ask: message.ask, outcome: 'no-handler' }));
  });
}

function setUpWorker(): void {
  // `compileCache`: the app's modules (and a TypeScript app's stripped source) from the cache in
  // clusterd's private directory, checked by the root (src/compile-cache.ts); the app's own children
  // do not inherit the variable. A cache that cannot be used changes nothing.
  const cache = process.env.CLUSTERD_COMPILE_CACHE;
  delete process.env.CLUSTERD_COMPILE_CACHE;
  if (cache) {
    try {
      (require('node:module') as typeof import('node:module')).enableCompileCache?.(cache);
    } catch {}
  }
  // Servers the worker closes itself at drain time: node:cluster does not know of their listens. The
  // handoff's `_getServer` goes first, so that lifetime's wraps it.
  const balancing = process.env.CLUSTERD_BALANCING;
  const own: { drain(): void; servers?: ReadonlySet<import('node:net').Server> } | null =
    balancing === 'kernel'
      ? installKernelBalancing()
      : balancing === 'least-connections' || balancing === 'sticky'
        ? (require('./handoff.cjs') as typeof import('./handoff.cjs'))()
        : null;
  const lifetime = require('./lifetime.cjs') as typeof import('./lifetime.cjs');
  const drainHandlers = require('./drain-handlers.cjs') as typeof import('./drain-handlers.cjs');
  if (process.env.CLUSTERD_READINESS === 'loaded') require('./loaded.cjs');
  answerMessages();
  // Null with `requestMetrics: false`: the primary's `counts` are still answered (RSS, loop delay).
  const { recorder, counting } = (require('./requests.cjs') as typeof import('./requests.cjs'))(
    process.env.CLUSTERD_REQUEST_METRICS !== '0',
  );
  (require('./metrics.cjs') as typeof import('./metrics.cjs'))(counting);
  // The heartbeat is answered here, on the main thread: an answer says its event loop turns.
  process.on('message', (message: unknown) => {
    if (messages.isBeat(message) && process.connected) process.send?.(messages.alive);
    // `clusterd profile`, `clusterd heap`: the inspector is loaded only by the first of them.
    else if (
      messages.isProfile(message) ||
      messages.isProfileAck(message) ||
      messages.isProfileCancel(message)
    )
      (require('./profile.cjs') as typeof import('./profile.cjs')).onMessage(message);
  });

  const shutdownTimeout = Number(process.env.CLUSTERD_SHUTDOWN_TIMEOUT);
  const spreadMs = Number(process.env.CLUSTERD_SHUTDOWN_SPREAD) || 0;
  const sweep = new drain.IdleSweep(drain.graceMs(shutdownTimeout), {
    draining: workerState.isDraining,
    now: Date.now,
    timer: (ms, fn) => setTimeout(fn, ms).unref(),
  });

  function closeAfter(res: { headersSent: boolean; setHeader(name: string, value: string): unknown }): void {
    if (!res.headersSent) res.setHeader('connection', 'close');
  }

  // One listener shared by every response (no closure per request); 'close' follows 'finish' too.
  function untrack(this: http.ServerResponse): void {
    workerState.shared.active.delete(this);
    sweep.responseEnded();
    recorder?.ended(this);
  }

  // Every HTTP/1 request, plain or TLS, and the server it came to. HTTP/2 compatibility responses are not
  // published here and are left alone. (A server is learnt at its first request, not at its first
  // connection with `net.server.socket`: that would cost every connection, and a server that never had
  // a request holds no keep-alive socket.)
  diagnostics.subscribe('http.server.request.start', (message) => {
    const { response: res, server } = message as { response: http.ServerResponse; server: http.Server };
    if (!sweep.has(server)) learn(server);
    if (workerState.isDraining()) closeAfter(res);
    workerState.shared.active.add(res);
    recorder?.started(res);
    res.on('close', untrack);
  });

  let warned = false;
  // The warning goes to the primary, which logs it once for the app (not once per worker and reload).
  function checkKeepAlive(server: { keepAliveTimeout?: unknown }): void {
    const timeout = server.keepAliveTimeout;
    if (warned || typeof timeout !== 'number' || !(shutdownTimeout > 0)) return;
    // 0 disables the timeout: idle sockets would stay open for ever.
    if (timeout !== 0 && timeout <= shutdownTimeout) return;
    warned = true;
    // Infinity would cross the channel as null (JSON): it means no timeout, as 0 does.
    process.send?.(messages.keepAlive(Number.isFinite(timeout) && timeout > 0 ? timeout : 0));
  }

  function learn(server: http.Server): void {
    sweep.add(server);
    server.once('close', () => sweep.delete(server));
    checkKeepAlive(server);
  }

  process.on('message', (message: unknown) => {
    if (!messages.isDrain(message) || !workerState.beginDraining()) return;
    lifetime.drain();
    for (const res of workerState.shared.active) closeAfter(res);
    // Before any server closes (node:cluster's disconnect comes after this message, on the same channel).
    sweep.begin();
    own?.drain();
    // Long-lived connections (WebSockets) are the app's to close: it is told now. The SIGKILL comes
    // `shutdown.spread` + `shutdown.timeout` after the drain began (primary/stop/stop.ts).
    const timer = (ms: number, fn: () => void) => void setTimeout(fn, ms);
    drainHandlers.begin(
      workerState.shared,
      drainHandlers.makeDrain(spreadMs, Date.now() + spreadMs + shutdownTimeout, timer),
    );
    reportOpen([...lifetime.servers, ...(own?.servers ?? [])]);
  });
}

/** How often a draining worker tells the primary how many connections it still holds (for `status`). */
const OPEN_EVERY_MS = 1_000;

// Counts what the servers still hold (a closed server waits for its connections): node:cluster's listens
// and those the worker listens on itself (kernel balancing). Sent when the count changes, while the
// channel is up (the primary disconnects the worker once it is drained).
function reportOpen(servers: readonly import('node:net').Server[]): void {
  let last = -1;
  const count = async () => {
    const counts = await Promise.all(
      servers.map(
        (s) => new Promise<number>((resolve) => s.getConnections((error, n) => resolve(error ? 0 : n))),
      ),
    );
    const open = counts.reduce((a, b) => a + b, 0);
    if (open === last || !process.connected) return;
    last = open;
    process.send?.(messages.open(open));
  };
  void count();
  setInterval(() => void count(), OPEN_EVERY_MS).unref();
}
