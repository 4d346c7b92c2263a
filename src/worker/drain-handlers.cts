// What an app is told when its worker starts to drain (`onDrain` in `clusterd/worker`), for what the
// drain of HTTP servers cannot end by itself: WebSockets, server-sent events, long polls. Those
// connections stay open after the server stops listening, and the worker would be SIGKILLed with them
// at the deadline (every client sees an abnormal close, 1006 for a WebSocket). The app closes them in
// its own protocol (1012 "service restart"), and `spread()` spaces the closes over `shutdown.spread`,
// so that a reload does not make every client reconnect at the same instant.

interface Drain {
  /** `shutdown.spread` in ms: the time over which `spread()` spaces its closes (0: all at once). */
  readonly spreadMs: number;
  /** When the worker is SIGKILLed if it has not ended (ms since the epoch). */
  readonly deadline: number;
  /**
   * Calls `close(item)` for each of `items` (read now), the first at once and the others evenly over
   * `spreadMs`. A `close` that throws is reported, and the others still run.
   */
  spread<T>(items: Iterable<T>, close: (item: T) => unknown): void;
}

type DrainHandler = (drain: Drain) => unknown;

/** When each of `count` closes runs, in ms from now: evenly over `spreadMs`, the first at 0. */
function spreadDelays(count: number, spreadMs: number): number[] {
  const step = count > 0 && spreadMs > 0 ? spreadMs / count : 0;
  return Array.from({ length: count }, (_, i) => Math.floor(i * step));
}

function failed(what: string, error: unknown): void {
  console.error(`clusterd: ${what} failed:`, error);
}

function makeDrain(spreadMs: number, deadline: number, timer: (ms: number, fn: () => void) => void): Drain {
  return {
    spreadMs,
    deadline,
    spread(items, close) {
      const list = [...items];
      const delays = spreadDelays(list.length, spreadMs);
      list.forEach((item, i) => {
        const run = () => {
          try {
            const result = close(item);
            if (result instanceof Promise) result.catch((error) => failed('a spread close', error));
          } catch (error) {
            failed('a spread close', error);
          }
        };
        const delay = delays[i] ?? 0;
        if (delay === 0) run();
        else timer(delay, run);
      });
    },
  };
}

function call(handler: DrainHandler, drain: Drain): void {
  try {
    const result = handler(drain);
    if (result instanceof Promise) result.catch((error) => failed('an onDrain handler', error));
  } catch (error) {
    failed('an onDrain handler', error);
  }
}

/** Where the handlers and the drain are kept: the worker's shared state (state.cts). */
interface Registry {
  drainHandlers: DrainHandler[];
  drain?: Drain;
}

/** The drain starts: every handler registered so far runs, and later ones run when registered. */
function begin(state: Registry, drain: Drain): void {
  state.drain = drain;
  for (const handler of state.drainHandlers) call(handler, drain);
}

/** Registers a handler; one registered during the drain runs on the next tick. */
function add(state: Registry, handler: DrainHandler): void {
  state.drainHandlers.push(handler);
  const { drain } = state;
  if (drain) process.nextTick(() => call(handler, drain));
}

export = { begin, add, makeDrain, spreadDelays };
