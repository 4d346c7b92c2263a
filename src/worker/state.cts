// State shared by the worker preload (CommonJS, loaded with --require) and `clusterd/worker` (ES module),
// through one global, so both see the same object whichever copy of the module an app loads.
//
// Whether the worker drains is one state, `draining`, written once (`beginDraining`, when the primary's
// drain message arrives) and read through `isDraining` by everything that behaves differently while it
// drains: the preload (Connection: close, the idle sweep through its injected reader), lifetime.cts (the
// channel holds the worker), `clusterd/worker` (isDraining, onShutdown). The flag stays a field of the
// shared object because an older copy of clusterd/worker in the app reads it there.

import type drainHandlers = require('./drain-handlers.cjs');

type Drain = ReturnType<typeof drainHandlers.makeDrain>;

interface SharedState {
  /** clusterd is stopping this worker: its servers no longer get new connections. */
  draining: boolean;
  /** Responses in progress (http and https servers). */
  active: Set<{ headersSent: boolean; setHeader(name: string, value: string): unknown }>;
  shutdownHandlers: (() => unknown)[];
  /** `onDrain` handlers (drain-handlers.cts). */
  drainHandlers: ((drain: Drain) => unknown)[];
  /** What the handlers were given, once the drain has begun. */
  drain?: Drain;
}

const KEY = Symbol.for('clusterd.worker');
const holder = globalThis as unknown as Record<symbol, SharedState | undefined>;
if (!holder[KEY])
  holder[KEY] = { draining: false, active: new Set(), shutdownHandlers: [], drainHandlers: [] };
// Made by an older copy of clusterd/worker (in another node_modules) without it.
holder[KEY].drainHandlers ??= [];

const shared: SharedState = holder[KEY];

const workerState = {
  shared,
  /** True once clusterd has started to stop this worker. The one reader of the draining state. */
  isDraining: (): boolean => shared.draining,
  /** The drain begins: true the first time, false if it had begun already. The one writer. */
  beginDraining(): boolean {
    if (shared.draining) return false;
    shared.draining = true;
    return true;
  },
};
export = workerState;
