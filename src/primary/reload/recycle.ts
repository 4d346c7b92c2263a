// A guard's replacements of single workers (primary/guards/guards.ts): each a rolling reload of one slot, one
// slot after the other, in the order they were asked for. A worker that no longer serves its slot when
// its turn comes (a reload replaced it, it died) is skipped. Each one's end is reported to the root
// (`recycled`); the first that fails ends the run, and the guards ask again later for what still needs it.
import { ErrorCode } from '../../errors.js';
import {
  failed,
  type GuardCause,
  type OpResults,
  type Outcome,
  type PrimaryMessage,
} from '../../protocol.js';
import type { TrackedWorker } from '../pool/tracked-worker.js';
import { type ReloadHost, RollingReload, type Run } from './rolling-reload.js';

/** One worker a guard wants replaced. */
export interface RecycleTarget {
  slot: number;
  worker: TrackedWorker;
  cause: GuardCause;
}

const BY: Record<GuardCause, string> = {
  memory: 'the memory guard',
  'memory-hard': 'the memory guard',
  unresponsive: 'the heartbeat guard',
  'max-age': 'recycling (maxAge)',
  schedule: 'recycling (cron)',
};

export class Recycle implements Run {
  private current: RollingReload | null = null;
  private readonly queue: RecycleTarget[];
  private replaced = 0;
  private ended = false;
  private readonly started: number;

  constructor(
    private readonly host: ReloadHost & { send(message: PrimaryMessage): void },
    targets: readonly RecycleTarget[],
    private readonly end: (outcome: Outcome<OpResults['reload']>) => void,
  ) {
    this.queue = [...targets];
    this.started = host.now();
  }

  start(): void {
    this.next();
  }

  private next(): void {
    while (this.queue.length) {
      const target = this.queue.shift() as RecycleTarget;
      const slot = this.host.slot(target.slot);
      if (slot?.worker !== target.worker || slot.state !== 'serving') continue;
      const began = this.host.now();
      const { worker } = target;
      this.current = new RollingReload(
        this.host,
        [slot.id],
        1,
        (outcome) => {
          this.current = null;
          this.host.send({
            type: 'recycled',
            worker: slot.id,
            pid: worker.pid,
            cause: target.cause,
            ok: outcome.ok,
            ms: this.host.now() - began,
            ...(outcome.ok ? {} : { reason: outcome.reason }),
          });
          if (!outcome.ok) {
            this.finish(outcome);
            return;
          }
          this.replaced += 1;
          this.next();
        },
        BY[target.cause],
      );
      this.current.start();
      return;
    }
    this.finish({ ok: true, result: { replaced: this.replaced, ms: this.host.now() - this.started } });
  }

  private finish(outcome: Outcome<OpResults['reload']>): void {
    if (this.ended) return;
    this.ended = true;
    this.end(outcome);
  }

  ready(worker: TrackedWorker): void {
    this.current?.ready(worker);
  }

  tookOver(worker: TrackedWorker): void {
    this.current?.tookOver(worker);
  }

  recreated(slot: number, worker: TrackedWorker): void {
    this.current?.recreated(slot, worker);
  }

  failed(worker: TrackedWorker, reason: string): void {
    this.current?.failed(worker, reason);
  }

  abort(reason: string): void {
    this.current?.abort(reason);
    this.finish(failed(ErrorCode.APP_STOPPING, reason));
  }
}
