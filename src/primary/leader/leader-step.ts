// Who leads an app (clusterd/worker's `onLeadership`), as a pure step function: (snapshot, event) ->
// (snapshot, effects), like the slot's (pool/slot-step.ts). Events are what happened to the app's workers
// (ready, draining, exited: the pool's worker transitions), what they said (`leader-want`,
// `leader-stopped`) and a revoke's timeout; effects are data the driver (leadership.ts) carries out.
//
// The rules:
// - A candidate is a live worker that asked for leadership (`wants`), is ready and does not drain.
// - At most one worker holds leadership, from its grant until its fence: its `stop` handlers answered
//   (`stopped`), or it exited (after a SIGKILL at the revoke's timeout, or of its own: a crash). Nobody
//   else is granted before that fence.
// - Whenever nobody holds it and a candidate exists, the newest candidate (the most recently ready) is
//   granted in the same step: a rolling reload replaces the old workers one by one, so the leader it
//   drains hands over to a worker of the new version, which that reload will not drain again: one
//   hand-over per reload, whatever the order of the slots (the oldest would be an old worker, drained
//   later in the same reload: up to one hand-over per slot).
// - A leader is never taken away from a healthy worker to give it to another (no preemption): leadership
//   moves only when its holder drains or dies.
// - A leader that starts to drain is revoked: the drain itself is held (`hold` in the driver) until its
//   stop handlers answered, so that they run with the channel up; at `stopTimeout` it is killed.
import { assertTransition, type Transitions } from '../../lifecycle/machine.js';

/** The holder's phase: `held` (granted), `revoking` (revoke sent), `killing` (SIGKILL sent at the timeout). */
export type LeaderPhase = 'none' | 'held' | 'revoking' | 'killing';

export const LEADER_TRANSITIONS: Transitions<LeaderPhase> = {
  none: ['held'],
  // Drains: revoked; dies: nobody holds it (the exit is the fence).
  held: ['revoking', 'none'],
  // Stop handlers answered, or it died meanwhile: fenced; the timeout: killed.
  revoking: ['none', 'killing'],
  // Its exit, seen: fenced.
  killing: ['none'],
};

export interface LeaderWorker {
  readonly pid: number;
  /** It called onLeadership (`leader-want`). */
  readonly wants: boolean;
  readonly ready: boolean;
  readonly draining: boolean;
  /** The order it became ready in (1, 2, 3...), 0 until it is: the newest candidate is granted. */
  readonly readySeq: number;
  /** How long its `stop` handlers get once revoked (ms), before it is killed. */
  readonly stopTimeout: number;
}

export interface LeaderSnapshot {
  readonly workers: ReadonlyMap<number, LeaderWorker>;
  /** Who holds leadership (from its grant until its fence), under which term. */
  readonly holder: {
    readonly pid: number;
    readonly term: number;
    readonly phase: Exclude<LeaderPhase, 'none'>;
  } | null;
  /** The last term granted (terms are 1, 2, 3...). */
  readonly term: number;
  /** The last readySeq given. */
  readonly readySeq: number;
}

export type LeaderEvent =
  | { type: 'wants'; pid: number; stopTimeout: number }
  | { type: 'ready'; pid: number; stopTimeout: number }
  | { type: 'draining'; pid: number }
  | { type: 'exited'; pid: number }
  /** Its stop handlers settled, for `term`. */
  | { type: 'stopped'; pid: number; term: number }
  /** A revoke's `schedule` came due. */
  | { type: 'timeout'; pid: number; term: number };

/** What the log and the metrics say of a change of leader. */
export type LeaderChange = 'granted' | 'revoked' | 'stopped' | 'killed' | 'lost';

export type LeaderEffect =
  | { type: 'grant'; pid: number; term: number }
  | { type: 'revoke'; pid: number; term: number }
  /** Fire `timeout` for this pid and term in `ms`. */
  | { type: 'schedule'; pid: number; term: number; ms: number }
  | { type: 'cancel'; pid: number }
  /** SIGKILL. */
  | { type: 'kill'; pid: number }
  /** Its held drain may go on (its stop handlers answered). */
  | { type: 'release'; pid: number }
  | { type: 'report'; change: LeaderChange; pid: number; term: number };

export interface LeaderStep {
  snapshot: LeaderSnapshot;
  effects: LeaderEffect[];
}

export const initialLeader: LeaderSnapshot = { workers: new Map(), holder: null, term: 0, readySeq: 0 };

/** Whether the driver must hold this worker's drain: it holds leadership and its stop has not answered. */
export function holdsDrain(snapshot: LeaderSnapshot, pid: number): boolean {
  return snapshot.holder?.pid === pid && snapshot.holder.phase !== 'held';
}

function phaseOf(snapshot: LeaderSnapshot): LeaderPhase {
  return snapshot.holder?.phase ?? 'none';
}

const isCandidate = (w: LeaderWorker) => w.wants && w.ready && !w.draining;

/** The candidate a grant goes to: the most recently ready (pid breaks a tie, which readySeq never has). */
export function pickCandidate(workers: ReadonlyMap<number, LeaderWorker>): LeaderWorker | null {
  let best: LeaderWorker | null = null;
  for (const w of workers.values())
    if (isCandidate(w) && (best === null || w.readySeq > best.readySeq)) best = w;
  return best;
}

function blank(pid: number, stopTimeout: number): LeaderWorker {
  return { pid, wants: false, ready: false, draining: false, readySeq: 0, stopTimeout };
}

/** One event: the next snapshot and what to do. An event that does not concern the state changes nothing. */
export function leaderStep(snapshot: LeaderSnapshot, event: LeaderEvent): LeaderStep {
  const workers = new Map(snapshot.workers);
  let { holder, readySeq } = snapshot;
  const effects: LeaderEffect[] = [];
  const worker = workers.get(event.pid);
  const holds = holder?.pid === event.pid ? holder : null;
  const move = (to: LeaderPhase) => {
    assertTransition('leader', LEADER_TRANSITIONS, phaseOf({ ...snapshot, holder }), to);
    holder = to === 'none' || holder === null ? null : { ...holder, phase: to };
  };

  switch (event.type) {
    case 'wants':
    case 'ready': {
      const base = worker ?? blank(event.pid, event.stopTimeout);
      if (event.type === 'wants')
        workers.set(event.pid, { ...base, wants: true, stopTimeout: event.stopTimeout });
      else if (!base.ready) {
        readySeq += 1;
        workers.set(event.pid, { ...base, ready: true, readySeq, stopTimeout: event.stopTimeout });
      }
      break;
    }
    case 'draining': {
      if (!worker || worker.draining) break;
      workers.set(event.pid, { ...worker, draining: true });
      if (holds?.phase === 'held') {
        move('revoking');
        effects.push(
          { type: 'revoke', pid: holds.pid, term: holds.term },
          { type: 'schedule', pid: holds.pid, term: holds.term, ms: worker.stopTimeout },
          { type: 'report', change: 'revoked', pid: holds.pid, term: holds.term },
        );
      }
      break;
    }
    case 'stopped': {
      if (holds?.phase !== 'revoking' || holds.term !== event.term) break;
      move('none');
      effects.push(
        { type: 'cancel', pid: holds.pid },
        { type: 'report', change: 'stopped', pid: holds.pid, term: holds.term },
        { type: 'release', pid: holds.pid },
      );
      break;
    }
    case 'timeout': {
      if (holds?.phase !== 'revoking' || holds.term !== event.term) break;
      move('killing');
      effects.push(
        { type: 'kill', pid: holds.pid },
        { type: 'report', change: 'killed', pid: holds.pid, term: holds.term },
      );
      break;
    }
    case 'exited': {
      workers.delete(event.pid);
      if (!holds) break;
      if (holds.phase === 'revoking') effects.push({ type: 'cancel', pid: holds.pid });
      move('none');
      effects.push({ type: 'report', change: 'lost', pid: holds.pid, term: holds.term });
      break;
    }
  }

  let { term } = snapshot;
  if (holder === null) {
    const next = pickCandidate(workers);
    if (next) {
      term += 1;
      assertTransition('leader', LEADER_TRANSITIONS, 'none', 'held');
      holder = { pid: next.pid, term, phase: 'held' };
      effects.push(
        { type: 'grant', pid: next.pid, term },
        { type: 'report', change: 'granted', pid: next.pid, term },
      );
    }
  }
  return { snapshot: { workers, holder, term, readySeq }, effects };
}
