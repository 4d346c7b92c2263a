// The primary's relay of socket.io's cluster adapter (primary/relay/socketio.ts): which messages are the
// adapter's, where each goes (responses to their requester's worker, anything else to every other
// worker), and the wiring to node:cluster's workers, here fake ones on a fake cluster.

import type { Cluster } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  isAdapterMessage,
  MAX_UIDS,
  relaySocketIo,
  routeAdapterMessage,
} from '../../src/primary/relay/socketio.js';

const msg = (uid: string, extra: Record<string, unknown> = {}) => ({
  source: '_sio_adapter',
  uid,
  nsp: '/',
  type: 3,
  data: { packet: { data: ['news', 1] } },
  ...extra,
});

describe('socket.io relay: the adapter messages', () => {
  it('takes the adapter messages, and only them', () => {
    expect(isAdapterMessage(msg('a1'))).toBe(true);
    expect(isAdapterMessage(msg('a1', { requesterUid: 'b2' }))).toBe(true);
    expect(isAdapterMessage({ ...msg('a1'), nsp: undefined })).toBe(false);
    for (const other of [
      null,
      'ready',
      [],
      { source: 'other', uid: 'a1' },
      { clusterd: 'ready' },
      msg(''),
      msg('x'.repeat(129)),
      { ...msg('a1'), uid: 7 },
      msg('a1', { requesterUid: 5 }),
    ])
      expect(isAdapterMessage(other), JSON.stringify(other)).toBe(false);
  });

  it('sends a response to the worker its requester is on, anything else to every other worker', () => {
    const workers = new Map([
      [1, new Set(['u1'])],
      [2, new Set(['u2', 'u2b'])],
      [3, new Set<string>()],
    ]);
    expect(routeAdapterMessage(msg('u1') as never, 1, workers)).toEqual([2, 3]);
    expect(routeAdapterMessage(msg('u3', { requesterUid: 'u2b' }) as never, 3, workers)).toEqual([2]);
    // Its requester has gone: nobody.
    expect(routeAdapterMessage(msg('u3', { requesterUid: 'gone' }) as never, 3, workers)).toEqual([]);
  });
});

class FakeWorker extends EventEmitter {
  received: unknown[] = [];
  connected = true;
  failSends = false;
  constructor(readonly id: number) {
    super();
  }
  isConnected(): boolean {
    return this.connected;
  }
  send(message: unknown, _handle: unknown, callback: (error: Error | null) => void): boolean {
    if (this.failSends) {
      callback(new Error('channel closed'));
      return false;
    }
    this.received.push(message);
    callback(null);
    return true;
  }
}

function fakeCluster(count: number) {
  const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, FakeWorker> };
  cluster.workers = {};
  for (let id = 1; id <= count; id++) cluster.workers[id] = new FakeWorker(id);
  const counts = { relayed: 0, relayDropped: 0 };
  const stop = relaySocketIo(cluster as unknown as Cluster, counts);
  const from = (id: number, message: unknown) => cluster.emit('message', cluster.workers[id], message);
  return { cluster, counts, stop, from, w: (id: number) => cluster.workers[id] as FakeWorker };
}

describe('socket.io relay on node:cluster', () => {
  it('relays a broadcast to the others, and a response back to the requester it learned of', () => {
    const t = fakeCluster(3);
    t.from(1, msg('u1'));
    expect([t.w(1).received, t.w(2).received.length, t.w(3).received.length]).toEqual([[], 1, 1]);
    t.from(3, msg('u3', { requesterUid: 'u1' }));
    expect(t.w(1).received).toEqual([msg('u3', { requesterUid: 'u1' })]);
    expect(t.w(2).received).toHaveLength(1);
    expect(t.counts).toEqual({ relayed: 3, relayDropped: 0 });
  });

  it('leaves other messages alone, skips closed channels, counts what reaches nobody', () => {
    const t = fakeCluster(3);
    t.from(1, { clusterd: 'ready' });
    t.from(1, 'ready');
    expect(t.counts.relayed).toBe(0);
    t.w(2).connected = false;
    t.w(3).failSends = true;
    t.from(1, msg('u1'));
    expect(t.w(2).received).toEqual([]);
    expect(t.counts).toEqual({ relayed: 0, relayDropped: 1 });
    t.from(2, msg('u2', { requesterUid: 'nobody' }));
    expect(t.counts.relayDropped).toBe(2);
  });

  it("tells the others that a worker's adapters closed when it exits, once, per namespace", () => {
    const t = fakeCluster(3);
    t.from(1, msg('u1'));
    t.from(1, msg('a1', { nsp: '/admin' }));
    const before = t.w(2).received.length;
    t.cluster.emit('exit', t.w(1));
    t.cluster.emit('exit', t.w(1));
    // (Worker 1's own channel is closed by then; a fake one still counts as connected: it gets them too.)
    for (const id of [2, 3])
      expect(t.w(id).received.slice(before)).toEqual([
        { source: '_sio_adapter', type: 13, uid: 'u1', nsp: '/' },
        { source: '_sio_adapter', type: 13, uid: 'a1', nsp: '/admin' },
      ]);
    // One that never used the adapter: nothing to tell.
    const sent = t.counts.relayed;
    t.cluster.emit('exit', t.w(3));
    expect(t.counts.relayed).toBe(sent);
  });

  it('tells the others as soon as a worker disconnects (a round-robin drain), and not again at its exit', () => {
    const t = fakeCluster(2);
    t.from(1, msg('u1'));
    t.w(1).connected = false;
    t.cluster.emit('disconnect', t.w(1));
    t.cluster.emit('exit', t.w(1));
    expect(t.w(2).received.slice(1)).toEqual([{ source: '_sio_adapter', type: 13, uid: 'u1', nsp: '/' }]);
  });

  it('goes on when a message cannot be encoded for a worker: that worker misses it, counted', () => {
    const t = fakeCluster(3);
    t.w(2).send = () => {
      throw new TypeError('Do not know how to serialize a BigInt');
    };
    expect(() => t.from(1, msg('u1'))).not.toThrow();
    expect(t.w(3).received).toHaveLength(1);
    expect(t.counts).toEqual({ relayed: 1, relayDropped: 1 });
  });

  it('remembers at most MAX_UIDS uids of a worker, and stops relaying when told', () => {
    const t = fakeCluster(2);
    for (let i = 0; i < MAX_UIDS + 10; i++) t.from(1, msg(`u${i}`));
    t.from(2, msg('r', { requesterUid: `u${MAX_UIDS - 1}` }));
    t.from(2, msg('r', { requesterUid: `u${MAX_UIDS + 5}` }));
    expect(t.w(1).received).toHaveLength(1);
    t.stop();
    t.from(1, msg('u1'));
    expect(t.w(2).received).toHaveLength(MAX_UIDS + 10);
  });
});
