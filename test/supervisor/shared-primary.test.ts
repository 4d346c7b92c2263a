// The root's side of a shared primary (supervisor/shared-primary.ts) against a fake host process: one
// host per group, messages tagged with the app both ways, a per-app kill, the host's exit as every
// attached app's exit, and a new host once the last app has left.
import { describe, expect, it } from 'vitest';
import type { HostMessage, HostRootMessage } from '../../src/protocol.js';
import { PROTOCOL_VERSION } from '../../src/protocol.js';
import type { PrimaryHandlers, RunnerEffects } from '../../src/supervisor/primary-process.js';
import {
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

function setup() {
  const hosts: FakeHost[] = [];
  const timers: { ms: number; fn: () => void }[] = [];
  const written: string[] = [];
  const warnings: string[] = [];
  const shared = new SharedPrimaries({
    fork: (_group, handlers) => {
      const host = new FakeHost(100 + hosts.length, handlers);
      hosts.push(host);
      return host;
    },
    timer: (ms, fn) => {
      timers.push({ ms, fn });
      return () => {};
    },
    write: (stream, text) => written.push(`${stream}:${text}`),
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
  return { shared, hosts, timers, written, warnings, attach };
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
