// The guards of a pool (guards.ts), wired to it: what each live worker is to its slot, a replacement
// queued like the pool's reloads (they never interleave), and a kill whose reason is the worker's exit.
import type { ResolvedApp } from '../../config/resolved.js';
import type { GuardCause } from '../../protocol.js';
import type { SlotSnapshot } from '../pool/slot-step.js';
import type { PoolEffects, TrackedWorker } from '../pool/tracked-worker.js';
import type { RecycleTarget } from '../reload/recycle.js';
import { type GuardedRole, Guards } from './guards.js';

/** What the guards need of their pool. */
export interface GuardedPool {
  readonly workers: ReadonlySet<TrackedWorker>;
  slotHolding(worker: TrackedWorker): SlotSnapshot<TrackedWorker> | undefined;
  /** Why the pool takes no request now, if it does not. */
  refusal(): string | null;
  /** Queues the replacement of one worker behind the reloads; `done` gets whether it went well. */
  request(target: RecycleTarget, done: (ok: boolean) => void): void;
}

export function roleOf(worker: TrackedWorker, slot: SlotSnapshot<TrackedWorker> | undefined): GuardedRole {
  if (worker.lifecycle.is('draining')) return 'draining';
  if (slot?.successor === worker) return 'successor';
  const serving = slot?.state === 'serving' || slot?.state === 'replacing';
  return worker.lifecycle.is('ready') && serving ? 'serving' : 'starting';
}

export function poolGuards(app: ResolvedApp, pool: GuardedPool, fx: PoolEffects): Guards<TrackedWorker> {
  const replace = (worker: TrackedWorker, cause: GuardCause, done: (ok: boolean) => void): boolean => {
    const slot = pool.slotHolding(worker);
    // One that a reload replaced, or that lost its slot, is not replaced again.
    if (pool.refusal() || slot?.worker !== worker || slot.state !== 'serving') return false;
    pool.request({ slot: slot.id, worker, cause }, done);
    return true;
  };
  return new Guards(
    {
      workers: () =>
        [...pool.workers].map((worker) => ({ worker, role: roleOf(worker, pool.slotHolding(worker)) })),
      replace,
      kill: (worker, reason) => {
        // The reason of its exit: a crash of a serving worker is restarted by the restart policy.
        if (!worker.lifecycle.is('draining')) worker.failure ??= reason;
        worker.kill();
      },
      report: (report) => fx.send({ type: 'guard', ...report }),
      timer: fx.timer,
      now: fx.now,
      random: fx.random,
      cron: fx.cron,
    },
    app.guards,
    app.restart,
  );
}
