// Which worker a `clusterd profile` or `clusterd heap` is taken of, or why none: pure, unit-tested
// (test/primary/profile-target.test.ts). Only a ready worker is profiled: one starting has nothing to
// show yet, one draining is on its way out (and a heap snapshot would hold up its drain).
import { ErrorCode } from '../../errors.js';
import type { WorkerState } from '../../lifecycle/states.js';

/** A live worker as the choice sees it. */
export interface Candidate {
  slot: number;
  pid: number | null;
  state: WorkerState;
}

export type Choice<C extends Candidate> =
  | { ok: true; worker: C & { pid: number } }
  | { ok: false; code: ErrorCode; reason: string };

const no = (code: ErrorCode, reason: string) => ({ ok: false as const, code, reason });
const named = (w: Candidate) => `worker ${w.slot}${w.pid === null ? '' : ` (pid ${w.pid})`}`;

/**
 * The worker of slot `slot` that is ready, or with `slot` null the ready worker of the lowest slot.
 * `slots`: the app's slots; `busy`: pids being profiled already (one profile at a time per worker).
 */
export function chooseProfiled<C extends Candidate>(
  workers: readonly C[],
  slots: readonly number[],
  slot: number | null,
  busy: ReadonlySet<number>,
): Choice<C> {
  const ready = (w: C): w is C & { pid: number } => w.state === 'ready' && w.pid !== null;
  if (slot === null) {
    const first = workers
      .filter(ready)
      .filter((w) => !busy.has(w.pid))
      .sort((a, b) => a.slot - b.slot)[0];
    if (first) return { ok: true, worker: first };
    const states = workers.map((w) => `${w.slot} ${w.state}`).join(', ');
    return no(
      ErrorCode.WORKER_NOT_READY,
      `no ready worker to profile${workers.length ? ` (${states})` : ' (none is running now)'}`,
    );
  }
  const mine = workers.filter((w) => w.slot === slot);
  if (!mine.length) {
    if (slots.includes(slot))
      return no(ErrorCode.WORKER_NOT_READY, `worker ${slot} is restarting: no process to profile now`);
    const list = [...slots].sort((a, b) => a - b).join(', ');
    return no(ErrorCode.UNKNOWN_WORKER, `the app has no worker ${slot} (its workers: ${list || 'none'})`);
  }
  // During a reload a slot has two: the one serving and its successor; the ready one is taken.
  const chosen = mine.find(ready);
  if (chosen) {
    if (busy.has(chosen.pid))
      return no(ErrorCode.WORKER_NOT_READY, `${named(chosen)} is being profiled already`);
    return { ok: true, worker: chosen };
  }
  const draining = mine.find((w) => w.state === 'draining');
  if (draining) return no(ErrorCode.WORKER_NOT_READY, `${named(draining)} is draining`);
  const [other] = mine as [C];
  return no(ErrorCode.WORKER_NOT_READY, `${named(other)} is ${other.state}: not ready yet`);
}
