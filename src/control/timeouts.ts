// How long a control command that waits may take, by default: derived from the settings of the apps it
// is about, so a command never waits forever and never gives up on an app doing what it was told to do.
import type { ResolvedApp } from '../config/resolved.js';
import { leaderStopMs } from '../lifecycle/stop-budget.js';

/** What starting a worker process costs besides the app's own readiness (fork, preload, module load). */
const FORK_MS = 1_000;
/** Output drain after an exit, and the SIGKILL grace of a primary told to stop at once. */
const EXIT_MS = 2_000;
/** For the round trips between CLI, root and primary. */
const MARGIN_MS = 5_000;
/** How long a worker gets to answer a measurement of its request counts (primary/main.ts). */
export const MEASURE_MS = 1_000;

export type WaitingCommand = 'reload' | 'restart' | 'scale' | 'stop' | 'start' | 'up';

export const WAITING_COMMANDS: Record<WaitingCommand, true> = {
  reload: true,
  restart: true,
  scale: true,
  stop: true,
  start: true,
  up: true,
};

export function isWaitingCommand(cmd: string): cmd is WaitingCommand {
  return Object.hasOwn(WAITING_COMMANDS, cmd);
}

function bound(cmd: WaitingCommand, app: ResolvedApp, canary?: boolean): number {
  const start = app.readyTimeout + FORK_MS;
  // (Not shutdown.delay: that is how long a root told to stop keeps serving, not part of a command.)
  const stop = leaderStopMs(app) + app.shutdown.spread + app.shutdown.timeout + EXIT_MS;
  // A worker not ready within readyTimeout is stopped (drain, signal, SIGKILL at shutdown.timeout)
  // before its start counts as failed: a first failure, then its retry.
  const retried = 2 * start + stop;
  // One rolling reload: each group of `reload.parallel` successors may take up to readyTimeout, and the
  // one that fails its readiness its stop too; stop-first, each group's old workers stop before.
  const group = app.reload.order === 'stop-first' ? stop + start : start;
  const plain = Math.ceil(app.instances / app.reload.parallel) * group + stop;
  // With a canary: its group first (`workers` slots), its warmup and window with a measurement at each
  // end, the other slots `parallel` at a time, and when it fails a group restoring the old release.
  const c = app.reload.canary;
  const canaried =
    (2 + Math.ceil(Math.max(0, app.instances - c.workers) / app.reload.parallel)) * start +
    c.warmup +
    c.observe +
    2 * MEASURE_MS +
    stop;
  const reload = (canary ?? c.enabled) ? Math.max(plain, canaried) : plain;
  // The reload that may be running ahead has the settings' canary whatever this one asks.
  const ahead = c.enabled ? Math.max(plain, canaried) : plain;
  switch (cmd) {
    // A reload asked for during another one runs after it.
    case 'reload':
      return ahead + reload;
    // Scaling waits for the reloads in progress and queued, then new workers start or old ones drain.
    case 'scale':
      return ahead + reload + Math.max(start, stop);
    case 'stop':
      return stop;
    // A new primary (it loads clusterd itself), then every worker up; a first failure may be retried.
    case 'start':
      return FORK_MS + retried;
    case 'restart':
      return stop + FORK_MS + retried;
    // The config's change (a restart at worst, or a start), then a reload, which may wait for one.
    case 'up':
      return stop + FORK_MS + retried + ahead + reload;
  }
}

/** The default bound of `cmd` over `apps`, in ms; `canary`: a deploy's choice (`--canary`, `--no-canary`). */
export function defaultTimeout(cmd: WaitingCommand, apps: readonly ResolvedApp[], canary?: boolean): number {
  return Math.max(0, ...apps.map((app) => bound(cmd, app, canary))) + MARGIN_MS;
}
