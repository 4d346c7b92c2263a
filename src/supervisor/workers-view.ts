// The root's picture of an app's worker processes, from what its primary reports: for `clusterd status`,
// and for killing what a dead primary left behind. One entry per live process, so a slot shows both its
// worker and its successor during a rolling reload (and keeps its worker when a reload is rolled back).
import { isWorkerDone, type WorkerState } from '../lifecycle/states.js';
import type { GuardCause, PrimaryMessage, WorkerTransition } from '../protocol.js';

export interface WorkerInfo {
  /** Its slot: NODE_APP_INSTANCE. */
  slot: number;
  pid: number | null;
  state: WorkerState;
  /** When this worker process started (ms). */
  since: number;
  /** Restarts of its slot so far. */
  restarts: number;
  /** Real path of the entry file it runs, as reported when it started. */
  script: string | null;
  /** While it drains: the connections it still holds, as last reported (null before its first report). */
  open: number | null;
}

export class WorkersView {
  // Keyed by pid; a worker that never got one (its fork failed) is not a process to show or kill.
  private readonly live = new Map<number, WorkerInfo>();
  private readonly restarts = new Map<number, number>();
  /** Workers the guards replaced or killed, by cause, for the root's life. */
  readonly replaced: Partial<Record<GuardCause, number>> = {};

  constructor(private readonly now: () => number) {}

  transition(t: WorkerTransition): void {
    if (t.pid === null) return;
    if (isWorkerDone(t.to)) {
      this.live.delete(t.pid);
      return;
    }
    const known = this.live.get(t.pid);
    this.live.set(t.pid, {
      slot: t.worker,
      pid: t.pid,
      state: t.to,
      since: known?.since ?? this.now(),
      restarts: this.restarts.get(t.worker) ?? 0,
      script: t.script ?? known?.script ?? null,
      open: t.to === 'draining' ? (known?.open ?? null) : null,
    });
  }

  /** A draining worker's report of its open connections; one that is not draining (any more) is ignored. */
  connections(pid: number, open: number): void {
    const known = this.live.get(pid);
    if (known?.state === 'draining') known.open = open;
  }

  /** A guard's report: a replacement that took place, or a kill, is counted. */
  guarded(message: Extract<PrimaryMessage, { type: 'guard' | 'recycled' }>): void {
    const counts = message.type === 'recycled' ? message.ok : message.action === 'kill';
    if (counts) this.replaced[message.cause] = (this.replaced[message.cause] ?? 0) + 1;
  }

  restarted(slot: number): void {
    this.restarts.set(slot, (this.restarts.get(slot) ?? 0) + 1);
  }

  /** Every live worker, by slot, oldest first within a slot. */
  list(): WorkerInfo[] {
    return [...this.live.values()].sort((a, b) => a.slot - b.slot || a.since - b.since);
  }

  clear(): void {
    this.live.clear();
  }
}
