// The restart policy as a pure function of (settings, exit, history, now): what to do when a process
// exits on its own. Used for workers (by an app's primary) and for primaries (by the root).
import type { ResolvedRestart } from '../config/resolved.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long the process ran, in ms. */
  uptime: number;
  /** Why it ended, when clusterd knows better than the exit code ("not ready within 5s"). */
  reason?: string;
  /** Whether it had become ready (was serving) when it ended. */
  ready?: boolean;
}

export interface RestartHistory {
  /** Consecutive restarts of this slot since it was last stable; sets the backoff delay. */
  attempts: number;
  /** When the app's restarts happened (ms), newest last; only those inside `window` matter. */
  restarts: readonly number[];
}

export type Decision =
  | { action: 'restart'; delay: number; history: RestartHistory; reason: string }
  | { action: 'stop'; reason: string }
  | { action: 'errored'; reason: string };

export const EMPTY_HISTORY: RestartHistory = { attempts: 0, restarts: [] };

/** A readable account of an exit: "exit code 1", "signal SIGKILL", or clusterd's own reason. */
export function describeExit(exit: Pick<Exit, 'code' | 'signal' | 'reason'>): string {
  if (exit.reason) return exit.reason;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}

/** Delay before restart number `attempts + 1` of a slot. */
export function backoffDelay(settings: ResolvedRestart, attempts: number): number {
  const { initial, factor, max } = settings.backoff;
  return Math.min(max, Math.round(initial * factor ** attempts));
}

export function decideRestart(
  settings: ResolvedRestart,
  exit: Exit,
  history: RestartHistory,
  now: number,
): Decision {
  const why = describeExit(exit);
  const clean = exit.code === 0 && exit.signal === null && !exit.reason;
  if (exit.code !== null && settings.noRestartExitCodes.includes(exit.code)) {
    return { action: 'stop', reason: `${why}, listed in restart.noRestartExitCodes` };
  }
  if (settings.policy === 'never') return { action: 'stop', reason: `${why}, restart policy is never` };
  if (settings.policy === 'on-failure' && clean) {
    return { action: 'stop', reason: `${why}, a clean exit (restart policy is on-failure)` };
  }
  const recent = history.restarts.filter((t) => t > now - settings.window);
  // SIGKILL of a process that was serving comes from outside (the OOM killer, an operator, a chaos
  // test): it is not a crash loop. It is restarted without growing the backoff: at once when its slot
  // was stable (capacity is what matters then), else after the slot's current delay.
  if (exit.ready && exit.signal === 'SIGKILL') {
    return {
      action: 'restart',
      delay: history.attempts === 0 ? 0 : backoffDelay(settings, history.attempts),
      history: { attempts: history.attempts, restarts: recent },
      reason: `${why} while serving`,
    };
  }
  if (recent.length >= settings.maxRestarts) {
    return {
      action: 'errored',
      reason: `${why}; ${recent.length} restarts within ${settings.window} ms reached restart.maxRestarts (${settings.maxRestarts})`,
    };
  }
  // A worker that stayed up long enough has recovered: its next restart starts the backoff over.
  const attempts = exit.uptime >= settings.stableAfter ? 0 : history.attempts;
  return {
    action: 'restart',
    delay: backoffDelay(settings, attempts),
    history: { attempts: attempts + 1, restarts: [...recent, now] },
    reason: why,
  };
}
