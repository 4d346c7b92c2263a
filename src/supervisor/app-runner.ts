// The root's side of one app: its primary's lifecycle (spawning -> running -> ..., see lifecycle/states.ts),
// the requests sent to it, each with an id and answered exactly once (whatever is pending when the
// primary exits is answered with the reason), restarts of a primary that dies (the app's backoff and
// crash-loop rules), and what the primary reports, logged. The process itself is behind
// `RunnerEffects`, so all of this runs against a fake primary in the tests; primary-process.ts forks the
// real one (app-view.ts says what it all looks like from outside). A fault in any handler here is
// contained: it is logged and restarts this app's primary only.
import type { ResolvedApp } from '../config/resolved.js';
import { ErrorCode, errorMessage, type Failure } from '../errors.js';
import { canTransition, Lifecycle } from '../lifecycle/machine.js';
import { decideRestart, describeExit, type Exit } from '../lifecycle/policy.js';
import { type AppState, PRIMARY_TRANSITIONS, type PrimaryState } from '../lifecycle/states.js';
import type { Logger } from '../log/logger.js';
import {
  failed,
  isPrimaryMessage,
  type LogFormat,
  type Op,
  type OpResults,
  type Outcome,
  PROTOCOL_VERSION,
  type PrimaryMessage,
  type PrimaryRequest,
} from '../protocol.js';
import { appStateOf, refusalOf } from './app-view.js';
import { killLeftovers } from './leftovers.js';
import type { PrimaryChild, RunnerEffects } from './primary-process.js';
import { RecentOutput } from './recent-output.js';
import { logReport, type RunnerObserver } from './reports.js';
import { exitedBefore, Requests } from './requests.js';

import { WorkersView } from './workers-view.js';

/** A primary told to kill its workers that has not exited after this long is SIGKILLed itself. */
const KILL_GRACE_MS = 1_000;

type Request = Exclude<PrimaryRequest, { op: 'start' }>;

export class AppRunner {
  readonly primary: Lifecycle<PrimaryState>;
  readonly workers: WorkersView;
  /** The app's recent output, and its `logs --follow` listeners. */
  readonly output = new RecentOutput();
  /** The answer to the app's first start: every slot served, or why not. */
  readonly started: Promise<Outcome<OpResults['start']>>;
  /** Resolves once the primary has ended for good (stopped, or errored). */
  readonly done: Promise<void>;
  /** The app state its primary reported last (or what the root knows better: the primary died). */
  private reported: AppState = 'starting';
  private reason: string | undefined;
  private child: PrimaryChild | null = null;
  /** Which spawn the events belong to: those of an older primary are ignored. */
  private generation = 0;
  private startedAt = 0;
  /** The primary's failed starts in a row (lifecycle/policy.ts): its backoff and crash-loop limit. */
  private failedStarts = 0;
  private cancelRestart: (() => void) | null = null;
  private cancelKill: (() => void) | null = null;
  private readonly requests = new Requests();
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
    this.primary = new Lifecycle('primary', PRIMARY_TRANSITIONS, 'spawning', (from, to, { reason }) =>
      this.log.debug({ app: app.name, primaryFrom: from, primaryTo: to, reason }, `primary ${to}`),
    );
    this.started = new Promise((resolve) => {
      this.answerStart = resolve;
    });
    this.done = new Promise((resolve) => {
      this.settleDone = resolve;
    });
  }

  /** The app's state, as `status` shows it. */
  get state(): AppState {
    return appStateOf(this.primary.state, this.reported);
  }

  /** True once the primary has ended for good. */
  get settled(): boolean {
    return this.primary.is('stopped', 'errored');
  }

  get primaryPid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Forks the primary; its hello is answered with the app's settings. */
  start(): void {
    this.contain('start', () => this.spawn());
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
      if (this.primary.is('spawning')) this.requests.hold(message);
      else this.child?.send(message);
    });
  }

  /** Resolves once the primary answers a ping (or refuses it: it is not running now); never rejects. */
  ping(): Promise<Outcome<OpResults['ping']>> {
    return this.request({ op: 'ping' });
  }

  /** Rolling reload onto the current settings. */
  reload(): Promise<Outcome<OpResults['reload']>> {
    return this.request({ op: 'reload', app: this.app });
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
  update(app: ResolvedApp, instancesChanged: boolean): Promise<Outcome[]> {
    const runtime = this.app.instances;
    const target = instancesChanged ? app.instances : runtime;
    if (this.refusal() !== null) {
      this.app = { ...app, instances: target };
      return Promise.resolve([]);
    }
    this.app = { ...app, instances: runtime };
    const outcomes: Promise<Outcome>[] = [this.reload()];
    if (target !== runtime) outcomes.push(this.scale(target));
    return Promise.all(outcomes);
  }

  /** Graceful stop; resolves when the primary has stopped its workers and exited. */
  stop(): Promise<void> {
    this.contain('stop', () => {
      switch (this.primary.state) {
        case 'backoff':
          this.cancelRestart?.();
          this.cancelRestart = null;
          this.primary.to('stopped', { reason: 'stop requested' });
          this.reported = 'stopped';
          this.settleDone();
          return;
        case 'spawning':
          // Told to stop once it says hello: before that, it may not be listening yet.
          this.primary.to('stopping', { reason: 'stop requested' });
          this.requests.refuseHeld(ErrorCode.APP_STOPPING, 'the app is stopping');
          return;
        case 'running':
          this.primary.to('stopping', { reason: 'stop requested' });
          this.child?.send(this.requests.track({ op: 'stop' }, () => {}));
          return;
        default:
          return;
      }
    });
    return this.done;
  }

  /** Immediate stop: the primary SIGKILLs its workers; a primary that does not exit is killed too. */
  kill(): Promise<void> {
    void this.stop();
    const child = this.child;
    if (child && this.primary.is('stopping')) {
      child.send(this.requests.track({ op: 'kill' }, () => {}));
      this.cancelKill ??= this.fx.timer(KILL_GRACE_MS, () => child.kill('SIGKILL'));
    }
    return this.done;
  }

  private refusal(): Failure | null {
    return refusalOf(this.primary.state, this.reported, this.reason);
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
    const message = errorMessage(error);
    const child = this.child;
    this.log.error(
      { app: this.app.name, code: ErrorCode.INTERNAL, err: error },
      `internal error in ${where} for app ${this.app.name}: ${message}; ${child ? 'restarting its primary' : 'giving up on it'}`,
    );
    // Its exit restarts it, by the primary's restart policy (so a fault on every start ends in errored).
    if (child) {
      child.kill('SIGKILL');
      return;
    }
    // The fault was in handling an exit or a restart, with no primary left: the app is given up rather
    // than looped on; the other apps are not touched.
    this.cancelRestart?.();
    this.cancelRestart = null;
    const end = canTransition(PRIMARY_TRANSITIONS, this.primary.state, 'errored') ? 'errored' : 'stopped';
    this.reason = `internal error: ${message}`;
    if (!this.settled) this.primary.to(end, { reason: this.reason });
    this.end(ErrorCode.INTERNAL, this.reason);
  }

  private spawn(): void {
    const generation = ++this.generation;
    const mine = (where: string, fn: () => void) => {
      if (generation === this.generation) this.contain(where, fn);
    };
    this.startedAt = this.fx.now();
    try {
      this.child = this.fx.spawn({
        message: (message) => mine('a message from its primary', () => this.onMessage(message)),
        exit: (code, signal, failure) =>
          mine('the exit of its primary', () => this.onExit(code, signal, failure)),
        output: (chunk) => this.output.add(chunk),
        error: (error) =>
          mine('its primary', () =>
            this.log.error({ app: this.app.name, err: error }, `primary: ${error.message}`),
          ),
      });
    } catch (error) {
      const failure = `could not start: ${errorMessage(error)}`;
      this.child = null;
      this.onExit(null, null, failure);
      return;
    }
    this.log.info({ app: this.app.name, primary: this.child.pid }, `primary started (pid ${this.child.pid})`);
  }

  private onHello(version: number): void {
    const child = this.child;
    if (!child) return;
    if (version !== PROTOCOL_VERSION) {
      this.log.error(
        { app: this.app.name },
        `primary speaks protocol ${version}, expected ${PROTOCOL_VERSION}`,
      );
      child.kill('SIGKILL');
      return;
    }
    if (this.primary.is('stopping')) {
      child.send(this.requests.track({ op: 'stop' }, () => {}));
      return;
    }
    if (!this.primary.is('spawning')) return;
    this.primary.to('running');
    const start = { op: 'start' as const, app: this.app, logFormat: this.logFormat };
    // A primary that dies before its app runs is restarted: the next one's start answers, unless the
    // app ends (the restart policy gave up).
    const answer = (outcome: Outcome) => {
      if (!this.primary.is('backoff')) this.answerStart(outcome as Outcome<OpResults['start']>);
    };
    child.send(this.requests.track(start, answer));
    for (const message of this.requests.release()) child.send(message);
  }

  private onMessage(raw: unknown): void {
    if (!isPrimaryMessage(raw)) {
      this.log.warn({ app: this.app.name }, 'ignored an unknown message from the primary');
      return;
    }
    const message: PrimaryMessage = raw;
    switch (message.type) {
      case 'hello':
        this.onHello(message.version);
        return;
      case 'reply':
        if (!this.requests.answer(message.id, message.outcome))
          this.log.warn({ app: this.app.name, id: message.id }, 'a reply to no pending request');
        return;
      case 'app':
        this.reported = message.to;
        this.reason = message.reason;
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
      case 'connections':
        // Shown by status; a count every second of a long drain is not news for the log.
        this.workers.connections(message.pid, message.open);
        return;
      case 'bye':
        if (this.primary.is('running')) this.primary.to('exiting');
        return;
      default:
        break;
    }
    logReport(this.log, this.app.name, message);
    this.observer?.report(this.app.name, message);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, failure?: string): void {
    const group = this.child?.pid ?? null;
    this.child = null;
    this.cancelKill?.();
    this.cancelKill = null;
    killLeftovers(this.fx, this.log, this.app.name, this.workers, group);
    const exit = {
      code,
      signal,
      uptime: this.fx.now() - this.startedAt,
      ...(failure ? { reason: failure } : {}),
    };
    const how = describeExit(exit);
    switch (this.primary.state) {
      case 'stopping':
        this.primary.to('stopped');
        if (this.reported !== 'errored') this.reported = 'stopped';
        this.end(ErrorCode.APP_STOPPING, 'the app stopped');
        return;
      case 'exiting':
        this.primary.to(this.reported === 'errored' ? 'errored' : 'stopped');
        this.end(ErrorCode.APP_ENDED, `the app ended (${this.reported})`);
        return;
      case 'spawning':
      case 'running':
        this.died(exit, how);
        return;
      default:
        return;
    }
  }

  // The primary has ended for good: what is pending, the start too, is answered with why.
  private end(code: ErrorCode, reason: string, why: (op: Op) => string = () => reason): void {
    this.requests.refuseAll(code, why);
    this.answerStart(failed(code === ErrorCode.APP_STOPPING ? code : ErrorCode.START_FAILED, reason));
    this.settleDone();
  }

  // A primary never ends on its own unless its app is done: any other exit is a failure.
  // A primary has no readiness of its own: its start failed when it exited before stableAfter. A SIGKILL
  // of it counts too (not an outside kill of a worker): a fault of ours that repeats must end.
  private died(exit: Exit, how: string): void {
    const decision = decideRestart(
      { ...this.app.restart, policy: 'always', noRestartExitCodes: [] },
      exit,
      this.failedStarts,
    );
    const app = this.app.name;
    const from = this.reported;
    if (decision.action !== 'restart') {
      this.reason = `primary ${decision.reason}`;
      this.reported = 'errored';
      this.primary.to('errored', { reason: this.reason });
      this.log.error({ app, from, to: 'errored', reason: decision.reason }, `app errored: ${this.reason}`);
      this.end(ErrorCode.PRIMARY_EXITED, this.reason, exitedBefore(how, 'the app is errored'));
      return;
    }
    this.failedStarts = decision.failedStarts;
    this.observer?.primaryRestarted(this.app.name);
    this.reason = how;
    this.reported = 'backoff';
    this.primary.to('backoff', { reason: how });
    this.log.error(
      { app, code: exit.code, signal: exit.signal, delay: decision.delay },
      `primary exited unexpectedly (${how}), restarting in ${decision.delay} ms`,
    );
    this.requests.refuseAll(
      ErrorCode.PRIMARY_EXITED,
      exitedBefore(how, `it restarts in ${decision.delay} ms with the code on disk`),
    );
    this.cancelRestart = this.fx.timer(decision.delay, () =>
      this.contain('a restart of its primary', () => {
        this.cancelRestart = null;
        this.primary.to('spawning');
        this.spawn();
      }),
    );
  }
}
