// Scaling a pool to `instances` slots: new slots start (answered once each serves, or with why one did
// not), or the highest slots are removed and their workers drained (answered once they have exited).
import { ErrorCode } from '../../errors.js';
import { failed, type OpResults, type Outcome } from '../../protocol.js';
import type { SlotSnapshot } from './slot-step.js';
import type { TrackedWorker } from './tracked-worker.js';

/** What scaling needs of its pool. */
export interface ScaledPool {
  count(): number;
  slot(id: number): SlotSnapshot<TrackedWorker> | undefined;
  addSlot(id: number): void;
  /** Removes the slots from `count` on: their workers drain. */
  removeFrom(count: number): void;
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
  const from = pool.count();
  const result = { ok: true as const, result: { from, to: instances } };
  const fail = (code: ErrorCode, reason: string) => reply(failed(code, reason));
  if (instances > from) {
    const added: number[] = [];
    for (let id = from; id < instances; id++) {
      pool.addSlot(id);
      added.push(id);
    }
    pool.when(() => {
      const slots = added.map((id) => ({ id, slot: pool.slot(id) }));
      const gone = slots.find(
        ({ slot }) => !slot || !['starting', 'serving', 'replacing'].includes(slot.state),
      );
      if (pool.stopping()) fail(ErrorCode.APP_STOPPING, 'the app is stopping');
      // Scaled away (a later scale-down took the slot out of the pool).
      else if (gone && (!gone.slot || gone.slot.state === 'removed'))
        fail(ErrorCode.CONFLICT, `worker ${gone.id} was scaled away before it served`);
      else if (gone)
        fail(
          ErrorCode.START_FAILED,
          `worker ${gone.id} did not start: ${gone.slot?.lastExit ?? gone.slot?.state}`,
        );
      else if (slots.every(({ slot }) => slot?.state === 'serving' || slot?.state === 'replacing'))
        reply(result);
      else return false;
      return true;
    });
  } else if (instances < from) {
    const leaving: TrackedWorker[] = [];
    for (let id = instances; id < from; id++) {
      const slot = pool.slot(id);
      for (const worker of [slot?.worker, slot?.successor]) if (worker?.alive) leaving.push(worker);
    }
    pool.removeFrom(instances);
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
