// One worker slot (NODE_APP_INSTANCE) of a pool as a pure step function: (snapshot, event, context) ->
// (snapshot, effects). The snapshot is the slot's whole state (its machine state, its worker, its
// successor during a reload, its failed starts in a row, its scheduled restart, why its last worker
// ended, the settings its workers run); events are what happened to it; effects are data the pool
// carries out (fork, drain, timers, reports) or routes (to the reload that waits, to the app).
// Snapshots are frozen and sealed: only this module makes them, so a slot changes only by a step.
import type { ResolvedApp, ResolvedRestart } from '../../config/resolved.js';
import { assertTransition } from '../../lifecycle/machine.js';
import { decideRestart, type Exit } from '../../lifecycle/policy.js';
import { type AppState, SLOT_TRANSITIONS, type SlotState } from '../../lifecycle/states.js';
import type { PrimaryMessage } from '../../protocol.js';

declare const sealed: unique symbol;

export interface SlotSnapshot<W> {
  readonly id: number;
  readonly state: SlotState;
  /** The worker serving the slot, or on its way up to. */
  readonly worker: W | null;
  /** Its successor during a rolling reload, until promoted or rolled back. */
  readonly successor: W | null;
  /** Failed starts in a row since its worker was last stable: the backoff and the crash-loop limit. */
  readonly failedStarts: number;
  /** The delay of the restart it waits for, while one is scheduled (state `backoff`). */
  readonly restartIn: number | null;
  /** Why its last worker ended. */
  readonly lastExit: string | null;
  /** The settings its worker runs (and a restart uses): a failed reload's never reach an old worker. */
  readonly app: ResolvedApp;
  /**
   * Its successor's settings; in `recreating`, also the sign that `worker` is the old one, draining,
   * and the replacement starts on these once it has exited.
   */
  readonly next: ResolvedApp | null;
  readonly [sealed]: true;
}

export type Role = 'worker' | 'successor';

export type SlotEvent<W> =
  /** The worker a `fork` effect asked for exists. */
  | { type: 'forked'; worker: W; role: Role }
  | { type: 'ready'; worker: W }
  /** `exit` null: it was stopped as asked (a drain), which decides nothing. */
  | { type: 'exited'; worker: W; exit: Exit | null; reason: string }
  | { type: 'backoff-over' }
  /** A reload reached the slot: a successor beside a serving worker, else a restart now. */
  | { type: 'replace'; by: string; app: ResolvedApp | null }
  | { type: 'promote'; successor: W; by: string }
  /** Its reload failed elsewhere: the successor is stopped, the old worker keeps serving. */
  | { type: 'roll-back'; successor: W }
  /** Scaled down or stopping: its workers drain and it never starts another. */
  | { type: 'remove'; reason: string }
  | { type: 'app-errored' }
  /** A reload gives an errored app a fresh restart budget. */
  | { type: 'new-budget' };

export type SlotEffect<W> =
  | { type: 'fork'; role: Role; app: ResolvedApp }
  | { type: 'drain'; worker: W; reason: string }
  | { type: 'schedule'; delay: number }
  | { type: 'cancel' }
  | { type: 'report'; message: PrimaryMessage }
  /** The crash-loop limit: the app errors (the pool then sends every slot `app-errored`). */
  | { type: 'give-up'; reason: string }
  /** Its successor is its worker now (the old one died): the reload waits for it as a restart. */
  | { type: 'took-over'; worker: W }
  /** A recreating slot's replacement, started once its old worker exited: the reload waits for it. */
  | { type: 'recreated'; worker: W }
  /** A worker died that a reload may wait for: the reload fails if it does. */
  | { type: 'lost'; worker: W; reason: string };

export interface SlotContext<W> {
  /** The app's state: a stopping app restarts nothing, an errored one nothing more. */
  readonly app: AppState;
  readonly restart: ResolvedRestart;
  isReady(worker: W): boolean;
}

export interface SlotStep<W> {
  readonly snapshot: SlotSnapshot<W>;
  readonly effects: readonly SlotEffect<W>[];
}

type Draft<W> = { -readonly [K in Exclude<keyof SlotSnapshot<W>, typeof sealed>]: SlotSnapshot<W>[K] } & {
  effects: SlotEffect<W>[];
};

function done<W>({ effects, ...fields }: Draft<W>): SlotStep<W> {
  return { snapshot: Object.freeze(fields) as SlotSnapshot<W>, effects };
}

/** A new slot (app start, scale-up): its first worker is forked. */
export function createSlot<W>(id: number, app: ResolvedApp): SlotStep<W> {
  return done<W>({
    id,
    state: 'starting',
    worker: null,
    successor: null,
    failedStarts: 0,
    restartIn: null,
    lastExit: null,
    app,
    next: null,
    effects: [{ type: 'fork', role: 'worker', app }],
  });
}

export function slotStep<W>(slot: SlotSnapshot<W>, event: SlotEvent<W>, ctx: SlotContext<W>): SlotStep<W> {
  const d: Draft<W> = { ...slot, effects: [] };
  switch (event.type) {
    case 'forked':
      if (event.role === 'worker') {
        d.worker = event.worker;
        if (d.state === 'recreating') d.effects.push({ type: 'recreated', worker: event.worker });
      } else {
        if (d.state !== 'replacing' || d.successor !== null)
          throw new Error(`slot ${d.id}: a successor forked while ${d.state}`);
        d.successor = event.worker;
      }
      break;
    case 'ready':
      if (event.worker === d.worker && (d.state === 'starting' || d.state === 'restarting' || recreated(d))) {
        to(d, 'serving');
        d.lastExit = null;
      }
      break;
    case 'exited':
      exited(d, event.worker, event.exit, event.reason, ctx);
      break;
    case 'backoff-over':
      // A restart cancelled meanwhile (a reload, a stop) may still fire once: it is late, not due.
      if (d.state !== 'backoff' || d.restartIn === null) break;
      d.restartIn = null;
      to(d, 'restarting', 'backoff over');
      d.effects.push({ type: 'fork', role: 'worker', app: d.app });
      break;
    case 'replace':
      replace(d, event.by, event.app);
      break;
    case 'promote': {
      if (event.successor !== d.successor) break;
      const old = d.worker;
      d.worker = d.successor;
      d.successor = null;
      d.app = d.next ?? d.app;
      d.next = null;
      d.failedStarts = 0;
      to(d, 'serving', 'promoted');
      if (old) d.effects.push({ type: 'drain', worker: old, reason: `replaced by ${event.by}` });
      break;
    }
    case 'roll-back':
      if (event.successor !== d.successor) break;
      dropSuccessor(d);
      d.effects.push({ type: 'drain', worker: event.successor, reason: 'reload failed' });
      break;
    case 'remove':
      if (d.state === 'removed') break;
      cancelRestart(d);
      to(d, 'removed', event.reason);
      for (const worker of [d.worker, d.successor])
        if (worker !== null) d.effects.push({ type: 'drain', worker, reason: event.reason });
      d.worker = null;
      d.successor = null;
      d.next = null;
      break;
    case 'app-errored':
      if (d.state !== 'backoff') break;
      cancelRestart(d);
      to(d, 'finished', 'the app errored');
      break;
    case 'new-budget':
      d.failedStarts = 0;
      break;
  }
  return done(d);
}

// A recreating slot whose old worker has exited: its worker, if any, is the replacement.
function recreated<W>(d: Draft<W>): boolean {
  return d.state === 'recreating' && d.next === null;
}

function to<W>(d: Draft<W>, state: SlotState, reason?: string): void {
  if (d.state === state) return;
  assertTransition('slot', SLOT_TRANSITIONS, d.state, state);
  d.effects.push({
    type: 'report',
    message: { type: 'slot', slot: d.id, from: d.state, to: state, ...(reason ? { reason } : {}) },
  });
  d.state = state;
}

function cancelRestart<W>(d: Draft<W>): void {
  if (d.restartIn === null) return;
  d.restartIn = null;
  d.effects.push({ type: 'cancel' });
}

// The one rollback of a successor, whether it died or its reload failed elsewhere: the slot's own
// worker serves on, on its own settings.
function dropSuccessor<W>(d: Draft<W>): void {
  d.successor = null;
  d.next = null;
  if (d.state === 'replacing') to(d, 'serving', 'reload failed');
}

function exited<W>(d: Draft<W>, worker: W, exit: Exit | null, reason: string, ctx: SlotContext<W>): void {
  if (worker === d.successor) {
    // A new version that dies, before or after it was ready, fails the reload; the slot's own worker
    // still serves. It is not a restart of the app.
    dropSuccessor(d);
    d.effects.push({ type: 'lost', worker, reason });
    return;
  }
  if (worker !== d.worker) return;
  d.worker = null;
  if (d.state === 'recreating' && d.next !== null) {
    // Its old worker is gone (drained as asked, or it died meanwhile: the same to the slot): the port it
    // held is free, and its replacement starts.
    d.app = d.next;
    d.next = null;
    d.effects.push({ type: 'fork', role: 'worker', app: d.app });
    return;
  }
  // Stopped as asked: only the step asks a held worker to drain, and it lets go of it in the same step
  // (promote, roll-back, remove, replace), so this is a worker the slot no longer counted on; a
  // recreating slot's old worker, the one it keeps, was handled above.
  if (exit === null) return;
  d.lastExit = reason;
  const successor = d.successor;
  if (successor !== null) {
    // Its successor (rolling reload) is on the way: it takes the slot over.
    d.worker = successor;
    d.successor = null;
    d.app = d.next ?? d.app;
    d.next = null;
    to(d, ctx.isReady(successor) ? 'serving' : 'restarting', reason);
    d.effects.push({ type: 'took-over', worker: successor });
    return;
  }
  restartOrGiveUp(d, exit, reason, ctx);
  // A slot a reload restarted (it was not serving) fails that reload too.
  d.effects.push({ type: 'lost', worker, reason });
}

function restartOrGiveUp<W>(d: Draft<W>, exit: Exit, reason: string, ctx: SlotContext<W>): void {
  if (ctx.app === 'stopping' || ctx.app === 'stopped') return;
  if (ctx.app === 'errored') {
    to(d, 'finished', reason);
    return;
  }
  // The crash-loop limit is per slot: its failed starts in a row, as its backoff (lifecycle/policy.ts).
  const decision = decideRestart(ctx.restart, exit, d.failedStarts);
  if (decision.action === 'restart') {
    d.failedStarts = decision.failedStarts;
    to(d, 'backoff', reason);
    d.effects.push({
      type: 'report',
      message: { type: 'backoff', worker: d.id, delay: decision.delay, failedStarts: d.failedStarts },
    });
    d.restartIn = decision.delay;
    d.effects.push({ type: 'schedule', delay: decision.delay });
    return;
  }
  to(d, 'finished', decision.reason);
  // Past the crash-loop limit nothing of the app restarts any more; workers still serving keep serving:
  // stopping them would turn one bad slot into an outage.
  if (decision.action === 'errored') d.effects.push({ type: 'give-up', reason: decision.reason });
}

// A reload reached the slot. Serving, it gets a successor, or with `reload.order` "stop-first" its worker
// drains first and the replacement starts once it has exited; otherwise it has no capacity to keep, and
// restarts at once on the reload's settings (its scheduled restart cancelled, a starting worker drained).
function replace<W>(d: Draft<W>, by: string, app: ResolvedApp | null): void {
  if (d.state === 'serving' && (app ?? d.app).reload.order === 'stop-first' && d.worker !== null) {
    to(d, 'recreating', by);
    d.next = app ?? d.app;
    d.effects.push({ type: 'drain', worker: d.worker, reason: `replaced by ${by} (stop-first)` });
    return;
  }
  if (d.state === 'recreating') {
    // A failed reload left it on its way (stop-first has no old worker to roll back to): this reload
    // takes it over. A replacement still starting drains first, as the old worker did.
    const next = app ?? d.next ?? d.app;
    if (d.next === null && d.worker !== null)
      d.effects.push({ type: 'drain', worker: d.worker, reason: `replaced by ${by} (stop-first)` });
    d.next = next;
    if (d.worker === null) {
      d.app = next;
      d.next = null;
      d.effects.push({ type: 'fork', role: 'worker', app: d.app });
    }
    return;
  }
  if (d.state === 'serving') {
    to(d, 'replacing', by);
    d.next = app ?? d.app;
    d.effects.push({ type: 'fork', role: 'successor', app: d.next });
    return;
  }
  if (d.state === 'replacing' || d.state === 'removed')
    throw new Error(`slot ${d.id}: a reload reached it while ${d.state}`);
  cancelRestart(d);
  if (d.worker !== null)
    d.effects.push({ type: 'drain', worker: d.worker, reason: 'replaced by a rolling reload' });
  d.worker = null;
  // One that finished (crash-loop limit, a clean exit) starts again as if new.
  if (d.state === 'finished') to(d, 'starting', 'rolling reload');
  else if (d.state !== 'starting') to(d, 'restarting', 'rolling reload');
  d.app = app ?? d.app;
  d.effects.push({ type: 'fork', role: 'worker', app: d.app });
}
