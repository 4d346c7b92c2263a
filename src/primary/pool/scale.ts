// Scaling a pool to `instances` slots: new slots start (answered once each serves, or with why one did
// not), or the highest slots are removed and their workers drained (answered once they have exited).
import { ErrorCode } from '../../errors.js';
import { failed, type OpResults, type Outcome } from '../../protocol.js';
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
  const fail = (code: ErrorCode, reason: string) => reply(failed(code, reason));
  if (instances > from) {
    const added: Slot[] = [];
    for (let id = from; id < instances; id++) added.push(pool.addSlot(id));
    pool.when(() => {
      const gone = added.find((s) => !s.lifecycle.is('starting', 'serving', 'replacing'));
      if (pool.stopping()) fail(ErrorCode.APP_STOPPING, 'the app is stopping');
      else if (gone?.lifecycle.is('removed'))
        fail(ErrorCode.CONFLICT, `worker ${gone.id} was scaled away before it served`);
      else if (gone)
        fail(
          ErrorCode.START_FAILED,
          `worker ${gone.id} did not start: ${gone.lastExit ?? gone.lifecycle.state}`,
        );
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
