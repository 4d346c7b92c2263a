// What `/readyz` and `/livez` answer, decided from the supervisor's picture of its apps: pure, so that
// each rule is tested on its own (test/health/readiness.test.ts).
//
// Ready: no stop has begun, and every app has enough ready workers: `readyShare` of its instances,
// rounded up, at least one. A worker draining (its successor is up, or it is being stopped) does not
// count; one starting does not yet. An app stopped by `clusterd stop <app>` is left out: the operator
// took it out, the others still serve. An errored app counts what it still has (past its crash-loop
// limit it keeps its healthy workers).
import type { AppState, WorkerState } from '../lifecycle/states.js';

export interface AppPicture {
  name: string;
  state: AppState;
  /** The workers it should run now (after any `clusterd scale`). */
  instances: number;
  workers: readonly { state: WorkerState }[];
  /** Left out of readiness: stopped by `clusterd stop <app>`. */
  stoppedByCommand: boolean;
}

export interface AppReadiness {
  name: string;
  state: AppState;
  ready: number;
  need: number;
  instances: number;
  ok: boolean;
}

export interface Readiness {
  ready: boolean;
  /** Why not, in words, when not ready. */
  reason?: string;
  apps: AppReadiness[];
}

export function needed(instances: number, share: number): number {
  // 0.5 * 3 = 1.5 -> 2; float noise (0.3 * 10 = 3.0000000000000004) must not round up to 4.
  return Math.max(1, Math.ceil(instances * share - 1e-9));
}

export function readiness(apps: readonly AppPicture[], share: number, stopping: boolean): Readiness {
  const pictures = apps
    .filter((a) => !a.stoppedByCommand)
    .map((a): AppReadiness => {
      const ready = a.workers.filter((w) => w.state === 'ready').length;
      const need = needed(a.instances, share);
      return { name: a.name, state: a.state, ready, need, instances: a.instances, ok: ready >= need };
    });
  if (stopping) return { ready: false, reason: 'clusterd is stopping', apps: pictures };
  const short = pictures.filter((a) => !a.ok);
  if (short.length === 0) return { ready: true, apps: pictures };
  return {
    ready: false,
    reason: short.map((a) => `${a.name}: ${a.ready} of ${a.need} needed workers ready`).join('; '),
    apps: pictures,
  };
}

/** A primary's answer to a liveness ping. */
export type PrimaryAnswer = 'answered' | 'unresponsive' | 'not running';

export interface Liveness {
  live: boolean;
  reason?: string;
  apps: { name: string; primary: PrimaryAnswer }[];
}

/**
 * Live: the root answers (it is answering this), and every primary that runs answered its ping in time.
 * A primary that is not running (restarting after a crash, stopped, errored) is not a hung one: the
 * root restarts what should run, and readiness says whether it serves.
 */
export function liveness(answers: readonly { name: string; primary: PrimaryAnswer }[]): Liveness {
  const hung = answers.filter((a) => a.primary === 'unresponsive');
  if (hung.length === 0) return { live: true, apps: [...answers] };
  return {
    live: false,
    reason: `primary of ${hung.map((a) => a.name).join(', ')} did not answer`,
    apps: [...answers],
  };
}
