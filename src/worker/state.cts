// State shared by the worker preload (CommonJS, loaded with --require) and `clusterd/worker` (ES module),
// through one global, so both see the same object whichever copy of the module an app loads.

import type drainHandlers = require('./drain-handlers.cjs');

type Drain = ReturnType<typeof drainHandlers.makeDrain>;

interface WorkerState {
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
const holder = globalThis as unknown as Record<symbol, WorkerState | undefined>;
if (!holder[KEY])
  holder[KEY] = { draining: false, active: new Set(), shutdownHandlers: [], drainHandlers: [] };
// Made by an older copy of clusterd/worker (in another node_modules) without it.
holder[KEY].drainHandlers ??= [];

const workerState: WorkerState = holder[KEY];
export = workerState;
