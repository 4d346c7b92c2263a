// The lifecycle states of workers and apps, and the transitions allowed between them. Every state
// change goes through `assertTransition`, so an impossible change is a bug caught where it happens.

export const WORKER_STATES = ['starting', 'ready', 'draining', 'stopped', 'crashed'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

const WORKER_NEXT: Record<WorkerState, readonly WorkerState[]> = {
  starting: ['ready', 'draining', 'crashed'],
  ready: ['draining', 'crashed'],
  draining: ['stopped', 'crashed'],
  stopped: [],
  crashed: [],
};

/**
 * `starting` until every worker was ready once; `running` while all are up; `backoff` while some worker
 * waits to be restarted; `errored` once the crash-loop limit is hit (no more restarts); `stopping`, `stopped`.
 */
export const APP_STATES = ['starting', 'running', 'backoff', 'errored', 'stopping', 'stopped'] as const;
export type AppState = (typeof APP_STATES)[number];

const APP_NEXT: Record<AppState, readonly AppState[]> = {
  starting: ['running', 'backoff', 'errored', 'stopping', 'stopped'],
  running: ['backoff', 'errored', 'stopping', 'stopped'],
  backoff: ['running', 'errored', 'stopping', 'stopped'],
  // A rolling reload gives an errored app a new start.
  errored: ['starting', 'stopping', 'stopped'],
  stopping: ['stopped'],
  stopped: [],
};

export function canTransition<S extends WorkerState | AppState>(
  table: Record<S, readonly S[]>,
  from: S,
  to: S,
): boolean {
  return table[from].includes(to);
}

export function assertWorkerTransition(from: WorkerState, to: WorkerState): void {
  if (!canTransition(WORKER_NEXT, from, to)) throw new Error(`invalid worker transition ${from} -> ${to}`);
}

export function assertAppTransition(from: AppState, to: AppState): void {
  if (!canTransition(APP_NEXT, from, to)) throw new Error(`invalid app transition ${from} -> ${to}`);
}

export const isWorkerDone = (state: WorkerState) => state === 'stopped' || state === 'crashed';
