// Every lifecycle of clusterd, as a table of the transitions it allows (drawn in docs/architecture.md):
// a worker process, a worker slot and an app (both inside the app's primary), and the app's primary as
// the root sees it. `Lifecycle` (machine.ts) asserts each transition against these tables; a slot's are
// decided and asserted by its step function (primary/pool/slot-step.ts).
import type { Transitions } from './machine.js';

export const WORKER_STATES = ['starting', 'ready', 'draining', 'stopped', 'exited', 'crashed'] as const;
/**
 * One worker process, from fork to exit: `stopped` when clusterd stopped it, `exited` when it ended by
 * itself with exit code 0 (its work was done), `crashed` for any other end.
 */
export type WorkerState = (typeof WORKER_STATES)[number];

export const WORKER_TRANSITIONS: Transitions<WorkerState> = {
  starting: ['ready', 'draining', 'exited', 'crashed'],
  ready: ['draining', 'exited', 'crashed'],
  // Any exit of a worker being drained is its stop (a SIGKILL at shutdown.timeout included), except for
  // one stopped for not getting ready within readyTimeout: its exit is a failed start.
  draining: ['stopped', 'crashed'],
  stopped: [],
  exited: [],
  crashed: [],
};

export const SLOT_STATES = [
  'starting',
  'serving',
  'replacing',
  'recreating',
  'backoff',
  'restarting',
  'finished',
  'removed',
] as const;
/**
 * One worker slot (NODE_APP_INSTANCE), which sees many worker processes over time:
 * - `starting`: its first worker (app start, scale-up) is on its way up;
 * - `serving`: its worker is ready;
 * - `replacing`: serving, while a successor (rolling reload) gets ready beside it;
 * - `recreating`: a reload with `order: "stop-first"`: its worker drains, then its replacement starts
 *   and gets ready; the slot serves nothing meanwhile, as planned (the app is not in backoff for it);
 * - `backoff`: its worker is gone and a restart is scheduled;
 * - `restarting`: a new worker for a slot that lost its worker is on its way up;
 * - `finished`: its worker is gone and no other will start (restart policy, crash-loop limit), until a
 *   reload starts it again (`starting`);
 * - `removed`: scaled away or stopping: its workers drain and it never starts another.
 */
export type SlotState = (typeof SLOT_STATES)[number];

export const SLOT_TRANSITIONS: Transitions<SlotState> = {
  starting: ['serving', 'backoff', 'finished', 'removed'],
  serving: ['replacing', 'recreating', 'backoff', 'finished', 'removed'],
  // serving: promoted, or the reload was rolled back; restarting: its worker died and the successor
  // takes the slot over.
  replacing: ['serving', 'restarting', 'removed'],
  // serving: its replacement is ready; backoff, finished: its replacement died (the reload fails).
  recreating: ['serving', 'backoff', 'finished', 'removed'],
  backoff: ['restarting', 'finished', 'removed'],
  restarting: ['serving', 'backoff', 'finished', 'removed'],
  // A reload starts it again, as if new.
  finished: ['starting', 'removed'],
  removed: [],
};

export const APP_STATES = ['starting', 'running', 'backoff', 'errored', 'stopping', 'stopped'] as const;
/**
 * `starting` until every slot served once; `running` while every slot serves; `backoff` while a slot
 * that served lost its worker and waits for (or runs) a restart; `errored` once the crash-loop limit is
 * hit (no more restarts; workers still serving keep serving); `stopping`, `stopped`.
 */
export type AppState = (typeof APP_STATES)[number];

export const APP_TRANSITIONS: Transitions<AppState> = {
  starting: ['running', 'backoff', 'errored', 'stopping', 'stopped'],
  running: ['backoff', 'errored', 'stopping', 'stopped'],
  backoff: ['running', 'errored', 'stopping', 'stopped'],
  // A rolling reload gives an errored app a new start.
  errored: ['starting', 'stopping', 'stopped'],
  stopping: ['stopped'],
  stopped: [],
};

export const PRIMARY_STATES = [
  'spawning',
  'running',
  'exiting',
  'backoff',
  'stopping',
  'stopped',
  'errored',
] as const;
/**
 * An app's primary process as the root sees it: `spawning` (forked, no hello yet), `running` (it has
 * the app), `exiting` (it said bye: its app ended and it exits on purpose), `backoff` (it died, or the
 * root killed it for a fault or a hang, and it is restarted after a delay), `stopping` (asked to stop),
 * and the ends: `stopped`, `errored` (it died too often, or its app errored and it exited). Decided by
 * supervisor/primary-step.ts.
 */
export type PrimaryState = (typeof PRIMARY_STATES)[number];

export const PRIMARY_TRANSITIONS: Transitions<PrimaryState> = {
  spawning: ['running', 'stopping', 'backoff', 'errored'],
  running: ['exiting', 'stopping', 'backoff', 'errored'],
  exiting: ['stopped', 'errored'],
  // errored: a fault in the root's handling of it, with no primary left (given up, not looped on).
  backoff: ['spawning', 'stopped', 'errored'],
  stopping: ['stopped'],
  stopped: [],
  errored: [],
};

export const isWorkerDone = (state: WorkerState) =>
  state === 'stopped' || state === 'exited' || state === 'crashed';

/**
 * The app state that follows from its slots. `errored` and `stopping` are decided (by the restart
 * policy, by a stop), not derived: they hold until a reload or the last worker's exit ends them.
 */
export function deriveAppState(
  current: AppState,
  slots: readonly SlotState[],
  workersAlive: number,
): AppState {
  if (current === 'stopping') return workersAlive > 0 ? 'stopping' : 'stopped';
  if (current === 'errored' || current === 'stopped') return current;
  const live = slots.filter((s) => s !== 'finished' && s !== 'removed');
  if (live.length === 0) return workersAlive > 0 ? current : 'stopped';
  if (live.some((s) => s === 'backoff')) return 'backoff';
  if (live.every((s) => s === 'serving' || s === 'replacing' || s === 'recreating')) return 'running';
  // Slots on their way up. A starting app (a first start, or a new one after errored) starts until
  // every slot served; a slot that lost its worker keeps a running app in backoff until it serves
  // again; new capacity (a scale-up) does not make a running app any less running.
  if (current === 'starting') return 'starting';
  return live.some((s) => s === 'restarting') ? 'backoff' : 'running';
}
