// The root's side of a shared primary (supervisor/shared-primary.ts) against a fake host process: one
// host per group, messages tagged with the app both ways, a per-app kill judged from when the host got
// it, the host's exit as every attached app's exit (and its group swept when it had none), a new host once
// the last app has left, and the apps' output acknowledged once the root's stream took it.
import { describe, expect, it } from 'vitest';
import { IpcSink, OUTPUT_WINDOW } from '../../src/primary/host.js';
import type { HostMessage, HostRootMessage } from '../../src/protocol.js';
import { PROTOCOL_VERSION } from '../../src/protocol.js';
import type { PrimaryHandlers, RunnerEffects } from '../../src/supervisor/primary-process.js';
import {
  HOST_START_MS,
  type HostChild,
  type HostHandlers,
  KILL_HOST_MS,
  SharedPrimaries,
} from '../../src/supervisor/shared-primary.js';

class FakeHost implements HostChild {
  readonly sent: HostRootMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];
  constructor(
    readonly pid: number,
    readonly handlers: HostHandlers,
  ) {}
  send(message: HostRootMessage): void {
    this.sent.push(message);
  }
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }
  tell(message: HostMessage): void {
    this.handlers.message(message);
  }
}

/** A stream of the root's: takes writes (buffering them) but says "wait" while `full`, until drained. */
class FakeTarget {
  full = false;
  readonly waiting: (() => void)[] = [];
  drain(): void {
    this.full = false;
    for (const fn of this.waiting.splice(0)) fn();
  }
}

function setup() {
  const hosts: FakeHost[] = [];
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  const written: string[] = [];
  const warnings: string[] = [];
  const sweeps: [string, number][] = [];
  const soon: (() => void)[] = [];
  const targets = { stdout: new FakeTarget(), stderr: new FakeTarget() };
  /** What the root does once the messages being handled now are done (its acknowledgements). */
  const turn = () => {
    for (const fn of soon.splice(0)) fn();
  };
  const shared = new SharedPrimaries({
    fork: (_group, handlers) => {
      const host = new FakeHost(100 + hosts.length, handlers);
      hosts.push(host);
      return host;
    },
    timer: (ms, fn) => {
      const timer = { ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    soon: (fn) => soon.push(fn),
    write: (stream, text) => {
      written.push(`${stream}:${text}`);
      return !targets[stream].full;
    },
    drained: (stream, fn) => targets[stream].waiting.push(fn),
    sweep: (group, pid) => sweeps.push([group, pid]),
    warn: (_group, message) => warnings.push(message),
  });
  const base = { spawn: () => null } as unknown as RunnerEffects;
  const attach = (group: string, app: string) => {
    const seen = { messages: [] as unknown[], exits: [] as unknown[][], output: [] as string[] };
    const handlers: PrimaryHandlers = {
      message: (m) => seen.messages.push(m),
      exit: (...args) => seen.exits.push(args),
      output: (chunk) => seen.output.push(chunk.toString()),
      error: () => {},
    };
    const child = shared.effectsFor(base, group, app).spawn(handlers);
    return { child, seen };
  };
  return { shared, hosts, timers, written, warnings, sweeps, targets, turn, attach };
}

const hello = { type: 'host', version: PROTOCOL_VERSION, pid: 100 } as const;

describe('SharedPrimaries', () => {
  it('forks one host per group, and holds what is sent until its hello', () => {
    const { hosts, attach } = setup();
    const a = attach('g', 'a');
    const b = attach('g', 'b');
    const c = attach('h', 'c');
    expect(hosts).toHaveLength(2);
    expect(a.child.pid).toBe(100);
    expect(b.child.pid).toBe(100);
    expect(c.child.pid).toBe(101);
    const ping = { type: 'request', id: 1, request: { op: 'ping' } } as const;
    a.child.send(ping);
    expect(hosts[0]?.sent).toEqual([]);
    hosts[0]?.tell(hello);
    expect(hosts[0]?.sent).toEqual([
      { type: 'attach', app: 'a' },
      { type: 'attach', app: 'b' },
      { type: 'to', app: 'a', message: ping },
    ]);
  });

  it("routes each app's messages and output to its own runner", () => {
    const { hosts, attach, written } = setup();
    const a = attach('g', 'a');
    const b = attach('g', 'b');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    host.tell({ type: 'from', app: 'b', message: { type: 'bye' } });
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] one\n' });
    host.tell({ type: 'output', app: 'b', stream: 'stderr', text: 'b[1] two\n' });
    expect(a.seen.messages).toEqual([]);
    expect(b.seen.messages).toEqual([{ type: 'bye' }]);
    expect(a.seen.output).toEqual(['a[0] one\n']);
    expect(b.seen.output).toEqual(['b[1] two\n']);
    expect(written).toEqual(['stdout:a[0] one\n', 'stderr:b[1] two\n']);
  });

  it('acknowledges output once written, in one message per app for a turn', () => {
    const { hosts, attach, turn } = setup();
    attach('g', 'a');
    attach('g', 'b');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    const sent = host.sent.length;
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] 1\n' });
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] 2\n' });
    host.tell({ type: 'output', app: 'a', stream: 'stderr', text: 'a[0] 3\n' });
    host.tell({ type: 'output', app: 'b', stream: 'stdout', text: 'b[0] 1\n' });
    // Not one message per line: the turn's counts go together.
    expect(host.sent).toHaveLength(sent);
    turn();
    expect(host.sent.slice(sent)).toEqual([
      { type: 'ack', app: 'a', stdout: 2, stderr: 1 },
      { type: 'ack', app: 'b', stdout: 1, stderr: 0 },
    ]);
    turn();
    expect(host.sent).toHaveLength(sent + 2);
  });

  it('acknowledges what a backed-up stream took only once it drained, in order', () => {
    const { hosts, attach, turn, targets, written } = setup();
    attach('g', 'a');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    const sent = host.sent.length;
    targets.stdout.full = true;
    for (let i = 0; i < 3; i++)
      host.tell({ type: 'output', app: 'a', stream: 'stdout', text: `a[0] ${i}\n` });
    // The other stream is not held up by this one.
    host.tell({ type: 'output', app: 'a', stream: 'stderr', text: 'a[0] e\n' });
    turn();
    // Written (the stream buffers them), not acknowledged; one wait for the drain, not one per message.
    expect(written).toHaveLength(4);
    expect(targets.stdout.waiting).toHaveLength(1);
    expect(host.sent.slice(sent)).toEqual([{ type: 'ack', app: 'a', stdout: 0, stderr: 1 }]);
    // The stream said "go on" again, but what came after a refused write waits behind it.
    targets.stdout.full = false;
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] 3\n' });
    turn();
    expect(host.sent).toHaveLength(sent + 1);
    targets.stdout.drain();
    turn();
    expect(host.sent.slice(sent + 1)).toEqual([{ type: 'ack', app: 'a', stdout: 4, stderr: 0 }]);
  });

  it("does not count what an ended app's context sent for its next one", () => {
    const { hosts, attach, turn, targets } = setup();
    attach('g', 'a');
    attach('g', 'b');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    targets.stdout.full = true;
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] last\n' });
    host.tell({ type: 'ended', app: 'a', code: 0, signal: null });
    attach('g', 'a');
    const sent = host.sent.length;
    targets.stdout.drain();
    turn();
    expect(host.sent).toHaveLength(sent);
    host.tell({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] first\n' });
    turn();
    expect(host.sent.slice(sent)).toEqual([{ type: 'ack', app: 'a', stdout: 1, stderr: 0 }]);
  });

  it("pauses the host's sink at its window while the root's stdout is backed up, and resumes it after", () => {
    const { hosts, attach, turn, targets, written } = setup();
    attach('g', 'a');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    // The host's side of app a's stdout, its messages delivered to the root at once; the root's
    // acknowledgements delivered back to it.
    const sink = new IpcSink(
      (message, then) => {
        host.tell(message);
        then();
      },
      'a',
      'stdout',
    );
    let acked = host.sent.length;
    const deliverAcks = () => {
      turn();
      for (const m of host.sent.slice(acked)) if (m.type === 'ack') sink.ack(m.stdout);
      acked = host.sent.length;
    };
    targets.stdout.full = true;
    let writes = 0;
    // A worker's stream writes until told to pause, as forwardLines does.
    while (sink.write(`a[0] ${writes}\n`)) writes++;
    writes++;
    deliverAcks();
    expect(writes).toBe(OUTPUT_WINDOW);
    expect(written).toHaveLength(OUTPUT_WINDOW);
    expect(sink.inFlight).toBe(OUTPUT_WINDOW);
    let resumed = false;
    sink.once('drain', () => {
      resumed = true;
    });
    deliverAcks();
    expect(resumed).toBe(false);
    targets.stdout.drain();
    deliverAcks();
    expect(resumed).toBe(true);
    expect(sink.inFlight).toBe(0);
    // Nothing lost, nothing out of order.
    expect(written).toEqual(Array.from({ length: OUTPUT_WINDOW }, (_, i) => `stdout:a[0] ${i}\n`));
  });

  it('judges a SIGKILL from when the host got it, not while it was starting', () => {
    const { hosts, attach, timers } = setup();
    const a = attach('g', 'a');
    const host = hosts[0] as FakeHost;
    a.child.kill('SIGKILL');
    // Queued behind the host's hello: it cannot act on it yet, so it is judged only once it starts late.
    expect(host.sent).toEqual([]);
    expect(timers.map((t) => [t.ms, t.cancelled])).toEqual([[HOST_START_MS + KILL_HOST_MS, false]]);
    host.tell(hello);
    expect(host.sent).toEqual([
      { type: 'attach', app: 'a' },
      { type: 'signal', app: 'a', signal: 'SIGKILL' },
    ]);
    expect(timers.map((t) => [t.ms, t.cancelled])).toEqual([
      [HOST_START_MS + KILL_HOST_MS, true],
      [KILL_HOST_MS, false],
    ]);
    timers[1]?.fn();
    expect(host.signals).toEqual(['SIGKILL']);
  });

  it('kills a host that never says hello once a SIGKILL for one of its apps has waited its start and more', () => {
    const { hosts, attach, timers, warnings } = setup();
    const a = attach('g', 'a');
    const host = hosts[0] as FakeHost;
    a.child.kill('SIGKILL');
    expect(timers.map((t) => t.ms)).toEqual([HOST_START_MS + KILL_HOST_MS]);
    timers[0]?.fn();
    // Nothing was ever sent to it (still no hello), and it is gone: its exit is each app's.
    expect(host.sent).toEqual([]);
    expect(host.signals).toEqual(['SIGKILL']);
    expect(warnings.at(-1)).toMatch(
      /group g had not started \(no hello\) 12000 ms after a SIGKILL for app a/,
    );
  });

  it('turns a kill into a request for that app only; a host that does not end it in time is killed', () => {
    const { hosts, attach, timers, warnings } = setup();
    const a = attach('g', 'a');
    const b = attach('g', 'b');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    a.child.kill('SIGKILL');
    expect(host.sent.at(-1)).toEqual({ type: 'signal', app: 'a', signal: 'SIGKILL' });
    expect(timers.map((t) => t.ms)).toEqual([KILL_HOST_MS]);
    // Ended in time: the host stays.
    host.tell({ type: 'ended', app: 'a', code: null, signal: 'SIGKILL' });
    expect(a.seen.exits).toEqual([[null, 'SIGKILL']]);
    timers[0]?.fn();
    expect(host.signals).toEqual([]);
    // Not ended in time (a blocked event loop): the host goes, and with it every app.
    b.child.kill('SIGKILL');
    timers[1]?.fn();
    expect(host.signals).toEqual(['SIGKILL']);
    expect(warnings).toHaveLength(1);
    host.handlers.exit(null, 'SIGKILL');
    expect(b.seen.exits).toEqual([[null, 'SIGKILL', undefined]]);
    // a had ended before: the host's death is not its exit again.
    expect(a.seen.exits).toHaveLength(1);
  });

  it("sweeps the group of a host that exits with no app attached, and leaves it to the apps' runners otherwise", () => {
    const { hosts, attach, sweeps } = setup();
    attach('g', 'a');
    const empty = hosts[0] as FakeHost;
    empty.tell(hello);
    empty.tell({ type: 'ended', app: 'a', code: 0, signal: null });
    expect(sweeps).toEqual([]);
    empty.handlers.exit(0, null);
    empty.handlers.exit(0, null);
    expect(sweeps).toEqual([['g', 100]]);
    // A host that dies with apps attached: each app's runner sweeps its primary's group (leftovers.ts).
    const b = attach('g', 'b');
    const busy = hosts[1] as FakeHost;
    busy.tell(hello);
    busy.handlers.exit(null, 'SIGKILL');
    expect(b.seen.exits).toEqual([[null, 'SIGKILL', undefined]]);
    expect(sweeps).toEqual([['g', 100]]);
  });

  it("makes the host's death every attached app's exit, and forks a new host for the next attach", () => {
    const { hosts, attach } = setup();
    const a = attach('g', 'a');
    const b = attach('g', 'b');
    hosts[0]?.tell(hello);
    hosts[0]?.handlers.exit(null, 'SIGKILL');
    expect(a.seen.exits).toEqual([[null, 'SIGKILL', undefined]]);
    expect(b.seen.exits).toEqual([[null, 'SIGKILL', undefined]]);
    // A message to a dead host's app goes nowhere.
    a.child.send({ type: 'cancel', id: 1 });
    expect(hosts[0]?.sent).toHaveLength(2);
    const again = attach('g', 'a');
    expect(hosts).toHaveLength(2);
    expect(again.child.pid).toBe(101);
  });

  it('tells an empty host to close, and attaches a later app to a new host', () => {
    const { hosts, attach } = setup();
    const a = attach('g', 'a');
    const host = hosts[0] as FakeHost;
    host.tell(hello);
    host.tell({ type: 'ended', app: 'a', code: 0, signal: null });
    expect(a.seen.exits).toEqual([[0, null]]);
    expect(host.sent.at(-1)).toEqual({ type: 'close' });
    attach('g', 'b');
    expect(hosts).toHaveLength(2);
    expect(host.sent.at(-1)).toEqual({ type: 'close' });
  });

  it('kills a host of another protocol version', () => {
    const { hosts, attach, warnings } = setup();
    attach('g', 'a');
    hosts[0]?.tell({ type: 'host', version: PROTOCOL_VERSION + 1, pid: 100 });
    expect(hosts[0]?.signals).toEqual(['SIGKILL']);
    expect(warnings[0]).toMatch(/protocol/);
  });
});
