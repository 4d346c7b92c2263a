// One rolling reload of a pool: `reload.parallel` slots at a time, each given a successor that must be
// ready before its predecessor drains (a slot that does not serve has no capacity to keep: it restarts
// at once). A successor that dies before the reload is done with it, before or after it was ready,
// rolls its group back: the old workers keep serving. Driven by the pool's events, synchronously, so no
// process event can slip in between a group's last `ready` and its promotion.
import { ErrorCode } from '../../errors.js';
import { failed, type OpResults, type Outcome } from '../../protocol.js';
import { cancelRestart, type Slot } from '../pool/slot.js';
import type { TrackedWorker } from '../pool/tracked-worker.js';

/** What the reload needs of its pool. */
export interface ReloadHost {
  /** Forks a worker for `slot` on the pool's current settings. */
  spawn(slot: Slot): TrackedWorker;
  now(): number;
}

/** A worker the reload waits for: a successor beside a serving worker, or a slot's restart. */
interface Replacement {
  slot: Slot;
  worker: TrackedWorker;
  successor: boolean;
  ready: boolean;
}

/** A run the pool routes its workers' events to: a rolling reload, or a guard's replacements. */
export interface Run {
  ready(worker: TrackedWorker): void;
  tookOver(worker: TrackedWorker): void;
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

  constructor(
    private readonly host: ReloadHost,
    private readonly order: readonly Slot[],
    private readonly parallel: number,
    private readonly end: (outcome: Outcome<OpResults['reload']>) => void,
    /** What replaces the workers, for their reasons: "a rolling reload", "the memory guard". */
    private readonly by = 'a rolling reload',
  ) {
    this.started = host.now();
  }

  /** Starts with `revived` (slots the pool restarted at once: they served nothing) as the first group. */
  start(revived: readonly Slot[] = []): void {
    if (!revived.length) {
      this.nextGroup();
      return;
    }
    this.group = revived.map((slot) => ({
      slot,
      worker: slot.worker as TrackedWorker,
      successor: false,
      ready: false,
    }));
  }

  /** A worker got ready; the group is promoted once all of its workers are. */
  ready(worker: TrackedWorker): void {
    const replacement = this.group.find((r) => r.worker === worker);
    if (!replacement) return;
    replacement.ready = true;
    if (!this.group.every((r) => r.ready)) return;
    for (const { slot, worker: successor, successor: isSuccessor } of this.group) {
      if (!isSuccessor) continue;
      const old = slot.worker;
      slot.worker = successor;
      slot.successor = null;
      slot.failedStarts = 0;
      slot.lifecycle.to('serving', { reason: 'promoted' });
      old?.drain(`replaced by ${this.by}`);
    }
    this.replaced += this.group.length;
    this.group = [];
    this.nextGroup();
  }

  /** A successor took its slot over (the old worker died): it is the slot's worker now. */
  tookOver(worker: TrackedWorker): void {
    const replacement = this.group.find((r) => r.worker === worker);
    if (replacement) replacement.successor = false;
  }

  /** A worker died: if the reload waits for it, the group is rolled back and the reload fails. */
  failed(worker: TrackedWorker, reason: string): void {
    const lost = this.group.find((r) => r.worker === worker);
    if (!lost) return;
    for (const { slot, worker: successor, successor: isSuccessor } of this.group) {
      if (!isSuccessor || slot.successor !== successor) continue;
      slot.successor = null;
      slot.lifecycle.to('serving', { reason: 'reload failed' });
      successor.drain('reload failed');
    }
    const what = lost.ready ? 'crashed after it was ready' : 'did not get ready';
    this.finish(failed(ErrorCode.RELOAD_FAILED, `worker ${lost.slot.id} ${what}: ${reason}`));
  }

  /** Ends the reload with `reason` (the app is stopping); its workers are the pool's to stop. */
  abort(reason: string): void {
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
      const group = this.order
        .slice(this.next, this.next + this.parallel)
        .filter((s) => !s.lifecycle.is('removed'));
      this.next += this.parallel;
      if (!group.length) continue;
      this.group = group.map((slot) => this.replace(slot));
      return;
    }
    this.finish({ ok: true, result: { replaced: this.replaced, ms: this.host.now() - this.started } });
  }

  private replace(slot: Slot): Replacement {
    if (slot.lifecycle.is('serving')) {
      slot.lifecycle.to('replacing', { reason: this.by });
      const worker = this.host.spawn(slot);
      slot.successor = worker;
      return { slot, worker, successor: true, ready: false };
    }
    // A slot that does not serve has no capacity to keep: it restarts at once, on the new settings.
    cancelRestart(slot);
    slot.worker?.drain('replaced by a rolling reload');
    // One that finished meanwhile (the app errored during the reload) starts again as if new.
    if (slot.lifecycle.is('finished')) slot.lifecycle.to('starting', { reason: 'rolling reload' });
    else if (!slot.lifecycle.is('starting')) slot.lifecycle.to('restarting', { reason: 'rolling reload' });
    const worker = this.host.spawn(slot);
    slot.worker = worker;
    return { slot, worker, successor: false, ready: false };
  }
}
