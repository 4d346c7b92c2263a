// One app's pool of workers, inside the app's primary: `instances` slots, each served by one worker at a
// time, restarted by the restart policy, rolled by reloads and the guards' replacements (queued
// together), scaled (scale.ts), stopped. A slot is decided by its step function (slot-step.ts): the pool
// turns worker events into slot events (`dispatch`, the one place a slot changes) and carries out the
// effects, all through `PoolEffects` (fakes in pool.test.ts and pool-fuzz.test.ts, node:cluster in
// process/cluster-worker.ts). Here are the slots, their workers' forks and exits, and the app's state;
// how reloads and scales are run over the slots, one at a time, is pool-changes.ts's.
import type { ResolvedApp } from '../../config/resolved.js';
import { ErrorCode, type Failure } from '../../errors.js';
import { Lifecycle } from '../../lifecycle/machine.js';
import { APP_TRANSITIONS, type AppState, deriveAppState } from '../../lifecycle/states.js';
import { type ExitRecord, failed, type OpResults } from '../../protocol.js';
import type { Guards } from '../guards/guards.js';
import { poolGuards } from '../guards/pool-guards.js';
import { PoolChanges, type Reply } from './pool-changes.js';
import type { SlotEffect, SlotEvent, SlotSnapshot } from './slot-step.js';
import { SlotTable } from './slot-table.js';
import { type PoolEffects, TrackedWorker, type WorkerExit } from './tracked-worker.js';

type Slot = SlotSnapshot<TrackedWorker>;

const LAST_EXITS = 5;
const isReady = (worker: TrackedWorker) => worker.lifecycle.is('ready');

const STOPPING = 'the app is stopping';

export class Pool {
  /** The app's settings: a scale-up's and the restart policy's; a failed reload's are never kept. */
  private app: ResolvedApp;
  /** The slots, each the snapshot its last step returned (changed only in `dispatch`). */
  private readonly slots = new SlotTable<TrackedWorker>();
  /** The slots' scheduled restarts: how to cancel each. */
  private readonly restarts = new Map<number, () => void>();
  /** Every worker process alive: slots' workers and successors, and those draining. */
  private readonly workers = new Set<TrackedWorker>();
  private readonly state: Lifecycle<AppState>;
  /** Why the app is in its state, for the answers that refuse or fail because of it. */
  private reason: string | undefined;
  private readonly lastExits: ExitRecord[] = [];
  /** Reloads, a guard's replacements and scales, one at a time. */
  private readonly changes: PoolChanges;
  private readonly guards: Guards<TrackedWorker>;
  /** Requests waiting for a condition: each answers and returns true once it holds. */
  private readonly waiting = new Set<() => boolean>();
  private settleDone: () => void = () => {};
  /** Resolves once no worker is alive and none will be started again. */
  readonly done: Promise<void>;

  constructor(
    app: ResolvedApp,
    private readonly fx: PoolEffects,
    /** Told the app's settings whenever they change: a reload brings some, a failed one restores them. */
    private readonly settingsChanged: (app: ResolvedApp) => void = () => {},
  ) {
    this.app = app;
    this.state = new Lifecycle('app', APP_TRANSITIONS, 'starting', (from, to, { reason }) =>
      this.fx.send({
        type: 'app',
        from,
        to,
        ...(reason && to !== 'running' ? { reason } : {}),
        ...(to === 'errored' ? { lastExits: [...this.lastExits] } : {}),
      }),
    );
    this.changes = new PoolChanges({
      fx,
      app: () => this.app,
      setSettings: (app) => this.setSettings(app),
      setInstances: (instances) => {
        this.app = { ...this.app, instances };
      },
      slots: () => this.slots.all,
      dispatch: (id, event) => this.dispatch(id, event),
      refused: (reply) => this.refused(reply),
      errored: () => this.state.is('errored'),
      recover: () => this.recover(),
      settle: () => this.settle(),
      // What scaling needs (scale.ts).
      count: () => this.slots.size,
      slot: (id) => this.slots.get(id),
      addSlot: (id) => this.addSlot(id),
      removeFrom: (count) => {
        for (const slot of this.slots.all.slice(count))
          this.dispatch(slot.id, { type: 'remove', reason: 'scaled down' });
        this.slots.truncate(count);
      },
      when: (answered) => this.when(answered),
      stopping: () => this.state.is('stopping', 'stopped'),
    });
    this.guards = poolGuards(
      app,
      {
        workers: this.workers,
        slotHolding: (worker) => this.slots.holding(worker),
        refusal: () => this.refusal()?.reason ?? null,
        request: (target, done) =>
          this.changes.reload({ app: null, targets: [target] }, (outcome) => done(outcome.ok)),
      },
      fx,
    );
    this.done = new Promise((resolve) => {
      this.settleDone = resolve;
    });
  }

  /** Pauses `worker`'s heartbeat guard until the function returned is called (guards.ts, `pause`). */
  pauseHeartbeat(worker: TrackedWorker): () => void {
    return this.guards.pause(worker);
  }

  get appState(): AppState {
    return this.state.state;
  }

  /** The slots and the live workers, read-only (the tests' invariants). */
  view(): { slots: readonly Slot[]; workers: readonly TrackedWorker[] } {
    return { slots: this.slots.all, workers: [...this.workers] };
  }

  // Nothing alive and nothing to come: stopped, or errored with its last worker gone. A reload running
  // or queued may still give an errored app a new start, so the pool is not finished while one is.
  private get finished(): boolean {
    const over = this.state.is('stopped') || (this.state.is('errored') && this.workers.size === 0);
    return over && !this.changes.busy;
  }

  // Why a request can no longer be taken, if it cannot.
  private refusal(): (Failure & { ok: false }) | null {
    if (this.state.is('stopping', 'stopped')) return failed(ErrorCode.APP_STOPPING, STOPPING);
    if (this.finished) return failed(ErrorCode.APP_ENDED, `the app has ended (${this.why})`);
    return null;
  }

  /** Answers `reply` with the refusal, if the request cannot be taken. */
  private refused<T>(reply: Reply<T>): boolean {
    const refusal = this.refusal();
    if (refusal) reply(refusal);
    return refusal !== null;
  }

  // Its state, and why it is in it: "errored: exit code 1; 6 failed starts in a row (...)".
  private get why(): string {
    return `${this.state.state}${this.reason ? `: ${this.reason}` : ''}`;
  }

  /** Starts every slot; answers once the app runs, or with why it did not. */
  start(reply: Reply<OpResults['start']>): void {
    for (let id = 0; id < this.app.instances; id++) this.addSlot(id);
    this.guards.start();
    this.when(() => {
      if (this.state.is('starting', 'backoff')) return false;
      if (this.state.is('running')) reply({ ok: true, result: { instances: this.slots.size } });
      else reply(failed(ErrorCode.START_FAILED, `the app is ${this.why}`));
      return true;
    });
    this.settle();
  }

  /**
   * Rolling reload: for `reload.parallel` slots at a time, start a successor (new code from disk, these
   * settings), wait until it is ready, then drain its predecessor. A successor that dies before the
   * reload is done with it stops the reload; the old workers keep serving. Asked for while one runs, it
   * is queued behind it, and every request made meanwhile is served by that one next reload. `canary`:
   * run a canary phase (true), or not (false), whatever the settings say (`reload.canary.enabled`).
   */
  reload(app: ResolvedApp | null, reply: Reply<OpResults['reload']>, canary?: boolean): void {
    if (this.refused(reply)) return;
    this.changes.reload({ app, targets: null, ...(canary === undefined ? {} : { canary }) }, reply);
  }

  /** A watched file's reload (development): onto the settings in force, never with a canary of its own. */
  watchReload(reply: Reply<OpResults['reload']>): void {
    if (this.refused(reply)) return;
    this.changes.reload({ app: null, targets: null, watch: true }, reply);
  }

  /** Runs `instances` workers, once the reloads in progress and queued are over (they never interleave). */
  scale(instances: number, reply: Reply<OpResults['scale']>): void {
    if (this.refused(reply)) return;
    this.changes.scale(instances, reply);
  }

  /** Drains and stops every worker; answers once all have exited. Idempotent. */
  stop(reply?: Reply<OpResults['stop']>): void {
    if (reply)
      this.when(() => {
        if (this.finished) reply({ ok: true, result: {} });
        return this.finished;
      });
    if (this.state.is('stopping', 'stopped')) {
      this.settle();
      return;
    }
    this.setApp('stopping', 'stop requested');
    this.guards.stop();
    for (const slot of this.slots.all) this.dispatch(slot.id, { type: 'remove', reason: 'stop requested' });
    this.changes.dropQueued(failed(ErrorCode.APP_STOPPING, STOPPING));
    this.changes.run?.abort(STOPPING);
    for (const worker of [...this.workers]) worker.drain('stop requested');
    this.settle('stop requested');
  }

  /** Kills every worker at once (SIGKILL). */
  kill(reply?: Reply<OpResults['kill']>): void {
    this.stop(reply);
    for (const worker of [...this.workers]) worker.kill();
  }

  private addSlot(id: number): void {
    for (const effect of this.slots.add(id, this.app)) this.perform(id, effect);
  }

  /**
   * The one place a slot changes: its step's snapshot replaces it, then the step's effects are carried
   * out (which may dispatch more events: a fork's `forked`). Returns the slot as it is after all that.
   */
  private dispatch(id: number, event: SlotEvent<TrackedWorker>): Slot | undefined {
    const context = { app: this.state.state, restart: this.app.restart, isReady };
    for (const effect of this.slots.step(id, event, context)) this.perform(id, effect);
    return this.slots.get(id);
  }

  private perform(id: number, effect: SlotEffect<TrackedWorker>): void {
    switch (effect.type) {
      case 'fork':
        this.dispatch(id, { type: 'forked', role: effect.role, worker: this.spawn(id, effect.app) });
        return;
      case 'drain':
        effect.worker.drain(effect.reason);
        return;
      case 'schedule':
        this.restarts.set(
          id,
          this.fx.timer(effect.delay, () => {
            this.restarts.delete(id);
            this.dispatch(id, { type: 'backoff-over' });
            this.settle();
          }),
        );
        return;
      case 'cancel':
        this.restarts.get(id)?.();
        this.restarts.delete(id);
        return;
      case 'report':
        this.fx.send(effect.message);
        return;
      case 'give-up':
        this.setApp('errored', effect.reason);
        for (const slot of this.slots.all) this.dispatch(slot.id, { type: 'app-errored' });
        return;
      case 'took-over':
        this.changes.run?.tookOver(effect.worker);
        return;
      case 'recreated':
        this.changes.run?.recreated(id, effect.worker);
        return;
      case 'lost':
        this.changes.run?.failed(effect.worker, effect.reason);
        return;
    }
  }

  private spawn(slot: number, app: ResolvedApp): TrackedWorker {
    const worker = new TrackedWorker(slot, this.fx);
    this.workers.add(worker);
    worker.start(app, {
      ready: (address) => this.onReady(worker, address),
      exit: (exit) => this.onExit(worker, exit),
      alive: () => this.guards.answered(worker),
    });
    return worker;
  }

  private onReady(worker: TrackedWorker, address: string | undefined): void {
    if (!worker.alive || !worker.lifecycle.is('starting')) return;
    worker.ready(address);
    const slot = this.slots.holding(worker);
    if (slot) this.dispatch(slot.id, { type: 'ready', worker });
    this.changes.run?.ready(worker);
    this.settle();
  }

  private onExit(worker: TrackedWorker, exit: WorkerExit): void {
    if (!worker.alive) return;
    const ended = worker.ended(exit);
    this.workers.delete(worker);
    if (ended.exit) {
      const at = new Date(this.fx.now()).toISOString();
      this.lastExits.push({ worker: worker.slot, pid: worker.pid, at, reason: ended.reason });
      if (this.lastExits.length > LAST_EXITS) this.lastExits.shift();
    }
    const slot = this.slots.holding(worker);
    if (slot) this.dispatch(slot.id, { type: 'exited', worker, exit: ended.exit, reason: ended.reason });
    this.settle(ended.exit ? ended.reason : undefined);
  }

  private setApp(to: AppState, reason?: string): void {
    if (to === this.state.state) return;
    this.reason = reason;
    this.state.to(to, reason === undefined ? {} : { reason });
  }

  // After every event: the app state that follows, the requests it answers, and the end.
  private settle(reason?: string): void {
    const slots = this.slots.all.map((s) => s.state);
    this.setApp(deriveAppState(this.state.state, slots, this.workers.size), reason);
    for (const answered of [...this.waiting]) if (answered()) this.waiting.delete(answered);
    if (this.finished) {
      this.guards.stop();
      this.settleDone();
    }
  }

  private when(answered: () => boolean): void {
    if (!answered()) this.waiting.add(answered);
  }

  private setSettings(app: ResolvedApp): void {
    this.app = { ...app, instances: this.slots.size };
    this.guards.update(this.app.guards, this.app.restart);
    this.settingsChanged(this.app);
  }

  // A reload is a new attempt: an app errored by a crash loop gets a fresh restart budget (at its start,
  // and again at its end if the app errored meanwhile: every slot now runs the new version).
  private recover(): void {
    for (const slot of this.slots.all) this.dispatch(slot.id, { type: 'new-budget' });
    this.setApp('starting', 'reload');
  }
}
