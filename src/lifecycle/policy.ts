// The restart policy as a pure function of (settings, exit, failed starts so far): what to do when a
// process exits on its own. Used for workers (by an app's primary, per slot) and for primaries (by the
// root, per app).
import type { ResolvedRestart } from '../config/resolved.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long the process ran, in ms. */
  uptime: number;
  /** Why it ended, when clusterd knows better than the exit code ("not ready within 5s"). */
  reason?: string;
  /**
   * Whether it had become ready (was serving) when it ended. `false` makes the start a failed one
   * whatever its uptime (a readiness timeout); left out (a primary), uptime alone decides.
   */
  ready?: boolean;
}

export type Decision =
  /** `failedStarts`: the failed starts in a row after this exit, to pass to the next decision. */
  | { action: 'restart'; delay: number; failedStarts: number; reason: string }
  | { action: 'stop'; reason: string }
  | { action: 'errored'; reason: string };

/** A readable account of an exit: "exit code 1", "signal SIGKILL", or clusterd's own reason. */
export function describeExit(exit: Pick<Exit, 'code' | 'signal' | 'reason'>): string {
  if (exit.reason) return exit.reason;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}

/** Delay before the restart that follows failed start number `failures + 1` in a row. */
export function backoffDelay(settings: ResolvedRestart, failures: number): number {
  const { initial, factor, max } = settings.backoff;
  // 0 * Infinity (a factor's power past 2^1024) would be NaN, which a timer takes for 1 ms.
  if (initial === 0) return 0;
  return Math.min(max, Math.round(initial * factor ** failures));
}

/** Whether an exit ends a successful start: the process was ready (if that applies) and ran stableAfter. */
export function wasStable(settings: ResolvedRestart, exit: Exit): boolean {
  return exit.ready !== false && exit.uptime >= settings.stableAfter;
}

const starts = (n: number) => `${n} failed start${n === 1 ? '' : 's'}`;

/**
 * The crash-loop limit: `maxRestarts` restarts may fail in a row, and the failure of the last one errors
 * the app, so it gives up after `maxRestarts + 1` failed starts in a row (the first start and
 * `maxRestarts` restarts). A start fails when its process exits before `stableAfter`, or was never ready.
 * A serving process ended by SIGKILL is neither a failure nor a success: it came from outside.
 */
export function decideRestart(settings: ResolvedRestart, exit: Exit, failedStarts: number): Decision {
  const why = describeExit(exit);
  const clean = exit.code === 0 && exit.signal === null && !exit.reason;
  if (exit.code !== null && settings.noRestartExitCodes.includes(exit.code)) {
    return { action: 'stop', reason: `${why}, listed in restart.noRestartExitCodes` };
  }
  if (settings.policy === 'never') return { action: 'stop', reason: `${why}, restart policy is never` };
  if (settings.policy === 'on-failure' && clean) {
    return { action: 'stop', reason: `${why}, a clean exit (restart policy is on-failure)` };
  }
  const stable = wasStable(settings, exit);
  // SIGKILL of a process that was serving comes from outside (the OOM killer, an operator, a chaos
  // test): it is not a crash loop. It is restarted without growing the backoff: at once when its slot
  // had no failed start since it was last stable (capacity is what matters then), else after the slot's
  // current delay.
  if (exit.ready && exit.signal === 'SIGKILL') {
    const failures = stable ? 0 : failedStarts;
    return {
      action: 'restart',
      delay: failures === 0 ? 0 : backoffDelay(settings, failures - 1),
      failedStarts: failures,
      reason: `${why} while serving`,
    };
  }
  return restartAfter(settings, why, stable, failedStarts);
}

/**
 * The restart after a start that went well (`stable`: its count and backoff start over) or failed (one
 * more failed start in a row, and past `maxRestarts` the app errors). Workers and primaries share it.
 */
export function restartAfter(
  settings: ResolvedRestart,
  why: string,
  stable: boolean,
  failedStarts: number,
): Exclude<Decision, { action: 'stop' }> {
  // A process that stayed up long enough started well: its crash starts the count and the backoff over.
  if (stable) {
    return { action: 'restart', delay: backoffDelay(settings, 0), failedStarts: 0, reason: why };
  }
  const failures = failedStarts + 1;
  if (failures > settings.maxRestarts) {
    return {
      action: 'errored',
      reason: `${why}; ${starts(failures)} in a row (restart.maxRestarts ${settings.maxRestarts})`,
    };
  }
  return {
    action: 'restart',
    delay: backoffDelay(settings, failures - 1),
    failedStarts: failures,
    reason: why,
  };
}

/**
 * When the limit is reached for a process whose every start fails: after `failedStarts` starts, and
 * `backoffMs` of backoff waited between them (the time each start runs before it fails adds to it).
 */
export function crashLoopLimit(settings: ResolvedRestart): { failedStarts: number; backoffMs: number } {
  let backoffMs = 0;
  for (let failures = 0; failures < settings.maxRestarts; failures++) {
    const delay = backoffDelay(settings, failures);
    // Past the cap every delay is `max`: the rest is a product (maxRestarts may be 100,000).
    if (delay === settings.backoff.max) {
      backoffMs += delay * (settings.maxRestarts - failures);
      break;
    }
    backoffMs += delay;
  }
  return { failedStarts: settings.maxRestarts + 1, backoffMs };
}
