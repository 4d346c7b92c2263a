// One worker slot (NODE_APP_INSTANCE) of a pool: the worker serving it, its successor during a rolling
// reload, and its own restart state. Its lifecycle is the slot machine of lifecycle/states.ts.
import { Lifecycle } from '../../lifecycle/machine.js';
import { SLOT_TRANSITIONS, type SlotState } from '../../lifecycle/states.js';
import type { PrimaryMessage } from '../../protocol.js';
import type { TrackedWorker } from './tracked-worker.js';

export interface Slot {
  readonly id: number;
  readonly lifecycle: Lifecycle<SlotState>;
  /** The worker serving the slot, or on its way up to. */
  worker: TrackedWorker | null;
  /** Its successor during a rolling reload, until promoted. */
  successor: TrackedWorker | null;
  /** Failed starts in a row since its worker was last stable: the backoff and the crash-loop limit. */
  failedStarts: number;
  cancelRestart: (() => void) | null;
  /** Why its last worker ended. */
  lastExit: string | null;
}

export function createSlot(id: number, send: (message: PrimaryMessage) => void): Slot {
  return {
    id,
    lifecycle: new Lifecycle('slot', SLOT_TRANSITIONS, 'starting', (from, to, { reason }) =>
      send({ type: 'slot', slot: id, from, to, ...(reason ? { reason } : {}) }),
    ),
    worker: null,
    successor: null,
    failedStarts: 0,
    cancelRestart: null,
    lastExit: null,
  };
}

/** Cancels the slot's scheduled restart, if any. */
export function cancelRestart(slot: Slot): void {
  slot.cancelRestart?.();
  slot.cancelRestart = null;
}
