// What a pool is asked to change, one change at a time: reloads, queued and merged behind the one under
// way (lifecycle/coalescer.ts), each a rolling reload (reload/rolling-reload.ts) with its canary phase
// decided here, or a guard's replacements (reload/recycle.ts); and scales (scale.ts), which wait until
// no reload runs or is queued, so the two never interleave. Apart from pool.ts, which turns its
// workers' events into slot events and carries out the slot steps' effects: this only orchestrates the
// runs over the slots, through the pool injected, and never changes a slot but by its events.
import type { ResolvedApp } from '../../config/resolved.js';
import { Coalescer } from '../../lifecycle/coalescer.js';
import type { OpResults, Outcome } from '../../protocol.js';
import { Recycle, type RecycleTarget } from '../reload/recycle.js';
import { RollingReload, type Run } from '../reload/rolling-reload.js';
import { type ScaledPool, scaleSlots } from './scale.js';
import type { SlotEvent, SlotSnapshot } from './slot-step.js';
import type { PoolEffects, TrackedWorker } from './tracked-worker.js';

type Slot = SlotSnapshot<TrackedWorker>;

export type Reply<T> = (outcome: Outcome<T>) => void;

/**
 * New settings to reload onto, or none (a watched file changed): those of the latest request. With
 * `targets`, only those workers are replaced (the guards'); null: every worker. `canary`: a deploy's
 * explicit choice; `watch`: only watched files' changes asked for it (development: never a canary,
 * unless a deploy folded into it says so).
 */
export type ReloadRequest = {
  app: ResolvedApp | null;
  targets: RecycleTarget[] | null;
  canary?: boolean;
  watch?: boolean;
};

/** What the reloads and scales need of their pool (scaling's own needs, `ScaledPool`, included). */
export interface ChangedPool extends ScaledPool {
  readonly fx: PoolEffects;
  /** The app's settings in force. */
  app(): ResolvedApp;
  /** Settings a reload brings, or a failed one restores: the guards and the primary are told. */
  setSettings(app: ResolvedApp): void;
  /** A scale's worker count, for the settings in force. */
  setInstances(instances: number): void;
  slots(): readonly Slot[];
  /** Steps a slot with `event` and carries out its effects; returns the slot after it. */
  dispatch(id: number, event: SlotEvent<TrackedWorker>): Slot | undefined;
  /** Answers `reply` with the refusal, if the pool can take no request now. */
  refused<T>(reply: Reply<T>): boolean;
  errored(): boolean;
  /** A reload is a new attempt: an errored app's slots get a fresh restart budget. */
  recover(): void;
  /** After every change: the app state that follows, the requests it answers, and the end. */
  settle(): void;
}

export class PoolChanges {
  private readonly reloads: Coalescer<ReloadRequest, Outcome<OpResults['reload']>>;
  private current: Run | null = null;

  constructor(private readonly pool: ChangedPool) {
    // Latest wins: a watched file's reload (no settings) keeps the settings a queued request brought.
    this.reloads = new Coalescer(
      (request, finish) => this.startReload(request, finish),
      (queued, next) => ({
        app: next.app ?? queued.app,
        targets: queued.targets && next.targets ? [...queued.targets, ...next.targets] : null,
        // A deploy folded with a watched file's change is still a deploy: the latest deploy's choice
        // stands, and the settings' when none chose.
        ...((next.canary ?? queued.canary) !== undefined ? { canary: next.canary ?? queued.canary } : {}),
        ...(queued.watch && next.watch ? { watch: true } : {}),
      }),
    );
  }

  /** The reload or replacements under way, to which the pool routes its workers' events. */
  get run(): Run | null {
    return this.current;
  }

  /** True while a reload runs or is queued: it may still give an errored app a new start. */
  get busy(): boolean {
    return this.reloads.busy;
  }

  /** Reloads (or replaces the targets) after the reload under way, merged with any queued. */
  reload(request: ReloadRequest, reply: Reply<OpResults['reload']>): void {
    this.reloads.request(request, reply);
  }

  /** Runs `instances` workers, once the reloads in progress and queued are over. */
  scale(instances: number, reply: Reply<OpResults['scale']>): void {
    this.reloads.whenIdle(() => this.applyScale(instances, reply));
  }

  /** Answers the queued reloads with `failure`: they will never run (the app is stopping). */
  dropQueued(failure: Outcome<OpResults['reload']>): void {
    this.reloads.dropQueued(failure);
  }

  private startReload(request: ReloadRequest, finish: Reply<OpResults['reload']>): void {
    const { pool } = this;
    if (pool.refused(finish)) return;
    const host = {
      slot: (id: number) => pool.slot(id),
      dispatch: (id: number, event: SlotEvent<TrackedWorker>) => pool.dispatch(id, event),
      now: pool.fx.now,
    };
    if (request.targets) {
      // A guard's replacements: no reload is reported, and an errored app is not given a new start.
      const recycle = new Recycle({ ...host, send: pool.fx.send }, request.targets, (outcome) => {
        this.current = null;
        finish(outcome);
        pool.settle();
      });
      this.current = recycle;
      recycle.start();
      pool.settle();
      return;
    }
    const previous = pool.app();
    if (request.app) pool.setSettings(request.app);
    pool.fx.send({ type: 'reload', phase: 'started' });
    if (pool.errored()) pool.recover();
    // Slots that finished (crash-loop limit, a clean exit) serve nothing: they start again at once, as the
    // reload's first group, instead of waiting for their turn.
    const slots = pool.slots();
    const revived = slots.filter((s) => s.state === 'finished').map((s) => s.id);
    const order = slots.map((s) => s.id).filter((id) => !revived.includes(id));
    const reload = new RollingReload(
      host,
      order,
      pool.app().reload.parallel,
      (outcome) => this.endReload(outcome, finish, previous),
      'a rolling reload',
      pool.app(),
      ...this.canaryFor(request, revived.length, previous),
    );
    this.current = reload;
    reload.start(revived);
    pool.settle();
  }

  // The canary phase a deploy gets: asked for (or by the settings), and possible: every slot serving
  // something to compare with. One that cannot be had is said (a warning, and `noCanary` in the
  // reload's result), and the reload goes on without it.
  private canaryFor(
    request: ReloadRequest,
    revived: number,
    previous: ResolvedApp,
  ): [ConstructorParameters<typeof RollingReload>[6], string | null] {
    const { fx } = this.pool;
    const settings = this.pool.app().reload.canary;
    if (!(request.canary ?? (request.watch ? false : settings.enabled))) return [null, null];
    const serving = this.pool.slots().filter((s) => s.state === 'serving').length;
    if (revived > 0 || serving === 0) {
      const why = `${serving === 0 ? 'no worker serves' : `${revived} worker slot(s) serve nothing`}, so there is nothing to compare a canary with`;
      fx.send({
        type: 'warning',
        message: `canary skipped: ${why}; the reload replaces every worker without one`,
      });
      return [null, why];
    }
    const run = {
      settings,
      previous,
      fx: { timer: fx.timer, now: fx.now, measure: fx.measure, weigh: fx.weigh, send: fx.send },
    };
    return [run, null];
  }

  private endReload(
    outcome: Outcome<OpResults['reload']>,
    finish: Reply<OpResults['reload']>,
    previous: ResolvedApp,
  ): void {
    const { pool } = this;
    this.current = null;
    pool.fx.send(
      outcome.ok
        ? { type: 'reload', phase: 'done', ...outcome.result }
        : { type: 'reload', phase: 'failed', reason: outcome.reason },
    );
    // Failed: the app's settings are those it had (restarts of old workers, scale-ups: never the failed
    // reload's). Slots it already promoted keep the new ones their workers run, until the next reload.
    if (!outcome.ok && pool.app() !== previous) pool.setSettings(previous);
    if (outcome.ok && pool.errored()) pool.recover();
    // Answered before the app settles: a reload queued behind this one starts here, and the pool is not
    // finished while it runs.
    finish(outcome);
    pool.settle();
  }

  private applyScale(instances: number, reply: Reply<OpResults['scale']>): void {
    const { pool } = this;
    // Asked again: the reloads it waited for may have ended the app (stopped, or errored with no worker).
    if (pool.refused(reply)) return;
    pool.setInstances(instances);
    const from = scaleSlots(pool, instances, reply);
    pool.fx.send({ type: 'scaled', from, to: instances });
    pool.settle();
  }
}
