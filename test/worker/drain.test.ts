// The drain's idle-socket sweep with fake servers and fake time: nothing idle is destroyed when the
// drain begins, everything idle is after the grace, and again a grace after the last response.
import { describe, expect, it } from 'vitest';
import drain from '../../src/worker/drain.cjs';
import { fakeTime } from '../helpers/fake-time.js';

/** Fake time, and the worker's draining state (state.cts) as the sweep reads it. */
function fakeWorker() {
  const time = fakeTime();
  const worker = { draining: false, time, fx: { ...time.fx, draining: () => worker.draining } };
  return worker;
}

function fakeServer() {
  const server = { swept: [] as number[], closeIdleConnections: undefined as (() => void) | undefined };
  return server;
}

describe('IdleSweep', () => {
  it('holds Node closing idle sockets when the drain begins, and sweeps them after the grace', () => {
    const worker = fakeWorker();
    const { time } = worker;
    const sweep = new drain.IdleSweep(1_000, worker.fx);
    const server = fakeServer();
    let sweeps = 0;
    const original = function (this: unknown) {
      expect(this).toBe(server);
      sweeps += 1;
    };
    server.closeIdleConnections = original;
    sweep.add(server);
    // Not draining: the server's own method is untouched.
    expect(server.closeIdleConnections).toBe(original);
    worker.draining = true; // the drain message (state.cts), then
    sweep.begin();
    // node:cluster's close() calls it now: held.
    server.closeIdleConnections?.();
    expect(sweeps).toBe(0);
    time.advance(999);
    expect(sweeps).toBe(0);
    time.advance(1);
    expect(sweeps).toBe(1);
    expect(time.pending()).toBe(0);
  });

  it('sweeps again a grace after the last response that ended during the drain', () => {
    const worker = fakeWorker();
    const { time } = worker;
    const sweep = new drain.IdleSweep(1_000, worker.fx);
    let sweeps = 0;
    sweep.add({
      closeIdleConnections: () => {
        sweeps += 1;
      },
    });
    sweep.responseEnded(); // before the drain: nothing scheduled
    expect(time.pending()).toBe(0);
    worker.draining = true; // the drain message (state.cts), then
    sweep.begin();
    time.advance(600);
    sweep.responseEnded(); // a streaming response kept its connection alive: idle from now
    time.advance(600);
    sweep.responseEnded();
    time.advance(999);
    expect(sweeps).toBe(0);
    time.advance(1);
    expect(sweeps).toBe(1);
  });

  it('holds servers first seen during the drain, forgets closed ones, skips servers without the method', () => {
    const worker = fakeWorker();
    const { time } = worker;
    const sweep = new drain.IdleSweep(500, worker.fx);
    const calls: string[] = [];
    const closed = { closeIdleConnections: () => void calls.push('closed') };
    sweep.add(closed);
    sweep.add({}); // a raw TCP server
    worker.draining = true; // the drain message (state.cts), then
    sweep.begin();
    const late = { closeIdleConnections: () => void calls.push('late') };
    sweep.add(late);
    late.closeIdleConnections();
    expect(calls).toEqual([]);
    sweep.delete(closed);
    time.advance(500);
    expect(calls).toEqual(['late']);
  });

  it('gives a grace of at most a second and a quarter of shutdown.timeout', () => {
    expect(drain.graceMs(5_000)).toBe(1_000);
    expect(drain.graceMs(60_000)).toBe(1_000);
    expect(drain.graceMs(2_000)).toBe(500);
    expect(drain.graceMs(Number.NaN)).toBe(1_000);
  });
});
