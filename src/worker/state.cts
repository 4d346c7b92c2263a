// State shared by the worker preload (CommonJS, loaded with --require) and `clusterd/worker` (ES module),
// through one global, so both see the same object whichever copy of the module an app loads.

interface WorkerState {
  /** clusterd is stopping this worker: its servers no longer get new connections. */
  draining: boolean;
  /** Responses in progress (http and https servers). */
  active: Set<{ headersSent: boolean; setHeader(name: string, value: string): unknown }>;
  shutdownHandlers: (() => unknown)[];
}

const KEY = Symbol.for('clusterd.worker');
const holder = globalThis as unknown as Record<symbol, WorkerState | undefined>;
if (!holder[KEY]) holder[KEY] = { draining: false, active: new Set(), shutdownHandlers: [] };

const workerState: WorkerState = holder[KEY];
export = workerState;
