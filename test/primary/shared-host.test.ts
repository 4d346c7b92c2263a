// A shared primary's process side (primary/host.ts) with its IPC faked: each app attached gets a context
// that says hello and answers under its own name, a signal for one app ends that app's context only, an
// empty host exits when the root closes it, and an app's output is whole lines tagged with the app, with
// backpressure while too much of it is not acknowledged by the root (its stdout has not taken it).
import { describe, expect, it } from 'vitest';
import { IpcSink, OUTPUT_WINDOW, OUTPUT_WINDOW_BYTES, SharedHost } from '../../src/primary/host.js';
import { type HostMessage, PROTOCOL_VERSION } from '../../src/protocol.js';

function host() {
  const posted: HostMessage[] = [];
  const exits: number[] = [];
  const h = new SharedHost({
    baseEnv: {},
    post: (message, then) => {
      posted.push(message);
      then?.();
    },
    flushStdio: () => Promise.resolve(),
    fatal: (error) => {
      throw error;
    },
    exit: (code) => exits.push(code),
  });
  return { h, posted, exits };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedHost', () => {
  it('runs a context per app, each answering under its own name', async () => {
    const { h, posted } = host();
    h.hello();
    h.receive({ type: 'attach', app: 'a' });
    h.receive({ type: 'attach', app: 'b' });
    expect(posted).toEqual([
      { type: 'host', version: PROTOCOL_VERSION, pid: process.pid },
      { type: 'from', app: 'a', message: { type: 'hello', version: PROTOCOL_VERSION, pid: process.pid } },
      { type: 'from', app: 'b', message: { type: 'hello', version: PROTOCOL_VERSION, pid: process.pid } },
    ]);
    posted.length = 0;
    h.receive({ type: 'to', app: 'b', message: { type: 'request', id: 7, request: { op: 'ping' } } });
    // A message for an app not attached goes nowhere.
    h.receive({ type: 'to', app: 'zz', message: { type: 'request', id: 8, request: { op: 'ping' } } });
    await tick();
    expect(posted).toEqual([
      { type: 'from', app: 'b', message: { type: 'reply', id: 7, outcome: { ok: true, result: {} } } },
    ]);
  });

  it('ends one app on its SIGKILL, and exits once closed with no app left', async () => {
    const { h, posted, exits } = host();
    h.receive({ type: 'attach', app: 'a' });
    h.receive({ type: 'attach', app: 'b' });
    posted.length = 0;
    // a's stdout is full (the root's stdout is slow): its end lets its paused streams go.
    const sinks = (h as unknown as { sinks: Map<string, { stdout: IpcSink }> }).sinks;
    const stdout = sinks.get('a')?.stdout as IpcSink;
    for (let i = 0; i < OUTPUT_WINDOW; i++) stdout.write(`line ${i}\n`);
    let drained = false;
    stdout.once('drain', () => {
      drained = true;
    });
    posted.length = 0;
    h.receive({ type: 'signal', app: 'a', signal: 'SIGKILL' });
    expect(posted).toEqual([{ type: 'ended', app: 'a', code: null, signal: 'SIGKILL' }]);
    expect(drained).toBe(true);
    expect([...h.contexts()]).toHaveLength(1);
    // Its context is gone: nothing more is sent for it.
    h.receive({ type: 'to', app: 'a', message: { type: 'request', id: 1, request: { op: 'ping' } } });
    await tick();
    expect(posted).toHaveLength(1);
    h.receive({ type: 'signal', app: 'b', signal: 'SIGTERM' });
    expect(posted.at(-1)).toEqual({ type: 'ended', app: 'b', code: 0, signal: null });
    expect(exits).toEqual([]);
    h.receive({ type: 'close' });
    expect(exits).toEqual([0]);
  });
});

describe('IpcSink', () => {
  it('sends whole chunks tagged with the app, and pauses until the root acknowledged enough', async () => {
    const sent: { message: HostMessage; then: () => void }[] = [];
    const sink = new IpcSink((message, then) => sent.push({ message, then }), 'a', 'stderr');
    expect(sink.write('a[0] one\na[0] two\n')).toBe(true);
    expect(sent[0]?.message).toEqual({
      type: 'output',
      app: 'a',
      stream: 'stderr',
      text: 'a[0] one\na[0] two\n',
    });
    let full = false;
    for (let i = 1; i < OUTPUT_WINDOW; i++) full = !sink.write(`line ${i}\n`);
    expect(full).toBe(true);
    let drained = 0;
    sink.on('drain', () => {
      drained += 1;
    });
    // Sent over IPC is not taken by the root: still paused, but flushed (an app's stop waits for the
    // IPC channel, not for the root's stdout).
    for (const { then } of sent) then();
    await sink.flushed();
    expect(drained).toBe(0);
    expect(sink.inFlight).toBe(OUTPUT_WINDOW);
    sink.ack(1);
    expect(drained).toBe(1);
    expect(sink.write('more\n')).toBe(false);
    // An acknowledgement of more than is on its way (a stale one) empties it; nothing goes negative.
    sink.ack(1000);
    expect(drained).toBe(2);
    expect(sink.inFlight).toBe(0);
    expect(sink.write('again\n')).toBe(true);
    sink.ack(5);
    expect(drained).toBe(2);
  });

  it("lets go once its app's context ended: a stream paused on it resumes, and nothing is held back", () => {
    const sink = new IpcSink((_message, then) => then(), 'a', 'stdout');
    for (let i = 0; i < OUTPUT_WINDOW; i++) sink.write(`line ${i}\n`);
    let drained = 0;
    sink.on('drain', () => {
      drained += 1;
    });
    // No acknowledgement comes for an ended attachment: without this, 'drain' never would.
    sink.release();
    expect(drained).toBe(1);
    expect(sink.inFlight).toBe(0);
    for (let i = 0; i < 2 * OUTPUT_WINDOW; i++) expect(sink.write(`last ${i}\n`)).toBe(true);
    expect(sink.inFlight).toBe(0);
  });

  it('counts bytes too: a few large chunks fill the window', () => {
    const sink = new IpcSink((_message, then) => then(), 'a', 'stdout');
    const chunk = Buffer.alloc(OUTPUT_WINDOW_BYTES / 4, 'x');
    expect(sink.write(chunk)).toBe(true);
    expect(sink.write(chunk)).toBe(true);
    expect(sink.write(chunk)).toBe(true);
    expect(sink.write(chunk)).toBe(false);
    let drained = false;
    sink.once('drain', () => {
      drained = true;
    });
    sink.ack(1);
    expect(drained).toBe(true);
  });
});

describe('SharedHost acknowledgements', () => {
  it("moves the app's window on, and ignores those of an app not attached", async () => {
    const { h, posted } = host();
    h.receive({ type: 'attach', app: 'a' });
    h.receive({ type: 'ack', app: 'zz', stdout: 3, stderr: 1 });
    h.receive({ type: 'signal', app: 'a', signal: 'SIGKILL' });
    // Its context ended while the root was still writing its output: the late ack goes nowhere.
    h.receive({ type: 'ack', app: 'a', stdout: 2, stderr: 0 });
    await tick();
    expect(posted.at(-1)).toEqual({ type: 'ended', app: 'a', code: null, signal: 'SIGKILL' });
  });
});
