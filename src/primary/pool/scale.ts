// Scaling a pool to `instances` slots: new slots start (answered once each serves, or with why one did
// not), or the highest slots are removed and their workers drained (answered once they have exited).
import type { OpResults, Outcome } from '../../protocol.js';
import { cancelRestart, type Slot } from './slot.js';
import type { TrackedWorker } from './tracked-worker.js';

/** What scaling needs of its pool. */
export interface ScaledPool {
  readonly slots: Slot[];
  addSlot(id: number): Slot;
  /** Calls `answered` after every event of the pool until it returns true. */
  when(answered: () => boolean): void;
  stopping(): boolean;
}

/** Scales, and returns how many slots there were. */
export function scaleSlots(
  pool: ScaledPool,
  instances: number,
  reply: (outcome: Outcome<OpResults['scale']>) => void,
): number {
  const from = pool.slots.length;
  const result = { ok: true as const, result: { from, to: instances } };
  const fail = (reason: string) => reply({ ok: false, reason });
  if (instances > from) {
    const added: Slot[] = [];
    for (let id = from; id < instances; id++) added.push(pool.addSlot(id));
    pool.when(() => {
      const failed = added.find((s) => !s.lifecycle.is('starting', 'serving', 'replacing'));
      if (pool.stopping()) fail('the app is stopping');
      else if (failed?.lifecycle.is('removed')) fail(`worker ${failed.id} was scaled away before it served`);
      else if (failed)
        fail(`worker ${failed.id} did not start: ${failed.lastExit ?? failed.lifecycle.state}`);
      else if (added.every((s) => s.lifecycle.is('serving', 'replacing'))) reply(result);
      else return false;
      return true;
    });
  } else if (instances < from) {
    const leaving: TrackedWorker[] = [];
    for (const slot of pool.slots.splice(instances)) {
      cancelRestart(slot);
      for (const worker of [slot.worker, slot.successor]) {
        if (!worker?.alive) continue;
        leaving.push(worker);
        worker.drain('scaled down');
      }
      slot.worker = null;
      slot.successor = null;
      slot.lifecycle.to('removed', { reason: 'scaled down' });
    }
    pool.when(() => {
      if (leaving.some((w) => w.alive)) return false;
      reply(result);
      return true;
    });
  } else {
    reply(result);
  }
  return from;
}
