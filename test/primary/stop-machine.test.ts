// The stop escalation as a machine (stop.ts): the pure step function, then stopWorker on a fake clock,
// a fake node:cluster worker and the real process trees over a fake process table. Signal after the
// disconnect, SIGKILL at exactly spread + timeout, none after an exit, and the worker's descendants
// signalled with it and killed at the same deadline, even once it has ended.
import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ProcEntry } from '../../src/primary/stop/descendants.js';
import { ProcessTrees, type ProcSystem } from '../../src/primary/stop/descendants-proc.js';
import {
  type StopClock,
  type StopEvent,
  type StopSnapshot,
  stopBegin,
  stopStep,
  stopWorker,
} from '../../src/primary/stop/stop.js';
import { DRAIN } from '../../src/protocol.js';
import { fakeTime } from '../helpers/fake-time.js';

describe('stopStep', () => {
  const begin = (connected = true, ownServers = false) =>
    stopBegin({ now: 1_000, signal: 'SIGTERM', spread: 500, timeout: 2_000, connected, ownServers });

  it('drains a connected worker, with the deadline at spread + timeout', () => {
    expect(begin()).toEqual({
      snapshot: { state: 'draining', deadline: 3_500, signal: 'SIGTERM' },
      effects: [
        { type: 'schedule-deadline', ms: 2_500 },
        { type: 'drain', disconnectWhenSent: true },
      ],
    });
    expect(begin(true, true).effects[1]).toEqual({ type: 'drain', disconnectWhenSent: false });
  });

  it('signals at once a worker whose channel is closed', () => {
    expect(begin(false)).toEqual({
      snapshot: { state: 'signalled', deadline: 3_500, signal: 'SIGTERM' },
      effects: [
        { type: 'schedule-deadline', ms: 2_500 },
        { type: 'signal', signal: 'SIGTERM', within: 2_500 },
      ],
    });
  });

  // Every state against every event: where it goes and what it does.
  const at = (state: StopSnapshot['state']): StopSnapshot => ({ state, deadline: 3_500, signal: 'SIGTERM' });
  it.each<[StopSnapshot['state'], StopEvent, StopSnapshot['state'], unknown[]]>([
    ['draining', 'drained', 'draining', [{ type: 'disconnect' }]],
    ['draining', 'disconnect', 'signalled', [{ type: 'signal', signal: 'SIGTERM', within: 1_500 }]],
    [
      'draining',
      'exit',
      'exited',
      [{ type: 'cancel-deadline' }, { type: 'signal-descendants', signal: 'SIGTERM', within: 1_500 }],
    ],
    ['draining', 'deadline', 'killed', [{ type: 'kill' }]],
    ['signalled', 'drained', 'signalled', []],
    ['signalled', 'disconnect', 'signalled', []],
    ['signalled', 'exit', 'exited', [{ type: 'cancel-deadline' }]],
    ['signalled', 'deadline', 'killed', [{ type: 'kill' }]],
    ['killed', 'disconnect', 'killed', []],
    ['killed', 'deadline', 'killed', []],
    ['killed', 'exit', 'exited', []],
    ['exited', 'disconnect', 'exited', []],
    ['exited', 'drained', 'exited', []],
    ['exited', 'deadline', 'exited', []],
    ['exited', 'exit', 'exited', []],
  ])('%s + %s -> %s', (from, event, to, effects) => {
    const next = stopStep(at(from), event, 2_000);
    expect(next.snapshot).toEqual({ ...at(from), state: to });
    expect(next.effects).toEqual(effects);
  });

  it('gives descendants no time past the deadline', () => {
    expect(stopStep(at('draining'), 'disconnect', 9_000).effects).toEqual([
      { type: 'signal', signal: 'SIGTERM', within: 0 },
    ]);
  });
});

// A clock whose timers can be cancelled (the shared fake time), as stop.ts takes it.
function fakeClock() {
  const time = fakeTime();
  const clock: StopClock = time.fx;
  return { ...time, clock };
}

const SELF = 100;
const WORKER = 4242;

// The worker as stop.ts sees it; the test decides when its channel closes and when it exits.
function fakeWorker(time: ReturnType<typeof fakeClock>, table: ProcEntry[]) {
  const worker = new EventEmitter() as EventEmitter & Record<string, unknown>;
  const signals: [string, number][] = [];
  const sent: unknown[] = [];
  let connected = true;
  let disconnects = 0;
  Object.assign(worker, {
    process: {
      pid: WORKER,
      exitCode: null as number | null,
      signalCode: null as string | null,
      kill: (signal: string) => signals.push([signal, time.now()]) > 0,
    },
    isConnected: () => connected,
    send: (message: unknown, cb?: () => void) => {
      sent.push(message);
      cb?.();
      return true;
    },
    disconnect: () => {
      connected = false;
      disconnects++;
    },
  });
  const proc = worker.process as { exitCode: number | null; signalCode: string | null };
  return {
    worker: worker as unknown as Worker,
    signals,
    sent,
    disconnects: () => disconnects,
    setConnected: (value: boolean) => {
      connected = value;
    },
    channelClosed: () => worker.emit('disconnect'),
    exit(code: number | null, signal: string | null) {
      proc.exitCode = code;
      proc.signalCode = signal;
      // Its children are re-parented: no longer below it in the table.
      const at = table.findIndex((e) => e.pid === WORKER);
      if (at >= 0) table.splice(at, 1);
      for (const e of table) if (e.ppid === WORKER) Object.assign(e, { ppid: 1 });
      worker.emit('exit', code, signal);
    },
  };
}

// The worker, a child of it and a grandchild, in a table the process trees read; kills are recorded.
function fakeTrees(time: ReturnType<typeof fakeClock>) {
  const entry = (pid: number, ppid: number): ProcEntry => ({
    pid,
    ppid,
    pgid: SELF,
    start: pid * 10,
    state: 'S',
  });
  const table: ProcEntry[] = [entry(SELF, 1), entry(WORKER, SELF), entry(5000, WORKER), entry(5001, 5000)];
  const kills: [number, string, number][] = [];
  const sys: ProcSystem = {
    table: () => table.map((e) => ({ ...e })),
    entry: (pid) => table.find((e) => e.pid === pid) ?? null,
    kill: (pid, signal) => {
      kills.push([pid, signal, time.now()]);
      if (signal === 'SIGKILL') {
        const at = table.findIndex((e) => e.pid === pid);
        if (at >= 0) table.splice(at, 1);
      }
    },
  };
  return { trees: new ProcessTrees({ sys, timer: time.clock.timer, self: SELF }), table, kills };
}

const shutdown = { signal: 'SIGTERM', timeout: 2_000, spread: 500 };

describe('stopWorker on a fake clock', () => {
  it('sends the stop signal only once the channel has closed', () => {
    const time = fakeClock();
    const w = fakeWorker(time, []);
    stopWorker(w.worker, shutdown, false, undefined, time.clock);
    expect(w.sent).toEqual([DRAIN]);
    expect(w.disconnects()).toBe(1);
    time.advance(700);
    expect(w.signals).toEqual([]);
    w.channelClosed();
    expect(w.signals).toEqual([['SIGTERM', 700]]);
  });

  it('disconnects a worker with its own servers once it says drained, not before', () => {
    const time = fakeClock();
    const w = fakeWorker(time, []);
    stopWorker(w.worker, shutdown, true, undefined, time.clock);
    expect(w.sent).toEqual([DRAIN]);
    expect(w.disconnects()).toBe(0);
    w.worker.emit('message', { clusterd: 'drained' });
    expect(w.disconnects()).toBe(1);
  });

  it('SIGKILLs at exactly spread + timeout, not a millisecond before', () => {
    const time = fakeClock();
    const w = fakeWorker(time, []);
    stopWorker(w.worker, shutdown, false, undefined, time.clock);
    time.advance(10);
    w.channelClosed();
    time.advance(2_489);
    expect(w.signals).toEqual([['SIGTERM', 10]]);
    time.advance(1);
    expect(w.signals).toEqual([
      ['SIGTERM', 10],
      ['SIGKILL', 2_500],
    ]);
  });

  it('sends no SIGKILL to a worker that exited', () => {
    const time = fakeClock();
    const w = fakeWorker(time, []);
    stopWorker(w.worker, shutdown, false, undefined, time.clock);
    w.channelClosed();
    time.advance(1_000);
    w.exit(0, null);
    time.advance(60_000);
    expect(w.signals).toEqual([['SIGTERM', 0]]);
  });

  it('signals the descendants with the worker, and kills them at the same deadline after it ended', () => {
    const time = fakeClock();
    const { trees, table, kills } = fakeTrees(time);
    const w = fakeWorker(time, table);
    stopWorker(w.worker, shutdown, false, trees, time.clock);
    time.advance(300);
    w.channelClosed();
    expect(w.signals).toEqual([['SIGTERM', 300]]);
    expect(kills).toEqual([
      [5000, 'SIGTERM', 300],
      [5001, 'SIGTERM', 300],
    ]);
    // The worker ends; what it started ignores SIGTERM and runs on.
    time.advance(200);
    w.exit(0, null);
    time.advance(1_999);
    expect(kills).toHaveLength(2);
    time.advance(1);
    expect(kills.slice(2)).toEqual([
      [5000, 'SIGKILL', 2_500],
      [5001, 'SIGKILL', 2_500],
    ]);
    expect(w.signals).toEqual([['SIGTERM', 300]]);
  });

  it('signals the descendants of a worker that ended while draining, SIGKILL at its deadline', () => {
    const time = fakeClock();
    const { trees, table, kills } = fakeTrees(time);
    const w = fakeWorker(time, table);
    stopWorker(w.worker, shutdown, false, trees, time.clock);
    time.advance(400);
    w.exit(0, null);
    expect(kills).toEqual([
      [5000, 'SIGTERM', 400],
      [5001, 'SIGTERM', 400],
    ]);
    time.advance(2_100);
    expect(kills.slice(2)).toEqual([
      [5000, 'SIGKILL', 2_500],
      [5001, 'SIGKILL', 2_500],
    ]);
    expect(w.signals).toEqual([]);
  });

  it('kills the worker and its descendants together at the deadline', () => {
    const time = fakeClock();
    const { trees, table, kills } = fakeTrees(time);
    const w = fakeWorker(time, table);
    stopWorker(w.worker, shutdown, false, trees, time.clock);
    w.channelClosed();
    time.advance(2_500);
    expect(w.signals).toEqual([
      ['SIGTERM', 0],
      ['SIGKILL', 2_500],
    ]);
    expect(kills.filter(([, signal]) => signal === 'SIGKILL').map(([pid, , at]) => [pid, at])).toEqual([
      [5000, 2_500],
      [5001, 2_500],
    ]);
  });

  it('signals at once a worker whose channel is already closed', () => {
    const time = fakeClock();
    const w = fakeWorker(time, []);
    w.setConnected(false);
    stopWorker(w.worker, { ...shutdown, signal: 'SIGINT' }, false, undefined, time.clock);
    expect(w.sent).toEqual([]);
    expect(w.signals).toEqual([['SIGINT', 0]]);
  });
});
