// `clusterd profile` and `clusterd heap`, in the worker: a CPU profile or a heap snapshot taken through
// node:inspector's in-process Session (no inspector port is opened, the worker is not restarted), then
// sent to the primary in base64 chunks, at most WINDOW of them unacknowledged, so that no hop (worker,
// primary, root, control socket) holds more than a few chunks of it. Required by the preload only when a
// `profile` message arrives: a worker that is never profiled never loads the inspector.
//
// A heap snapshot is serialized in one synchronous block (the chunks come during it, no loop turn in
// between), so its chunks are spooled to an unlinked temporary file (mode 0600, in os.tmpdir()) rather
// than kept in the heap, and read back from it piece by piece as the acknowledgements come.
import fs = require('node:fs');
import inspector = require('node:inspector');
import os = require('node:os');
import path = require('node:path');
import messages = require('./messages.cjs');

/** Bytes of the file per chunk (base64 makes them 256 KiB on the channels). */
const CHUNK_BYTES = 192 * 1024;
/** Chunks sent and not yet acknowledged, at most. */
const WINDOW = 3;
/** With no acknowledgement for this long, nobody reads: the profile is dropped. */
const STALL_MS = 60_000;

/** What is being sent: its size, and its bytes read from where they are. */
interface Source {
  size: number;
  read(offset: number, length: number): Buffer;
  close(): void;
}

interface Run {
  id: number;
  source: Source | null;
  offset: number;
  sent: number;
  acked: number;
  stall: NodeJS.Timeout | null;
  done: boolean;
  /** Stops a CPU profile still running. */
  stop: (() => void) | null;
}

const runs = new Map<number, Run>();
let session: inspector.Session | null = null;

function connected(): inspector.Session {
  if (!session) {
    session = new inspector.Session();
    session.connect();
  }
  return session;
}

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    connected().post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

function send(message: unknown): void {
  if (process.connected) process.send?.(message);
}

function bufferSource(buffer: Buffer): Source {
  return {
    size: buffer.length,
    read: (offset, length) => buffer.subarray(offset, offset + length),
    close: () => {},
  };
}

// A file only this process can reach: created 0600 in a directory of its own, both unlinked at once.
function spool(): { fd: number; size: () => number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-heap-'));
  const file = path.join(dir, 'snapshot');
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx+', 0o600);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { fd, size: () => fs.fstatSync(fd).size };
}

function fileSource(fd: number, size: number): Source {
  return {
    size,
    read: (offset, length) => {
      const buffer = Buffer.allocUnsafe(Math.min(length, size - offset));
      const read = fs.readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.subarray(0, read);
    },
    close: () => fs.closeSync(fd),
  };
}

async function takeHeap(): Promise<{ source: Source; pauseMs: number }> {
  let file: ReturnType<typeof spool>;
  try {
    file = spool();
  } catch (error) {
    throw new Error(`cannot spool the snapshot in ${os.tmpdir()}: ${(error as Error).message}`);
  }
  let failure: unknown = null;
  const chunk = (message: { params: { chunk: string } }) => {
    if (failure) return;
    try {
      fs.writeSync(file.fd, message.params.chunk);
    } catch (error) {
      failure = error;
    }
  };
  const s = connected();
  s.on('HeapProfiler.addHeapSnapshotChunk', chunk);
  const start = performance.now();
  try {
    // The snapshot and its serialization block the event loop from here to the answer.
    await post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } catch (error) {
    failure ??= error;
  } finally {
    s.off('HeapProfiler.addHeapSnapshotChunk', chunk);
  }
  const pauseMs = performance.now() - start;
  if (failure) {
    fs.closeSync(file.fd);
    throw failure;
  }
  return { source: fileSource(file.fd, file.size()), pauseMs };
}

async function takeCpu(run: Run, durationMs: number): Promise<{ source: Source; pauseMs: number }> {
  await post('Profiler.enable');
  await post('Profiler.start');
  await new Promise<void>((resolve) => {
    // Unref'd: a worker whose work is done still ends (its profile then fails with its exit).
    const timer = setTimeout(resolve, durationMs).unref();
    run.stop = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  run.stop = null;
  const start = performance.now();
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  await post('Profiler.disable');
  const pauseMs = performance.now() - start;
  return { source: bufferSource(Buffer.from(JSON.stringify(profile))), pauseMs };
}

function finish(run: Run, error?: string): void {
  if (run.done) return;
  run.done = true;
  runs.delete(run.id);
  if (run.stall) clearTimeout(run.stall);
  run.stop?.();
  try {
    run.source?.close();
  } catch {}
  if (error !== undefined) send(messages.profileError(run.id, error));
}

function armStall(run: Run): void {
  if (run.stall) clearTimeout(run.stall);
  run.stall = setTimeout(
    () => finish(run, `no acknowledgement for ${STALL_MS / 1000} s: nobody reads the profile`),
    STALL_MS,
  ).unref();
}

// Sends chunks while fewer than WINDOW wait for their acknowledgement; the end once all are sent.
function pump(run: Run): void {
  const source = run.source;
  if (run.done || !source) return;
  try {
    while (run.sent - run.acked < WINDOW && run.offset < source.size) {
      const bytes = source.read(run.offset, CHUNK_BYTES);
      if (bytes.length === 0) throw new Error('the spooled snapshot ended early');
      run.offset += bytes.length;
      run.sent += 1;
      send(messages.profileChunk(run.id, run.sent, bytes.toString('base64')));
    }
  } catch (error) {
    finish(run, `reading the profile back: ${(error as Error).message}`);
    return;
  }
  if (run.offset >= source.size) {
    send(messages.profileEnd(run.id));
    finish(run);
  } else armStall(run);
}

async function start(id: number, kind: 'cpu' | 'heap', durationMs: number): Promise<void> {
  if (runs.has(id)) return;
  const run: Run = { id, source: null, offset: 0, sent: 0, acked: 0, stall: null, done: false, stop: null };
  runs.set(id, run);
  const begun = performance.now();
  try {
    const { source, pauseMs } = kind === 'heap' ? await takeHeap() : await takeCpu(run, durationMs);
    if (run.done) {
      source.close();
      return;
    }
    run.source = source;
    const ms = Math.round(performance.now() - begun);
    send(messages.profileBegin({ id, bytes: source.size, pauseMs: Math.round(pauseMs * 10) / 10, ms }));
    pump(run);
  } catch (error) {
    finish(
      run,
      `${kind === 'heap' ? 'heap snapshot' : 'CPU profile'} failed: ${(error as Error)?.message ?? String(error)}`,
    );
  }
}

/** The preload hands over each profile message here (it has checked its guard). */
function onMessage(message: unknown): void {
  if (messages.isProfile(message)) void start(message.id, message.kind, message.durationMs);
  else if (messages.isProfileAck(message)) {
    const run = runs.get(message.id);
    if (!run || message.seq <= run.acked) return;
    run.acked = Math.min(message.seq, run.sent);
    pump(run);
  } else if (messages.isProfileCancel(message)) {
    const run = runs.get(message.id);
    if (run) finish(run);
  }
}

export = { onMessage, CHUNK_BYTES, WINDOW };
