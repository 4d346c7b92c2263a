// What the exit of an app's primary means, as a pure function of (restart settings, exit, failed starts
// so far). It is not the workers' policy (policy.ts): a primary never ends on its own unless its app is
// done (it says `bye` first, and the root then expects its exit), so every other exit is a failure,
// whatever the app's `restart.policy` and `noRestartExitCodes` say; those are about the user's script.
// The app's backoff and crash-loop limit apply: a fault of ours that repeats must end in errored, not loop.
import type { ResolvedRestart } from '../config/resolved.js';
import { type Decision, describeExit, restartAfter } from './policy.js';

/** How a primary ended. It has no readiness: its uptime alone says whether its start went well. */
export interface PrimaryExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long it ran, in ms. */
  uptime: number;
  /** Why it ended, when the root knows better than the exit status (a failed fork, a hang). */
  reason?: string;
}

/** The restart of a primary that exited without being asked to, or why there is none. */
export type PrimaryDecision = Exclude<Decision, { action: 'stop' }>;

/**
 * A primary that ran `stableAfter` started well: it is restarted after `backoff.initial` and its count
 * starts over. One that ended sooner failed its start, even when the root killed it (a SIGKILL of a
 * primary is the root's own doing: a hang, a fault in its handling), and the failure after
 * `maxRestarts` failed restarts in a row errors the app.
 */
export function decidePrimaryRestart(
  settings: ResolvedRestart,
  exit: PrimaryExit,
  failedStarts: number,
): PrimaryDecision {
  return restartAfter(settings, describeExit(exit), exit.uptime >= settings.stableAfter, failedStarts);
}
