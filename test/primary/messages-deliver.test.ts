// `clusterd send` in the primary (primary/messages/relay.ts, `deliver`), on a fake node:cluster: what it
// answers, and that a worker whose writes do not complete (its event loop blocked, the pipe full) does not
// hold the command: the message is queued for it.
import type { Cluster } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WorkerMessaging } from '../../src/primary/messages/relay.js';
import type { PoolEffects, WorkerProcess } from '../../src/primary/pool/tracked-worker.js';
import { ChannelTally } from '../../src/primary/process/worker-channel.js';
import { resolvedApp } from '../helpers/fake-pool.js';

class FakeWorker extends EventEmitter {
  received: unknown[] = [];
  /** Writes that never complete. */
  stuck = false;
  constructor(
    readonly id: number,
    readonly process: { pid: number },
  ) {
    super();
  }
  isConnected(): boolean {
    return true;
  }
  send(message: unknown, _handle: unknown, callback: (error: Error | null) => void): boolean {
    this.received.push(message);
    if (!this.stuck) callback(null);
    return true;
  }
}

function setup(count: number) {
  const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, FakeWorker> };
  cluster.workers = {};
  const timers: { ms: number; fn: () => void }[] = [];
  const messaging = new WorkerMessaging(cluster as unknown as Cluster, {
    tally: new ChannelTally(),
    report: () => {},
    timer: (ms, fn) => {
      const entry = { ms, fn };
      timers.push(entry);
      return () => timers.splice(timers.indexOf(entry), 1);
    },
    now: () => 0,
  });
  const fx = messaging.wrap({
    fork: (slot: number) => ({ pid: 100 + slot }) as unknown as WorkerProcess,
  } as unknown as PoolEffects);
  for (let slot = 0; slot < count; slot++) {
    cluster.workers[slot + 1] = new FakeWorker(slot + 1, { pid: 100 + slot });
    fx.fork(slot, resolvedApp(), {} as never);
  }
  return { messaging, timers, w: (id: number) => cluster.workers[id] as FakeWorker };
}

describe('clusterd send, in the primary', () => {
  it('delivers to every worker or to one slot, and says which', async () => {
    const t = setup(2);
    expect(await t.messaging.deliver('cache', { k: 1 }, null)).toEqual({
      ok: true,
      result: {
        workers: [
          { worker: 0, pid: 100 },
          { worker: 1, pid: 101 },
        ],
      },
    });
    expect(await t.messaging.deliver('cache', { k: 1 }, 1)).toMatchObject({
      result: { workers: [{ worker: 1 }] },
    });
    expect(await t.messaging.deliver('cache', 1, 5)).toMatchObject({
      ok: false,
      code: 'CLUSTERD_ERR_UNKNOWN_WORKER',
    });
  });

  it('does not wait for a worker whose write does not complete: counted as queued at the timer', async () => {
    const t = setup(2);
    t.w(2).stuck = true;
    const answer = t.messaging.deliver('cache', 1, null);
    // The healthy worker's write is done; the stuck one's waits for the timer, which fires.
    await Promise.resolve();
    expect(t.timers.map((x) => x.ms)).toEqual([2_000]);
    t.timers[0]?.fn();
    expect(await answer).toMatchObject({ ok: true, result: { workers: [{ worker: 0 }, { worker: 1 }] } });
    expect(t.w(2).received).toHaveLength(1);
  });
});
