// The root's side of one app: it turns what its primary process does (forked, hello, reports, exit),
// its timers and the commands into events of the primary's step (primary-step.ts, pure: the lifecycle,
// the restart policy, the hang watch), and carries out the effects the step returns. The requests sent
// to the primary, each with an id and answered exactly once, are primary-link.ts's; the sorting of what
// the primary says (its workers, its reports, logged) runner-messages.ts's; what a restarted primary
// runs after a failed reload deployed-settings.ts's. The process itself is behind `RunnerEffects`, so all
// of this runs against a fake primary in the tests; primary-process.ts forks the real one (app-view.ts
// says what it all looks like from outside). A fault in any handler here is contained: it is logged and
// restarts this app's primary only.
import type { ResolvedApp } from '../config/resolved.js';
import { errorMessage, type Failure } from '../errors.js';
import type { AppState, PrimaryState } from '../lifecycle/states.js';
import type { Logger } from '../log/logger.js';
import type { LogFormat, OpResults, Outcome } from '../protocol.js';
import { appStateOf, refusalOf } from './app-view.js';
import { canaryRefusalOf } from './canary-refusal.js';
import { DeployedSettings } from './deployed-settings.js';
import { killLeftovers } from './leftovers.js';
import { PrimaryLink, type Request, type StreamPiece } from './primary-link.js';
import {
  faultWhere,
  initialPrimary,
  isSettled,
  type PrimaryEffect,
  type PrimaryEvent,
  type PrimarySnapshot,
  type PrimaryTimer,
  TIMER_EVENTS,
} from './primary-machine.js';
import type { PrimaryChild, RunnerEffects } from './primary-process.js';
import { primaryStep } from './primary-step.js';
import { RecentOutput } from './recent-output.js';
import type { RunnerObserver } from './reports.js';
import { type MessageTarget, takeMessage } from './runner-messages.js';
import { WorkersView } from './workers-view.js';

export class AppRunner {
  readonly workers: WorkersView;
  /** The app's recent output, and its `logs --follow` listeners. */
  readonly output = new RecentOutput();
  /** The primary's latest request figures over the status window, and when they came (`figures`). */
  figures: { at: number; value: OpResults['requests'] } | null = null;
  /** The answer to the app's first start: every slot served, or why not. */
  readonly started: Promise<Outcome<OpResults['start']>>;
  /** Resolves once the primary has ended for good (stopped, or errored). */
  readonly done: Promise<void>;
  /** Everything decided about the primary; written by `dispatch` only, from `primaryStep`. */
  private s: PrimarySnapshot;
  private child: PrimaryChild | null = null;
  /** Which spawn the events belong to: those of an older primary are ignored. */
  private generation = 0;
  private readonly timers = new Map<PrimaryTimer, () => void>();
  /** The requests to the primary, each answered once: held, sent, streamed, refused; the shared ping. */
  private readonly link = new PrimaryLink({
    refusal: () => this.refusal(),
    spawning: () => this.s.state === 'spawning',
    send: (message) => this.child?.send(message),
    generation: () => this.generation,
    step: (event) => this.dispatch(event),
  });
  /** What the workers run, for a restarted primary after a failed reload. */
  private readonly deployed = new DeployedSettings();
  /** Where what the primary says goes. */
  private readonly messages: MessageTarget;
  private answerStart: (outcome: Outcome<OpResults['start']>) => void = () => {};
  private settleDone: () => void = () => {};

  constructor(
    public app: ResolvedApp,
    private readonly log: Logger,
    private readonly logFormat: LogFormat,
    private readonly fx: RunnerEffects,
    private readonly observer?: RunnerObserver,
  ) {
    this.workers = new WorkersView(fx.now);
    this.s = initialPrimary(fx.now());
    this.messages = {
      app: () => this.app.name,
      log,
      workers: this.workers,
      observer,
      step: (event) => this.run(event),
      answer: (id, outcome) => this.link.answer(id, outcome),
      piece: (piece) => this.link.piece(piece),
      figures: (value) => {
        this.figures = value === null ? null : { at: this.fx.now(), value };
      },
      released: (release) => this.deployed.released(release),
    };
    this.started = new Promise((resolve) => {
      this.answerStart = resolve;
    });
    this.done = new Promise((resolve) => {
      this.settleDone = resolve;
    });
  }

  /** The primary's state, as the root sees it (lifecycle/states.ts). */
  get primary(): { readonly state: PrimaryState; is(...states: readonly PrimaryState[]): boolean } {
    const state = this.s.state;
    return { state, is: (...states) => states.includes(state) };
  }

  /** The app's state, as `status` shows it. */
  get state(): AppState {
    return appStateOf(this.s.state, this.s.app);
  }

  /** True once the primary has ended for good. */
  get settled(): boolean {
    return isSettled(this.s);
  }

  get primaryPid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Forks the primary; its hello is answered with the app's settings. */
  start(): void {
    this.dispatch({ type: 'start' });
  }

  /**
   * Sends a request; resolves with its outcome, never rejects: refused at once when the primary cannot
   * take it, and failed with the reason if the primary exits before it answers.
   */
  request<O extends Request['op']>(request: Extract<Request, { op: O }>): Promise<Outcome<OpResults[O]>> {
    return this.link.request(request);
  }

  /**
   * A request answered in pieces before its reply (`profile`): each `profiling` and `chunk` message of
   * the primary goes to `piece`, `ack(seq)` lets it send more, `cancel()` stops it (the outcome then
   * says so). The outcome as `request`'s: never rejects.
   */
  stream<O extends Request['op']>(
    request: Extract<Request, { op: O }>,
    piece: (piece: StreamPiece) => void,
  ): { outcome: Promise<Outcome<OpResults[O]>>; ack(seq: number): void; cancel(): void } {
    return this.link.stream(request, piece);
  }

  /**
   * Resolves once the primary answers a ping (or refuses it: it is not running now); never rejects. A
   * ping already on its way is shared: the primary answers in order, so a second one would say nothing
   * more, and the hang watch sees the pings of /livez and the watchdog too.
   */
  ping(): Promise<Outcome<OpResults['ping']>> {
    return this.link.ping();
  }

  /**
   * Rolling reload onto the current settings; `canary` decides its canary phase (absent: the settings).
   * A deploy that asks for one of every app (`up --canary`, `reload --canary`) reloads an app that cannot
   * have one (a program, stop-first, requestMetrics off) without it, and its result says why (`noCanary`).
   */
  async reload(canary?: boolean): Promise<Outcome<OpResults['reload']>> {
    const why = canary ? canaryRefusalOf(this.app) : null;
    if (why === null) return this.deploy(this.app, canary === undefined ? {} : { canary });
    this.log.warn({ app: this.app.name, canary: 'skipped' }, `no canary for ${this.app.name}: ${why}`);
    const outcome = await this.deploy(this.app, { canary: false });
    return outcome.ok ? { ok: true, result: { ...outcome.result, noCanary: why } } : outcome;
  }

  // A reload onto `app`; failed and rolled back, a restarted primary runs what the workers run.
  private deploy(app: ResolvedApp, canary: { canary?: boolean }): Promise<Outcome<OpResults['reload']>> {
    return this.deployed.reload(app, () => this.request({ op: 'reload', app, ...canary }));
  }

  /**
   * Runs this many workers; resolves once they serve (scaling up) or have stopped (down). The count
   * holds for later starts of the app too (a restarted primary, `clusterd restart`); with `record`, it
   * is kept even when the primary cannot take the request now (a config reload during a backoff).
   */
  scale(instances: number, record = false): Promise<Outcome<OpResults['scale']>> {
    if (record || this.refusal() === null) this.app = { ...this.app, instances };
    return this.request({ op: 'scale', instances });
  }

  /** New settings from a config reload for the primary's next start only (a restart follows). */
  keep(app: ResolvedApp, instancesChanged: boolean): void {
    this.app = { ...app, instances: instancesChanged ? app.instances : this.app.instances };
  }

  /**
   * New settings from a config reload: roll the workers onto them, then scale if the config file changed
   * `instances` (a runtime `clusterd scale` otherwise holds: see docs/watch.md). When the primary cannot
   * take them now (restarting, stopped), they are kept for its next start.
   */
  update(app: ResolvedApp, instancesChanged: boolean, canary?: boolean): Promise<Outcome[]> {
    const runtime = this.app.instances;
    const target = instancesChanged ? app.instances : runtime;
    if (this.refusal() !== null) {
      this.app = { ...app, instances: target };
      return Promise.resolve([]);
    }
    this.app = { ...app, instances: runtime };
    const outcomes: Promise<Outcome>[] = [this.reload(canary)];
    if (target !== runtime) outcomes.push(this.scale(target));
    return Promise.all(outcomes);
  }

  /** Graceful stop; resolves when the primary has stopped its workers and exited. */
  stop(): Promise<void> {
    this.dispatch({ type: 'stop asked' });
    return this.done;
  }

  /** Immediate stop: the primary SIGKILLs its workers; a primary that does not exit is killed too. */
  kill(): Promise<void> {
    this.dispatch({ type: 'kill asked' });
    return this.done;
  }

  private refusal(): Failure | null {
    return refusalOf(this.s.state, this.s.app, this.s.reason);
  }

  /** Runs a handler for this app; a throw is clusterd's own fault, contained to this app. */
  contain(where: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.fault(where, error);
    }
  }

  private fault(where: string, error: unknown): void {
    try {
      this.run({ type: 'fault', where, error, message: errorMessage(error) });
    } catch (again) {
      // A fault in handling a fault (the log itself throws): nothing more can be done for this app
      // than what is done already; the root goes on.
      void again;
    }
  }

  // Steps the primary's machine and carries out its effects, in order; a throw is contained.
  private dispatch(event: PrimaryEvent, where = faultWhere(event)): void {
    this.contain(where, () => this.run(event));
  }

  private run(event: PrimaryEvent): void {
    const { snapshot, effects } = primaryStep(this.s, event, {
      now: this.fx.now(),
      app: this.app.name,
      restart: this.app.restart,
      hangTimeout: this.app.primary.hangTimeout,
    });
    this.s = snapshot;
    for (const effect of effects) this.carryOut(effect);
  }

  private carryOut(effect: PrimaryEffect): void {
    switch (effect.type) {
      case 'spawn':
        this.spawn();
        return;
      case 'send':
        this.send(effect.op);
        return;
      case 'release held':
        this.link.releaseHeld();
        return;
      case 'refuse held':
        this.link.refuseHeld(effect.failure);
        return;
      case 'refuse pending':
        this.link.refusePending(effect);
        return;
      case 'answer start':
        this.answerStart(effect.outcome as Outcome<OpResults['start']>);
        return;
      case 'signal':
        this.child?.kill(effect.signal);
        return;
      case 'schedule': {
        this.cancel(effect.timer);
        const generation = this.generation;
        const fire = TIMER_EVENTS[effect.timer];
        this.timers.set(
          effect.timer,
          this.fx.timer(effect.delay, () => {
            this.timers.delete(effect.timer);
            // A restart spawns a new generation itself; the other timers belong to one primary.
            if (effect.timer === 'restart' || generation === this.generation) this.dispatch(fire);
          }),
        );
        return;
      }
      case 'cancel':
        this.cancel(effect.timer);
        return;
      case 'clear leftovers': {
        const group = this.child?.pid ?? null;
        this.child = null;
        killLeftovers(this.fx, this.log, this.app.name, this.workers, group);
        return;
      }
      case 'ping':
        void this.ping();
        return;
      case 'log':
        this.log[effect.level](effect.fields, effect.msg);
        return;
      case 'count':
        if (effect.what === 'restart') this.observer?.primaryRestarted(this.app.name);
        else this.observer?.primaryHung(this.app.name);
        return;
      case 'settle':
        this.settleDone();
        return;
    }
  }

  private cancel(timer: PrimaryTimer): void {
    this.timers.get(timer)?.();
    this.timers.delete(timer);
  }

  private send(op: 'start' | 'stop' | 'kill'): void {
    if (!this.child) return;
    if (op !== 'start') {
      this.link.sendNow({ op }, () => {});
      return;
    }
    const app = this.deployed.forStart(this.app);
    const start = { op: 'start' as const, app, logFormat: this.logFormat };
    this.link.sendNow(start, (outcome) => this.dispatch({ type: 'start answered', outcome }));
  }

  private spawn(): void {
    const generation = ++this.generation;
    this.link.respawned();
    const mine = (event: () => PrimaryEvent, where: string) => {
      if (generation === this.generation) this.dispatch(event(), where);
    };
    try {
      this.child = this.fx.spawn({
        message: (message) => {
          if (generation === this.generation)
            this.contain('a message from its primary', () => takeMessage(this.messages, message));
        },
        exit: (code, signal, failure) =>
          mine(() => ({ type: 'exited', code, signal, failure }), 'the exit of its primary'),
        output: (chunk) => this.output.add(chunk),
        error: (error) => {
          if (generation === this.generation)
            this.contain('its primary', () =>
              this.log.error({ app: this.app.name, err: error }, `primary: ${error.message}`),
            );
        },
      });
    } catch (error) {
      this.child = null;
      this.run({
        type: 'exited',
        code: null,
        signal: null,
        failure: `could not start: ${errorMessage(error)}`,
      });
      return;
    }
    this.run({ type: 'spawned', pid: this.child.pid });
  }
}
