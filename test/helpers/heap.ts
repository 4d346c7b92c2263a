// The live JS heap of one of clusterd's own processes, after a full GC, read through the inspector: the
// measure of a leak that RSS hides (V8 keeps freed pages, the young generation swings by megabytes).
// The process must run with NODE_OPTIONS=--inspect-port=0 (so SIGUSR1 opens the inspector on a free
// port, never on 9229 that another test or engineer may hold); it then says where on stderr, which the
// root's output shows (a primary's stderr is relayed there).

/** NODE_OPTIONS for a root whose processes' heaps a test reads: inert until SIGUSR1. */
export const INSPECTABLE = { NODE_OPTIONS: '--inspect-port=0' };

export interface HeapReader {
  /**
   * Bytes of live JS objects after a full GC. Not the buffers' memory outside the heap (`external`): a
   * primary whose root reads its output late holds megabytes of it for a moment, in one sample in three.
   */
  usedAfterGc(): Promise<number>;
  close(): void;
}

/**
 * Opens the inspector of `pid` (SIGUSR1), finding its address in the lines `output` gains from then on,
 * and connects to it.
 */
export async function openHeap(pid: number, output: string[], timeoutMs = 10_000): Promise<HeapReader> {
  const from = output.length;
  process.kill(pid, 'SIGUSR1');
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (url === undefined) {
    url = output
      .slice(from)
      .map((l) => /Debugger listening on (ws:\/\/\S+)/.exec(l)?.[1])
      .find(Boolean);
    if (url) break;
    if (Date.now() > deadline) throw new Error(`no inspector address from pid ${pid} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message);
    if (message.id !== undefined) pending.delete(message.id);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer from pid ${pid}`)), timeoutMs);
      pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve(message.result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async usedAfterGc() {
      // Twice: weak references and finalizers freed by the first are collected by the second.
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      const result = (await call('Runtime.evaluate', {
        expression: 'process.memoryUsage().heapUsed',
        returnByValue: true,
      })) as { result: { value: number } };
      return result.result.value;
    },
    close: () => socket.close(),
  };
}

/**
 * The slope of `y` over `x` by Theil-Sen: the median of the slopes between every two points. A sample
 * caught at an unlucky moment (a burst of workers alive, their output in flight) moves a least-squares
 * fit by up to a kilobyte per restart, and this median hardly at all.
 */
export function slope(points: { x: number; y: number }[]): number {
  const slopes: number[] = [];
  for (const [i, a] of points.entries())
    for (const b of points.slice(i + 1)) if (b.x !== a.x) slopes.push((b.y - a.y) / (b.x - a.x));
  slopes.sort((a, b) => a - b);
  const mid = Math.floor(slopes.length / 2);
  return slopes.length % 2
    ? (slopes[mid] as number)
    : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
}
