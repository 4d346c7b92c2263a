// How one worker is stopped (stop.ts), on a fake node:cluster worker and fake time: drain message, then
// the disconnect, then the stop signal; SIGKILL at shutdown.spread + shutdown.timeout, and only if it has
// not exited by then. A worker stopped for not getting ready in time goes through the same path.

import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stopWorker } from '../../src/primary/stop/stop.js';
import { DRAIN } from '../../src/protocol.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

// What stop.ts uses of a cluster worker; the test plays the worker's part (disconnect, exit).
function fakeClusterWorker() {
  const worker = new EventEmitter() as EventEmitter & {
    signals: string[];
    sent: unknown[];
    connected: boolean;
    process: { pid: number; exitCode: number | null; signalCode: string | null; kill(s: string): boolean };
    isConnected(): boolean;
    send(message: unknown, cb?: () => void): boolean;
    disconnect(): void;
    exit(code: number | null, signal: string | null): void;
  };
  worker.signals = [];
  worker.sent = [];
  worker.connected = true;
  worker.process = {
    pid: 4242,
    exitCode: null,
    signalCode: null,
    kill: (signal: string) => worker.signals.push(signal) > 0,
  };
  worker.isConnected = () => worker.connected;
  worker.send = (message, cb) => {
    worker.sent.push(message);
    cb?.();
    return true;
  };
  // node:cluster: the worker closes its servers, then its channel; the primary sees 'disconnect'.
  worker.disconnect = () => {
    worker.connected = false;
    setTimeout(() => worker.emit('disconnect'), 5);
  };
  worker.exit = (code, signal) => {
    worker.process.exitCode = code;
    worker.process.signalCode = signal;
    worker.emit('exit', code, signal);
  };
  return worker;
}

const shutdown = { signal: 'SIGTERM', timeout: 2_000, spread: 0 };

describe('stopWorker', () => {
  it('drains, then sends the stop signal once disconnected; no SIGKILL for a worker that exits in time', () => {
    const w = fakeClusterWorker();
    stopWorker(w as unknown as Worker, shutdown);
    expect(w.sent).toEqual([DRAIN]);
    expect(w.signals).toEqual([]);
    vi.advanceTimersByTime(5);
    expect(w.signals).toEqual(['SIGTERM']);
    vi.advanceTimersByTime(1_000);
    w.exit(0, null);
    vi.advanceTimersByTime(60_000);
    expect(w.signals).toEqual(['SIGTERM']);
  });

  it('SIGKILLs a worker that has not exited at shutdown.timeout, not a millisecond before', () => {
    const w = fakeClusterWorker();
    stopWorker(w as unknown as Worker, shutdown);
    vi.advanceTimersByTime(1_999);
    expect(w.signals).toEqual(['SIGTERM']);
    vi.advanceTimersByTime(1);
    expect(w.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('counts shutdown.spread into the deadline', () => {
    const w = fakeClusterWorker();
    stopWorker(w as unknown as Worker, { ...shutdown, spread: 1_000 });
    vi.advanceTimersByTime(2_999);
    expect(w.signals).toEqual(['SIGTERM']);
    vi.advanceTimersByTime(1);
    expect(w.signals.at(-1)).toBe('SIGKILL');
  });

  it('signals at once a worker whose channel is already closed', () => {
    const w = fakeClusterWorker();
    w.connected = false;
    stopWorker(w as unknown as Worker, { ...shutdown, signal: 'SIGINT' });
    expect(w.sent).toEqual([]);
    expect(w.signals).toEqual(['SIGINT']);
  });
});
