// One app's pool of workers, inside the app's primary: `instances` slots, each served by one worker at a
// time; crashes restarted by the restart policy; rolling reloads that replace each worker only once its
// successor is ready, and the guards' replacements of single workers (pool-guards.ts), queued with them;
// scaling (scale.ts); graceful stop. Every decision is made here and every effect goes through
// `PoolEffects`, so the whole lifecycle runs the same against fake workers and fake time
// (test/primary/pool.test.ts, guards.test.ts); process/cluster-worker.ts carries the effects out with node:cluster.
import type { ResolvedApp } from '../../config/resolved.js';
import { ErrorCode, type Failure } from '../../errors.js';
import { Coalescer } from '../../lifecycle/coalescer.js';
import { Lifecycle } from '../../lifecycle/machine.js';
import { decideRestart, describeExit, type Exit } from '../../lifecycle/policy.js';
import { APP_TRANSITIONS, type AppState, deriveAppState } from '../../lifecycle/states.js';
import { type ExitRecord, failed, type OpResults, type Outcome } from '../../protocol.js';
import type { Guards } from '../guards/guards.js';
import { poolGuards } from '../guards/pool-guards.js';
import { Recycle, type RecycleTarget } from '../reload/recycle.js';
import { RollingReload, type Run } from '../reload/rolling-reload.js';
import { scaleSlots } from './scale.js';
import { cancelRestart, createSlot, type Slot } from './slot.js';
import { type PoolEffects, TrackedWorker, type WorkerExit } from './tracked-worker.js';

const LAST_EXITS = 5;

export type Reply<T> = (outcome: Outcome<T>) => void;
const STOPPING = 'the app is stopping';

/**
 * New settings to reload onto, or none (a watched file changed): those of the latest request. With
 * `targets`, only those workers are replaced (the guards'); null: every worker.
 */
type ReloadRequest = { app: ResolvedApp | null; targets: RecycleTarget[] | null };

export class Pool {
  private app: ResolvedApp;
  private readonly slots: Slot[] = [];
  /** Every worker process alive: slots' workers and successors, and those draining. */
  private readonly workers = new Set<TrackedWorker>();
  private readonly state: Lifecycle<AppState>;
  /** Why the app is in its state, for the answers that refuse or fail because of it. */
  private reason: string | undefined;
  private readonly lastExits: ExitRecord[] = [];
  private readonly reloads: Coalescer<ReloadRequest, Outcome<OpResults['reload']>>;
  private run: Run | null = null;
  private readonly guards: Guards<TrackedWorker>;
  /** Requests waiting for a condition: each answers and returns true once it holds. */
  private readonly waiting = new Set<() => boolean>();
  private settleDone: () => void = () => {};
  /** Resolves once no worker is alive and none will be started again. */
  readonly done: Promise<void>;

  constructor(
    app: ResolvedApp,
    private readonly fx: PoolEffects,
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
    // Latest wins: a watched file's reload (no settings) keeps the settings a queued request brought.
    this.reloads = new Coalescer(
      (request, finish) => this.startReload(request, finish),
      (queued, next) => ({
        app: next.app ?? queued.app,
        targets: queued.targets && next.targets ? [...queued.targets, ...next.targets] : null,
      }),
    );
    this.guards = poolGuards(
      app,
      {
        workers: this.workers,
        slotHolding: (worker) => this.slotHolding(worker),
        refusal: () => this.refusal()?.reason ?? null,
        request: (target, done) =>
          this.reloads.request({ app: null, targets: [target] }, (outcome) => done(outcome.ok)),
      },
      fx,
    );
    this.done = new Promise((resolve) => {
      this.settleDone = resolve;
    });
  }

  get appState(): AppState {
    return this.state.state;
  }

  // Nothing alive and nothing to come: stopped, or errored with its last worker gone. A reload running
  // or queued may still give an errored app a new start, so the pool is not finished while one is.
  private get finished(): boolean {
    const over = this.state.is('stopped') || (this.state.is('errored') && this.workers.size === 0);
    return over && !this.reloads.busy;
  }

  // Why a request can no longer be taken, if it cannot.
  private refusal(): (Failure & { ok: false }) | null {
    if (this.state.is('stopping', 'stopped')) return failed(ErrorCode.APP_STOPPING, STOPPING);
    if (this.finished)
      return failed(
        ErrorCode.APP_ENDED,
        `the app has ended (${this.state.state}${this.reason ? `: ${this.reason}` : ''})`,
      );
    return null;
  }

  /** Starts every slot; answers once the app runs, or with why it did not. */
  start(reply: Reply<OpResults['start']>): void {
    for (let id = 0; id < this.app.instances; id++) this.addSlot(id);
    this.guards.start();
    this.when(() => {
      if (this.state.is('starting', 'backoff')) return false;
      if (this.state.is('running')) reply({ ok: true, result: { instances: this.slots.length } });
      else
        reply(
          failed(
            ErrorCode.START_FAILED,
            `the app is ${this.state.state}${this.reason ? `: ${this.reason}` : ''}`,
          ),
        );
      return true;
    });
    this.settle();
  }

  /**
   * Rolling reload: for `reload.parallel` slots at a time, start a successor (new code from disk, these
   * settings), wait until it is ready, then drain its predecessor. A successor that dies before the
   * reload is done with it stops the reload; the old workers keep serving. Asked for while one runs, it
   * is queued behind it, and every request made meanwhile is served by that one next reload.
   */
  reload(app: ResolvedApp | null, reply: Reply<OpResults['reload']>): void {
    const refusal = this.refusal();
    if (refusal) {
      reply(refusal);
      return;
    }
    this.reloads.request({ app, targets: null }, reply);
  }

  /** Runs `instances` workers, once the reloads in progress and queued are over (they never interleave). */
  scale(instances: number, reply: Reply<OpResults['scale']>): void {
    const refusal = this.refusal();
    if (refusal) {
      reply(refusal);
      return;
    }
    this.reloads.whenIdle(() => this.applyScale(instances, reply));
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
    for (const slot of this.slots) {
      cancelRestart(slot);
      slot.lifecycle.to('removed', { reason: 'stop requested' });
    }
    this.reloads.dropQueued(failed(ErrorCode.APP_STOPPING, STOPPING));
    this.run?.abort(STOPPING);
    for (const worker of [...this.workers]) worker.drain('stop requested');
    this.settle('stop requested');
  }

  /** Kills every worker at once (SIGKILL). */
  kill(reply?: Reply<OpResults['kill']>): void {
    this.stop(reply);
    for (const worker of [...this.workers]) worker.kill();
  }

  private addSlot(id: number): Slot {
    const slot = createSlot(id, this.fx.send);
    this.slots.push(slot);
    slot.worker = this.spawn(slot);
    return slot;
  }

  private spawn(slot: Slot): TrackedWorker {
    const worker = new TrackedWorker(slot.id, this.fx);
    this.workers.add(worker);
    worker.start(this.app, {
      ready: (address) => this.onReady(worker, address),
      exit: (exit) => this.onExit(worker, exit),
      alive: () => this.guards.answered(worker),
    });
    return worker;
  }

  private slotHolding(worker: TrackedWorker): Slot | undefined {
    return this.slots.find((s) => s.worker === worker || s.successor === worker);
  }

  private onReady(worker: TrackedWorker, address: string | undefined): void {
    if (worker.exited || !worker.lifecycle.is('starting')) return;
    worker.ready(address);
    const slot = this.slotHolding(worker);
    if (slot?.worker === worker) {
      slot.lifecycle.to('serving');
      slot.lastExit = null;
    }
    this.run?.ready(worker);
    this.settle();
  }

  private onExit(worker: TrackedWorker, exit: WorkerExit): void {
    if (worker.exited) return;
    worker.exit();
    this.workers.delete(worker);
    const slot = this.slotHolding(worker);
    // A worker stopped for not getting ready in time drained too, but its exit is a failed start.
    if (worker.lifecycle.is('draining') && !worker.failedToStart) {
      worker.lifecycle.to('stopped', { code: exit.code, signal: exit.signal });
      if (slot?.worker === worker) slot.worker = null;
      if (slot?.successor === worker) slot.successor = null;
      this.settle();
      return;
    }
    const now = this.fx.now();
    const failure = worker.failureOf(exit);
    const ended: Exit = {
      code: exit.code,
      signal: exit.signal,
      uptime: now - worker.startedAt,
      ready: worker.lifecycle.is('ready'),
      ...(failure ? { reason: failure } : {}),
    };
    const reason = describeExit(ended);
    // Exit code 0 of its own accord: its work is done (a job, a consumer whose queue closed), not a crash.
    const clean = exit.code === 0 && exit.signal === null && !failure;
    worker.lifecycle.to(clean ? 'exited' : 'crashed', { code: exit.code, signal: exit.signal, reason });
    this.lastExits.push({ worker: worker.slot, pid: worker.pid, at: new Date(now).toISOString(), reason });
    if (this.lastExits.length > LAST_EXITS) this.lastExits.shift();

    if (slot && slot.successor === worker) {
      // A new version that dies, before or after it was ready, fails the reload; the slot's own worker
      // still serves. It is not a restart of the app.
      slot.successor = null;
      // Stopped for not getting ready, it may end after the app's stop removed its slot.
      if (slot.lifecycle.is('replacing')) slot.lifecycle.to('serving', { reason: 'reload failed' });
      this.run?.failed(worker, reason);
    } else if (slot && slot.worker === worker) {
      slot.worker = null;
      slot.lastExit = reason;
      const successor = slot.successor;
      if (successor) {
        // Its successor (rolling reload) is on the way: it takes the slot over.
        slot.worker = successor;
        slot.successor = null;
        slot.lifecycle.to(successor.lifecycle.is('ready') ? 'serving' : 'restarting', { reason });
        this.run?.tookOver(successor);
      } else {
        this.restartOrGiveUp(slot, ended, reason);
        // A slot the reload restarted (it was not serving) fails the reload too.
        this.run?.failed(worker, reason);
      }
    }
    this.settle(reason);
  }

  private restartOrGiveUp(slot: Slot, ended: Exit, reason: string): void {
    if (this.state.is('stopping', 'stopped')) return;
    if (this.state.is('errored')) {
      slot.lifecycle.to('finished', { reason });
      return;
    }
    // The crash-loop limit is per slot: its failed starts in a row, as its backoff (lifecycle/policy.ts).
    const decision = decideRestart(this.app.restart, ended, slot.failedStarts);
    if (decision.action === 'restart') {
      slot.failedStarts = decision.failedStarts;
      slot.lifecycle.to('backoff', { reason });
      this.fx.send({
        type: 'backoff',
        worker: slot.id,
        delay: decision.delay,
        failedStarts: slot.failedStarts,
      });
      slot.cancelRestart = this.fx.timer(decision.delay, () => {
        slot.cancelRestart = null;
        slot.lifecycle.to('restarting', { reason: 'backoff over' });
        slot.worker = this.spawn(slot);
        this.settle();
      });
      return;
    }
    slot.lifecycle.to('finished', { reason: decision.reason });
    if (decision.action === 'errored') {
      // Past the crash-loop limit nothing of the app restarts any more; workers still serving keep
      // serving: stopping them would turn one bad slot into an outage.
      this.setApp('errored', decision.reason);
      for (const s of this.slots) {
        if (!s.lifecycle.is('backoff')) continue;
        cancelRestart(s);
        s.lifecycle.to('finished', { reason: 'the app errored' });
      }
    }
  }

  private setApp(to: AppState, reason?: string): void {
    if (to === this.state.state) return;
    this.reason = reason;
    this.state.to(to, reason === undefined ? {} : { reason });
  }

  // After every event: the app state that follows, the requests it answers, and the end.
  private settle(reason?: string): void {
    const slots = this.slots.map((s) => s.lifecycle.state);
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

  private startReload(request: ReloadRequest, finish: Reply<OpResults['reload']>): void {
    const refusal = this.refusal();
    if (refusal) {
      finish(refusal);
      return;
    }
    const host = { spawn: (slot: Slot) => this.spawn(slot), now: this.fx.now };
    if (request.targets) {
      // A guard's replacements: no reload is reported, and an errored app is not given a new start.
      const recycle = new Recycle(
        { ...host, slots: this.slots, send: this.fx.send },
        request.targets,
        (outcome) => {
          this.run = null;
          finish(outcome);
          this.settle();
        },
      );
      this.run = recycle;
      recycle.start();
      this.settle();
      return;
    }
    if (request.app) {
      this.app = { ...request.app, instances: this.slots.length };
      this.guards.update(this.app.guards, this.app.restart);
    }
    this.fx.send({ type: 'reload', phase: 'started' });
    if (this.state.is('errored')) this.recover();
    // Slots that finished (crash-loop limit, a clean exit) serve nothing: they start again at once, as the
    // reload's first group, instead of waiting for their turn.
    const revived = this.slots.filter((s) => s.lifecycle.is('finished'));
    for (const slot of revived) {
      slot.lifecycle.to('starting', { reason: 'rolling reload' });
      slot.worker = this.spawn(slot);
    }
    const order = this.slots.filter((s) => !revived.includes(s));
    const reload = new RollingReload(host, order, this.app.reload.parallel, (outcome) =>
      this.endReload(outcome, finish),
    );
    this.run = reload;
    reload.start(revived);
    this.settle();
  }

  // A reload is a new attempt: an app errored by a crash loop gets a fresh restart budget (at its start,
  // and again at its end if the app errored meanwhile: every slot now runs the new version).
  private recover(): void {
    for (const slot of this.slots) slot.failedStarts = 0;
    this.setApp('starting', 'reload');
  }

  private endReload(outcome: Outcome<OpResults['reload']>, finish: Reply<OpResults['reload']>): void {
    this.run = null;
    this.fx.send(
      outcome.ok
        ? { type: 'reload', phase: 'done', ...outcome.result }
        : { type: 'reload', phase: 'failed', reason: outcome.reason },
    );
    if (outcome.ok && this.state.is('errored')) this.recover();
    // Answered before the app settles: a reload queued behind this one starts here, and the pool is not
    // finished while it runs.
    finish(outcome);
    this.settle();
  }

  private applyScale(instances: number, reply: Reply<OpResults['scale']>): void {
    // Asked again: the reloads it waited for may have ended the app (stopped, or errored with no worker).
    const refusal = this.refusal();
    if (refusal) {
      reply(refusal);
      return;
    }
    this.app = { ...this.app, instances };
    const from = scaleSlots(
      {
        slots: this.slots,
        addSlot: (id) => this.addSlot(id),
        when: (answered) => this.when(answered),
        stopping: () => this.state.is('stopping', 'stopped'),
      },
      instances,
      reply,
    );
    this.fx.send({ type: 'scaled', from, to: instances });
    this.settle();
  }
}
