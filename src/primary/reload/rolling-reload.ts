// One rolling reload of a pool: `reload.parallel` slots at a time, each given a successor that must be
// ready before its predecessor drains (a slot that does not serve has no capacity to keep: it restarts
// at once). A successor that dies before the reload is done with it, before or after it was ready,
// rolls its group back: the old workers keep serving. With `reload.order` "stop-first" a slot's old
// worker drains first and the reload waits for the replacement the slot starts once it has exited:
// one that dies fails the reload, with no old worker left to roll back to. With a canary, the first
// group is its `workers` slots, and once its successors are ready they are not promoted but watched
// beside the old workers (canary.ts): a pass promotes them and the reload goes on, anything else rolls
// them back and fails the reload with the verdict. Driven by the pool's events, synchronously, so no
// process event can slip in between a group's last `ready` and its promotion.
import type { ResolvedApp, ResolvedCanary } from '../../config/resolved.js';
import { ErrorCode } from '../../errors.js';
import { failed, type OpResults, type Outcome } from '../../protocol.js';
import type { SlotEvent, SlotSnapshot } from '../pool/slot-step.js';
import type { TrackedWorker } from '../pool/tracked-worker.js';
import { type CanaryEffects, type CanaryReport, CanaryWatch } from './canary.js';

/** What the reload needs of its pool: its slots, read, and changed only by events (slot-step.ts). */
export interface ReloadHost {
  slot(id: number): SlotSnapshot<TrackedWorker> | undefined;
  /** Steps a slot (the pool forks and drains what the step asks for); returns the slot after it. */
  dispatch(id: number, event: SlotEvent<TrackedWorker>): SlotSnapshot<TrackedWorker> | undefined;
  now(): number;
}

/**
 * A worker the reload waits for: a successor beside a serving worker, or a slot's restart; null while
 * a recreating slot's old worker has not exited yet (its replacement is not forked).
 */
interface Replacement {
  slot: number;
  worker: TrackedWorker | null;
  successor: boolean;
  ready: boolean;
}

/** A run the pool routes its workers' events to: a rolling reload, or a guard's replacements. */
export interface Run {
  ready(worker: TrackedWorker): void;
  tookOver(worker: TrackedWorker): void;
  /** A recreating slot started its replacement (its old worker exited). */
  recreated(slot: number, worker: TrackedWorker): void;
  failed(worker: TrackedWorker, reason: string): void;
  abort(reason: string): void;
}

export class RollingReload implements Run {
  private readonly started: number;
  /** The first slot of the next group, in `order`. */
  private next = 0;
  private group: Replacement[] = [];
  private replaced = 0;
  private ended = false;
  /** The canary phase still to come (its group first), under way (`watch`), then its report. */
  private canaryDue: boolean;
  private watch: CanaryWatch | null = null;
  private canaryReport: CanaryReport | undefined;
  /** A failed canary's outcome, held while the slots its canaries took over get the old release back. */
  private restoring: (Outcome<OpResults['reload']> & { ok: false }) | null = null;

  constructor(
    private readonly host: ReloadHost,
    private readonly order: readonly number[],
    private readonly parallel: number,
    private readonly end: (outcome: Outcome<OpResults['reload']>) => void,
    /** What replaces the workers, for their reasons: "a rolling reload", "the memory guard". */
    private readonly by = 'a rolling reload',
    /** The settings it starts its workers on; null: each slot's own (a guard's like-for-like). */
    private readonly app: ResolvedApp | null = null,
    /**
     * A deploy's canary phase: its settings, its effects, and the settings the app had before, which a
     * canary slot whose old worker died meanwhile gets back when the canary fails; null: none.
     */
    private readonly canary: {
      settings: ResolvedCanary;
      fx: CanaryEffects;
      previous: ResolvedApp;
    } | null = null,
    /** A canary was asked for but could not be had: why, for the reload's result. */
    private readonly noCanary: string | null = null,
  ) {
    this.started = host.now();
    this.canaryDue = canary !== null;
  }

  /** Starts with `revived` (slots that served nothing: they restart at once) as the first group. */
  start(revived: readonly number[] = []): void {
    if (!revived.length) {
      this.nextGroup();
      return;
    }
    // Slots that served nothing leave nothing to compare with, and must serve at once: no canary.
    this.canaryDue = false;
    this.group = revived.map((id) => this.replace(id));
  }

  /** A worker got ready; the group is promoted once all of its workers are. */
  ready(worker: TrackedWorker): void {
    const replacement = this.group.find((r) => r.worker === worker);
    if (!replacement) return;
    replacement.ready = true;
    if (!this.group.every((r) => r.ready)) return;
    if (this.restoring) {
      const outcome = this.restoring;
      for (const { slot, worker: successor, successor: isSuccessor } of this.group)
        if (isSuccessor && successor)
          this.host.dispatch(slot, { type: 'promote', successor, by: 'a canary rollback' });
      this.finish(outcome);
      return;
    }
    if (this.canary && this.canaryDue) {
      this.canaryDue = false;
      const canaries = this.group.map((r) => ({ slot: r.slot, pid: r.worker?.pid ?? null }));
      this.watch = new CanaryWatch(this.canary.fx, this.canary.settings, canaries, (report) =>
        this.judged(report),
      );
      this.watch.start();
      return;
    }
    this.promoteGroup();
  }

  private promoteGroup(): void {
    for (const { slot, worker: successor, successor: isSuccessor } of this.group)
      if (isSuccessor && successor) this.host.dispatch(slot, { type: 'promote', successor, by: this.by });
    this.replaced += this.group.length;
    this.group = [];
    this.nextGroup();
  }

  // The canary phase's verdict: the reload goes on, or its canaries are drained and it fails.
  private judged(report: CanaryReport): void {
    this.watch = null;
    this.canaryReport = report;
    if (report.proceed) {
      this.promoteGroup();
      return;
    }
    const code = report.outcome === 'insufficient' ? ErrorCode.CANARY_INCONCLUSIVE : ErrorCode.CANARY_FAILED;
    this.failCanary({ ...failed(code, `canary: ${report.reason}`), canary: report });
  }

  // Its canaries drain; a canary that took its slot over (the old worker died meanwhile) is replaced by
  // a worker of the previous settings and release before the reload answers, so that no slot is left
  // on the release that failed.
  private failCanary(outcome: Outcome<OpResults['reload']> & { ok: false }): void {
    this.rollBack();
    const tookOver = this.group.filter((r) => !r.successor && r.worker !== null);
    const previous = this.canary?.previous;
    if (!tookOver.length || !previous) {
      this.finish(outcome);
      return;
    }
    this.restoring = outcome;
    this.group = tookOver.map((r) => this.replace(r.slot, previous, 'a canary rollback'));
  }

  private rollBack(): void {
    for (const { slot, worker: successor, successor: isSuccessor } of this.group)
      if (isSuccessor && successor) this.host.dispatch(slot, { type: 'roll-back', successor });
  }

  /** A successor took its slot over (the old worker died): it is the slot's worker now. */
  tookOver(worker: TrackedWorker): void {
    const replacement = this.group.find((r) => r.worker === worker);
    if (replacement) replacement.successor = false;
  }

  recreated(slot: number, worker: TrackedWorker): void {
    const replacement = this.group.find((r) => r.slot === slot && r.worker === null);
    if (replacement) replacement.worker = worker;
  }

  /** A worker died: if the reload waits for it, the group is rolled back and the reload fails. */
  failed(worker: TrackedWorker, reason: string): void {
    const lost = this.group.find((r) => r.worker === worker);
    if (!lost) return;
    this.rollBack();
    if (this.restoring) {
      // The old release did not come back in that slot. A restart (the canary had died) goes on by the
      // restart policy on the old settings; a successor beside a serving canary leaves the canary there,
      // which the answer says rather than take the slot down.
      const where = lost.successor
        ? `worker ${lost.slot} still runs the new release: the old one did not start again (${reason})`
        : `worker ${lost.slot} restarts on the old release by the restart policy (${reason})`;
      this.finish({ ...this.restoring, reason: `${this.restoring.reason}; ${where}` });
      return;
    }
    if (this.watch) {
      const report = this.watch.crashed({ slot: lost.slot, pid: worker.pid }, reason);
      this.watch = null;
      this.failCanary({ ...failed(ErrorCode.CANARY_FAILED, `canary: ${report.reason}`), canary: report });
      return;
    }
    const what = lost.ready ? 'crashed after it was ready' : 'did not get ready';
    const outcome = failed(ErrorCode.RELOAD_FAILED, `worker ${lost.slot} ${what}: ${reason}`);
    // A canary group that never got to its phase: a canary that took its slot over meanwhile is not left
    // on a release nothing judged.
    if (this.canary && this.canaryDue) this.failCanary(outcome);
    else this.finish(outcome);
  }

  /** Ends the reload with `reason` (the app is stopping); its workers are the pool's to stop. */
  abort(reason: string): void {
    this.watch?.cancel();
    this.watch = null;
    this.finish(failed(ErrorCode.APP_STOPPING, reason));
  }

  private finish(outcome: Outcome<OpResults['reload']>): void {
    if (this.ended) return;
    this.ended = true;
    this.group = [];
    this.end(outcome);
  }

  private nextGroup(): void {
    while (this.next < this.order.length) {
      // The canary group: its `workers` slots (at most every slot), whatever `parallel` says.
      const size = this.canary && this.canaryDue ? this.canary.settings.workers : this.parallel;
      const group = this.order.slice(this.next, this.next + size).filter((id) => {
        const slot = this.host.slot(id);
        return slot !== undefined && slot.state !== 'removed';
      });
      this.next += size;
      if (!group.length) continue;
      this.group = group.map((id) => this.replace(id));
      return;
    }
    const ms = this.host.now() - this.started;
    this.finish({
      ok: true,
      result: {
        replaced: this.replaced,
        ms,
        ...(this.canaryReport ? { canary: this.canaryReport } : {}),
        ...(this.noCanary ? { noCanary: this.noCanary } : {}),
      },
    });
  }

  // Serving, the slot gets a successor, or drains its worker first; otherwise it restarts at once
  // (slot-step.ts, `replace`).
  private replace(id: number, app = this.app, by = this.by): Replacement {
    const serving = this.host.slot(id)?.state === 'serving';
    const slot = this.host.dispatch(id, { type: 'replace', by, app });
    if (slot?.state === 'recreating' && slot.next !== null)
      return { slot: id, worker: null, successor: false, ready: false };
    const successor = serving && slot?.state === 'replacing';
    const worker = successor ? slot?.successor : slot?.worker;
    if (!worker) throw new Error(`slot ${id}: a reload started no worker for it`);
    return { slot: id, worker, successor, ready: false };
  }
}
