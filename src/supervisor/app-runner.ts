// The root's side of one app: it turns what its primary process does (forked, hello, reports, exit),
// its timers and the commands into events of the primary's step (primary-step.ts, pure: the lifecycle,
// the restart policy, the hang watch), and carries out the effects the step returns. It also keeps the
// requests sent to the primary, each with an id and answered exactly once (requests.ts), and what the
// primary reports: its workers, logged. The process itself is behind `RunnerEffects`, so all of this runs
// against a fake primary in the tests; primary-process.ts forks the real one (app-view.ts says what it
// all looks like from outside). A fault in any handler here is contained: it is logged and restarts this
// app's primary only.
import type { ResolvedApp } from '../config/resolved.js';
import { ErrorCode, errorMessage, type Failure } from '../errors.js';
import type { AppState, PrimaryState } from '../lifecycle/states.js';
import type { Logger } from '../log/logger.js';
import {
  isPrimaryMessage,
  type LogFormat,
  type OpResults,
  type Outcome,
  type PrimaryMessage,
  type PrimaryRequest,
  type RootMessage,
} from '../protocol.js';
import { appStateOf, refusalOf } from './app-view.js';
import { canaryRefusalOf } from './canary-refusal.js';
import { killLeftovers } from './leftovers.js';
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
import { logReport, type RunnerObserver } from './reports.js';
import { exitedBefore, Requests } from './requests.js';
import { WorkersView } from './workers-view.js';

type Request = Exclude<PrimaryRequest, { op: 'start' }>;

/** A piece of a `stream` request's answer, before its reply. */
export type StreamPiece = Extract<PrimaryMessage, { type: 'profiling' | 'chunk' }>;

/** The failures of a reload after which the old workers still serve, on what they ran before. */
const ROLLED_BACK: ReadonlySet<string> = new Set([
  ErrorCode.RELOAD_FAILED,
  ErrorCode.CANARY_FAILED,
  ErrorCode.CANARY_INCONCLUSIVE,
]);

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
  private readonly requests = new Requests();
  /** Where the pieces of the answers under way to `stream` requests go, by request id. */
  private readonly streams = new Map<number, (piece: StreamPiece) => void>();
  /** The ping on its way to the primary: every caller (health, watchdog, hang watch) shares it. */
  private pinging: Promise<Outcome<OpResults['ping']>> | null = null;
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
    const refusal = this.refusal();
    if (refusal) return Promise.resolve({ ok: false, ...refusal });
    return new Promise((resolve) => {
      const message = this.requests.track(request, resolve as (outcome: Outcome) => void);
      if (this.s.state === 'spawning') this.requests.hold(message);
      else this.child?.send(message);
    });
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
    const refusal = this.refusal();
    if (refusal)
      return { outcome: Promise.resolve({ ok: false, ...refusal }), ack: () => {}, cancel: () => {} };
    let id = 0;
    const outcome = new Promise<Outcome<OpResults[O]>>((resolve) => {
      const message = this.requests.track(request, (outcome) => {
        this.streams.delete(id);
        resolve(outcome as Outcome<OpResults[O]>);
      });
      id = message.id;
      this.streams.set(id, piece);
      if (this.s.state === 'spawning') this.requests.hold(message);
      else this.child?.send(message);
    });
    const tell = (message: RootMessage) => {
      if (this.streams.has(id)) this.child?.send(message);
    };
    return {
      outcome,
      ack: (seq) => tell({ type: 'ack', id, seq }),
      cancel: () => tell({ type: 'cancel', id }),
    };
  }

  /**
   * Resolves once the primary answers a ping (or refuses it: it is not running now); never rejects. A
   * ping already on its way is shared: the primary answers in order, so a second one would say nothing
   * more, and the hang watch sees the pings of /livez and the watchdog too.
   */
  ping(): Promise<Outcome<OpResults['ping']>> {
    if (this.pinging) return this.pinging;
    if (this.refusal()) return this.request({ op: 'ping' });
    const generation = this.generation;
    const ping = this.request({ op: 'ping' }).then((outcome) => {
      if (this.pinging === ping) this.pinging = null;
      if (outcome.ok && generation === this.generation) this.dispatch({ type: 'ping answered' });
      return outcome;
    });
    this.pinging = ping;
    this.dispatch({ type: 'ping sent' });
    return ping;
  }

  /** The settings and release the workers run after a failed reload, for a restarted primary; null: `app`. */
  private runs: ResolvedApp | null = null;
  /** The settings the workers were last started or reloaded onto. */
  private deployed: ResolvedApp | null = null;
  /** The release the primary last said its workers run. */
  private release: { script: string; cwd: string } | null = null;

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

  // A reload onto `app`. Failed, the workers run what they ran (the primary restored it): a restarted
  // primary starts on that too, with the release they run, until a reload succeeds.
  private async deploy(
    app: ResolvedApp,
    canary: { canary?: boolean },
  ): Promise<Outcome<OpResults['reload']>> {
    const before = this.runs ?? this.deployed;
    const outcome = await this.request({ op: 'reload', app, ...canary });
    if (outcome.ok) {
      this.deployed = app;
      this.runs = null;
    } else if (ROLLED_BACK.has(outcome.code) && before && this.release) {
      this.runs = { ...before, release: this.release };
    }
    return outcome;
  }

  /** What a (re)started primary runs: the settings, or after a failed reload what the workers ran. */
  private startSettings(): ResolvedApp {
    return this.runs ? { ...this.runs, instances: this.app.instances } : this.app;
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
        for (const message of this.requests.release()) this.child?.send(message);
        return;
      case 'refuse held':
        this.requests.refuseHeld(effect.failure.code, effect.failure.reason);
        return;
      case 'refuse pending': {
        const { reason, exited } = effect;
        this.requests.refuseAll(effect.code, exited ? exitedBefore(exited.how, exited.after) : () => reason);
        return;
      }
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
    const child = this.child;
    if (!child) return;
    if (op !== 'start') {
      child.send(this.requests.track({ op }, () => {}));
      return;
    }
    const app = this.startSettings();
    if (!this.runs) this.deployed = app;
    const start = { op: 'start' as const, app, logFormat: this.logFormat };
    child.send(this.requests.track(start, (outcome) => this.dispatch({ type: 'start answered', outcome })));
  }

  private spawn(): void {
    const generation = ++this.generation;
    this.pinging = null;
    const mine = (event: () => PrimaryEvent, where: string) => {
      if (generation === this.generation) this.dispatch(event(), where);
    };
    try {
      this.child = this.fx.spawn({
        message: (message) => {
          if (generation === this.generation)
            this.contain('a message from its primary', () => this.onMessage(message));
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

  private onMessage(raw: unknown): void {
    if (!isPrimaryMessage(raw)) {
      this.log.warn({ app: this.app.name }, 'ignored an unknown message from the primary');
      return;
    }
    const message: PrimaryMessage = raw;
    switch (message.type) {
      case 'hello':
        // A new primary: the figures of the one before describe workers that are gone.
        this.figures = null;
        this.run({ type: 'hello', version: message.version });
        return;
      case 'reply':
        if (!this.requests.answer(message.id, message.outcome))
          this.log.warn({ app: this.app.name, id: message.id }, 'a reply to no pending request');
        return;
      case 'profiling':
      case 'chunk':
        this.streams.get(message.id)?.(message);
        return;
      case 'app':
        this.run({ type: 'report', to: message.to, reason: message.reason });
        break;
      case 'worker':
        this.workers.transition(message.transition);
        break;
      case 'backoff':
        this.workers.restarted(message.worker);
        break;
      case 'guard':
      case 'recycled':
        this.workers.guarded(message);
        break;
      case 'figures':
        this.figures = { at: this.fx.now(), value: { workers: message.workers, app: message.app } };
        return;
      case 'connections':
        // Shown by status; a count every second of a long drain is not news for the log.
        this.workers.connections(message.pid, message.open);
        return;
      case 'release':
        this.release = { script: message.script, cwd: message.cwd };
        return;
      case 'bye':
        this.run({ type: 'bye' });
        return;
      default:
        break;
    }
    logReport(this.log, this.app.name, message);
    this.observer?.report(this.app.name, message);
  }
}
