// An app's primary as the root sees it, as one pure step: (snapshot, event, context) -> (snapshot,
// effects). The snapshot is everything the root decides from: the primary's state, the app state it
// reported last (or what the root knows better), why, its failed starts in a row, and its ping watch.
// The runner (app-runner.ts) only turns process events, timers and answers into events, and carries out
// the effects, in order; nothing else writes a snapshot. The states and their transitions are
// PRIMARY_TRANSITIONS (lifecycle/states.ts), asserted at every change, and drawn in docs/architecture.md;
// the snapshot, events and effects are declared in primary-machine.ts.
import { ErrorCode } from '../errors.js';
import { assertTransition } from '../lifecycle/machine.js';
import { describeExit } from '../lifecycle/policy.js';
import { decidePrimaryRestart, type PrimaryExit } from '../lifecycle/primary-policy.js';
import { PRIMARY_TRANSITIONS, type PrimaryState } from '../lifecycle/states.js';
import { failed, PROTOCOL_VERSION } from '../protocol.js';
import {
  ALIVE,
  KILL_GRACE_MS,
  type PrimaryContext,
  type PrimaryEffect,
  type PrimaryEvent,
  type PrimarySnapshot,
  type PrimaryStep,
  pingInterval,
} from './primary-machine.js';

export function primaryStep(s: PrimarySnapshot, event: PrimaryEvent, ctx: PrimaryContext): PrimaryStep {
  const step = new Step(s, ctx);
  step.on(event);
  return { snapshot: step.s, effects: step.effects };
}

// One step's working state: the snapshot as it changes, and the effects in the order they are to run.
class Step {
  readonly effects: PrimaryEffect[] = [];

  constructor(
    public s: PrimarySnapshot,
    private readonly ctx: PrimaryContext,
  ) {}

  private do(...effects: PrimaryEffect[]): void {
    this.effects.push(...effects);
  }

  private set(changes: Partial<PrimarySnapshot>): void {
    this.s = { ...this.s, ...changes };
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) {
    this.do({ type: 'log', level, fields: { app: this.ctx.app, ...fields }, msg });
  }

  // The one place the state changes: asserted against the table, and logged.
  private to(to: PrimaryState, reason?: string): void {
    const from = this.s.state;
    if (to === from) return;
    assertTransition('primary', PRIMARY_TRANSITIONS, from, to);
    this.set({ state: to });
    this.log('debug', { primaryFrom: from, primaryTo: to, reason }, `primary ${to}`);
  }

  private spawn(): void {
    this.set({ startedAt: this.ctx.now, pingSince: null, hung: null, killing: false });
    this.do({ type: 'spawn' });
  }

  on(event: PrimaryEvent): void {
    switch (event.type) {
      case 'start':
        if (this.s.state === 'spawning') this.spawn();
        return;
      case 'spawned':
        this.log('info', { primary: event.pid }, `primary started (pid ${event.pid})`);
        return;
      case 'hello':
        this.hello(event.version);
        return;
      case 'report':
        this.set({ app: event.to, reason: event.reason });
        return;
      case 'bye':
        if (this.s.state === 'running') {
          this.to('exiting');
          this.do({ type: 'cancel', timer: 'ping' });
        }
        return;
      case 'exited':
        this.exited(event);
        return;
      case 'backoff over':
        if (this.s.state !== 'backoff') return;
        this.to('spawning');
        this.spawn();
        return;
      case 'stop asked':
        this.stop();
        return;
      case 'kill asked':
        this.stop();
        if (this.s.state !== 'stopping') return;
        this.do({ type: 'send', op: 'kill' });
        if (!this.s.killing) {
          this.set({ killing: true });
          this.do({ type: 'schedule', timer: 'kill', delay: KILL_GRACE_MS });
        }
        return;
      case 'kill grace over':
        if (ALIVE.includes(this.s.state)) this.do({ type: 'signal', signal: 'SIGKILL' });
        return;
      case 'ping sent':
        if (this.s.state === 'running' && this.s.pingSince === null) this.set({ pingSince: this.ctx.now });
        return;
      case 'ping answered':
        this.set({ pingSince: null });
        return;
      case 'ping due':
        this.pingDue();
        return;
      case 'start answered':
        // A primary that dies before its app runs is restarted: the next one's start answers, unless
        // the app ends (the restart policy gave up, a stop).
        if (this.s.state !== 'backoff') this.do({ type: 'answer start', outcome: event.outcome });
        return;
      case 'fault':
        this.fault(event.where, event.error, event.message);
        return;
    }
  }

  private hello(version: number): void {
    if (version !== PROTOCOL_VERSION) {
      this.log('error', {}, `primary speaks protocol ${version}, expected ${PROTOCOL_VERSION}`);
      this.do({ type: 'signal', signal: 'SIGKILL' });
      return;
    }
    if (this.s.state === 'stopping') {
      this.do({ type: 'send', op: 'stop' });
      return;
    }
    if (this.s.state !== 'spawning') return;
    this.to('running');
    this.do({ type: 'send', op: 'start' }, { type: 'release held' });
    const { hangTimeout } = this.ctx;
    if (hangTimeout !== null) this.do({ type: 'schedule', timer: 'ping', delay: pingInterval(hangTimeout) });
  }

  // The hang watch: one ping on its way at a time; a running primary that leaves it unanswered for
  // `hangTimeout` has a blocked event loop, and is killed with its workers and restarted.
  private pingDue(): void {
    const { hangTimeout, now } = this.ctx;
    if (this.s.state !== 'running' || hangTimeout === null || this.s.hung !== null) return;
    const interval = pingInterval(hangTimeout);
    if (this.s.pingSince === null) {
      this.set({ pingSince: now });
      this.do({ type: 'ping' }, { type: 'schedule', timer: 'ping', delay: Math.min(interval, hangTimeout) });
      return;
    }
    const silent = now - this.s.pingSince;
    if (silent < hangTimeout) {
      this.do({ type: 'schedule', timer: 'ping', delay: Math.min(interval, hangTimeout - silent) });
      return;
    }
    this.set({ hung: `hung: no answer to pings for ${silent} ms` });
    this.log(
      'error',
      { code: ErrorCode.PRIMARY_HUNG, silentMs: silent, hangTimeout },
      `the primary of app ${this.ctx.app} has not answered pings for ${silent} ms (primary.hangTimeout ${hangTimeout} ms): its event loop is blocked; killing it and its workers, then restarting it`,
    );
    this.do({ type: 'count', what: 'hang' }, { type: 'signal', signal: 'SIGKILL' });
  }

  private stop(): void {
    switch (this.s.state) {
      case 'backoff':
        this.do({ type: 'cancel', timer: 'restart' });
        this.to('stopped', 'stop requested');
        this.set({ app: 'stopped' });
        // The start of a primary that died on its way was left to the next one: there is none now.
        this.do({ type: 'answer start', outcome: failed(ErrorCode.APP_STOPPING, 'the app stopped') });
        this.do({ type: 'settle' });
        return;
      case 'spawning':
        // Told to stop once it says hello: before that, it may not be listening yet.
        this.to('stopping', 'stop requested');
        this.do({
          type: 'refuse held',
          failure: { code: ErrorCode.APP_STOPPING, reason: 'the app is stopping' },
        });
        return;
      case 'running':
        this.to('stopping', 'stop requested');
        this.do({ type: 'cancel', timer: 'ping' }, { type: 'send', op: 'stop' });
        return;
      default:
        return;
    }
  }

  private exited(event: Extract<PrimaryEvent, { type: 'exited' }>): void {
    const reason = event.failure ?? this.s.hung ?? undefined;
    const exit: PrimaryExit = {
      code: event.code,
      signal: event.signal,
      uptime: this.ctx.now - this.s.startedAt,
      ...(reason ? { reason } : {}),
    };
    if (this.s.killing) this.do({ type: 'cancel', timer: 'kill' });
    this.set({ pingSince: null, killing: false });
    this.do({ type: 'cancel', timer: 'ping' }, { type: 'clear leftovers' });
    switch (this.s.state) {
      case 'stopping':
        this.to('stopped');
        if (this.s.app !== 'errored') this.set({ app: 'stopped' });
        this.end(ErrorCode.APP_STOPPING, 'the app stopped');
        return;
      case 'exiting':
        this.to(this.s.app === 'errored' ? 'errored' : 'stopped');
        this.end(ErrorCode.APP_ENDED, `the app ended (${this.s.app})`);
        return;
      case 'spawning':
      case 'running':
        this.died(exit);
        return;
      default:
        return;
    }
  }

  // The primary has ended for good: what is pending, the start too, is answered with why.
  private end(code: ErrorCode, reason: string, exited?: { how: string; after: string }): void {
    this.do(
      { type: 'refuse pending', code, reason, ...(exited ? { exited } : {}) },
      {
        type: 'answer start',
        outcome: failed(code === ErrorCode.APP_STOPPING ? code : ErrorCode.START_FAILED, reason),
      },
      { type: 'settle' },
    );
  }

  // A primary never ends on its own unless its app is done: any other exit is a failure.
  private died(exit: PrimaryExit): void {
    const how = describeExit(exit);
    const decision = decidePrimaryRestart(this.ctx.restart, exit, this.s.failedStarts);
    const from = this.s.app;
    if (decision.action !== 'restart') {
      const reason = `primary ${decision.reason}`;
      this.set({ app: 'errored', reason });
      this.to('errored', reason);
      this.log('error', { from, to: 'errored', reason: decision.reason }, `app errored: ${reason}`);
      this.end(ErrorCode.PRIMARY_EXITED, reason, { how, after: 'the app is errored' });
      return;
    }
    this.set({ failedStarts: decision.failedStarts, app: 'backoff', reason: how });
    this.do({ type: 'count', what: 'restart' });
    this.to('backoff', how);
    this.log(
      'error',
      { code: exit.code, signal: exit.signal, delay: decision.delay },
      `primary exited unexpectedly (${how}), restarting in ${decision.delay} ms`,
    );
    this.do(
      {
        type: 'refuse pending',
        code: ErrorCode.PRIMARY_EXITED,
        reason: how,
        exited: { how, after: `it restarts in ${decision.delay} ms with the code on disk` },
      },
      { type: 'schedule', timer: 'restart', delay: decision.delay },
    );
  }

  private fault(where: string, error: unknown, message: string): void {
    const alive = ALIVE.includes(this.s.state);
    // The log line comes last: should logging be what fails, the app is still restarted or given up.
    const logged = () =>
      this.log(
        'error',
        { code: ErrorCode.INTERNAL, err: error },
        `internal error in ${where} for app ${this.ctx.app}: ${message}; ${alive ? 'restarting its primary' : 'giving up on it'}`,
      );
    // Its exit restarts it, by the primary's restart policy (so a fault on every start ends in errored).
    if (alive) {
      this.do({ type: 'signal', signal: 'SIGKILL' });
      logged();
      return;
    }
    // The fault was in handling an exit or a restart, with no primary left: the app is given up rather
    // than looped on; the other apps are not touched.
    this.do({ type: 'cancel', timer: 'restart' });
    const reason = `internal error: ${message}`;
    this.set({ reason });
    if (this.s.state === 'backoff') {
      this.set({ app: 'errored' });
      this.to('errored', reason);
    }
    this.end(ErrorCode.INTERNAL, reason);
    logged();
  }
}
