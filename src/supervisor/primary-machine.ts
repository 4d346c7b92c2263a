// The root's picture of an app's primary as data: the snapshot primaryStep (primary-step.ts) decides
// from and returns, the events that reach it (what the process did, the timers, the commands), and the
// effects it asks of the runner (app-runner.ts), which carries them out in order.
import type { ResolvedRestart } from '../config/resolved.js';
import type { ErrorCode, Failure } from '../errors.js';
import type { AppState, PrimaryState } from '../lifecycle/states.js';
import type { Outcome } from '../protocol.js';

/** A primary told to kill its workers that has not exited after this long is SIGKILLed itself. */
export const KILL_GRACE_MS = 1_000;
/** The most time between two pings of a primary's hang watch. */
export const PING_INTERVAL_MS = 1_000;

export interface PrimarySnapshot {
  readonly state: PrimaryState;
  /** The app state its primary reported last, or what the root knows better (it died, it stopped). */
  readonly app: AppState;
  /** Why the app is in that state, when there is more to say (an exit, the crash-loop limit). */
  readonly reason: string | undefined;
  /** The primary's failed starts in a row (lifecycle/primary-policy.ts): its backoff and crash-loop limit. */
  readonly failedStarts: number;
  /** When the current primary was forked: its exit's uptime. */
  readonly startedAt: number;
  /** When the oldest ping it has not answered yet was sent, or null (hang watch). */
  readonly pingSince: number | null;
  /** Why the root killed it for not answering, so its exit says so; null otherwise. */
  readonly hung: string | null;
  /** A kill was asked for: its SIGKILL is scheduled. */
  readonly killing: boolean;
}

export interface PrimaryContext {
  readonly now: number;
  readonly app: string;
  readonly restart: ResolvedRestart;
  /** `primary.hangTimeout`: how long a running primary may leave a ping unanswered; null: not watched. */
  readonly hangTimeout: number | null;
}

export type PrimaryEvent =
  /** The runner's first spawn. */
  | { type: 'start' }
  | { type: 'spawned'; pid: number | null }
  | { type: 'hello'; version: number }
  /** The app state the primary reports. */
  | { type: 'report'; to: AppState; reason?: string | undefined }
  /** Its app ended (stopped or errored): it exits on purpose. */
  | { type: 'bye' }
  /** `failure`: why it never ran (the fork failed). */
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null; failure?: string | undefined }
  | { type: 'backoff over' }
  | { type: 'stop asked' }
  | { type: 'kill asked' }
  | { type: 'kill grace over' }
  /** A ping went to it (the health server's, the watchdog's, the hang watch's own). */
  | { type: 'ping sent' }
  | { type: 'ping answered' }
  /** The hang watch's timer. */
  | { type: 'ping due' }
  /** The primary (or the root for it) answered the start request. */
  | { type: 'start answered'; outcome: Outcome }
  /** A throw in the root's handling of this app: clusterd's own fault, contained to this app. */
  | { type: 'fault'; where: string; error: unknown; message: string };

export type PrimaryTimer = 'restart' | 'kill' | 'ping';

export type PrimaryEffect =
  | { type: 'spawn' }
  /** Send a request of the root's own; the answer to `start` comes back as `start answered`. */
  | { type: 'send'; op: 'start' | 'stop' | 'kill' }
  /** Send the requests held until its hello. */
  | { type: 'release held' }
  | { type: 'refuse held'; failure: Failure }
  /** Answer every pending request: with `reason`, or, with `exited`, "the primary exited (how) before ...". */
  | { type: 'refuse pending'; code: ErrorCode; reason: string; exited?: { how: string; after: string } }
  | { type: 'answer start'; outcome: Outcome }
  | { type: 'signal'; signal: 'SIGKILL' }
  | { type: 'schedule'; timer: PrimaryTimer; delay: number }
  | { type: 'cancel'; timer: PrimaryTimer }
  /** SIGKILL what the exited primary left: its workers, its process group (leftovers.ts). */
  | { type: 'clear leftovers' }
  /** Ping it (the runner shares a ping already on its way), answered as `ping answered`. */
  | { type: 'ping' }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string }
  | { type: 'count'; what: 'restart' | 'hang' }
  /** The primary has ended for good. */
  | { type: 'settle' };

export interface PrimaryStep {
  snapshot: PrimarySnapshot;
  effects: PrimaryEffect[];
}

export function initialPrimary(now: number): PrimarySnapshot {
  return {
    state: 'spawning',
    app: 'starting',
    reason: undefined,
    failedStarts: 0,
    startedAt: now,
    pingSince: null,
    hung: null,
    killing: false,
  };
}

/** States in which a primary process exists. */
export const ALIVE: readonly PrimaryState[] = ['spawning', 'running', 'exiting', 'stopping'];

export const isSettled = (s: PrimarySnapshot): boolean => s.state === 'stopped' || s.state === 'errored';

/** How often the hang watch pings: every second, or twice per `hangTimeout` when that is shorter. */
export const pingInterval = (hangTimeout: number): number =>
  Math.max(1, Math.min(PING_INTERVAL_MS, Math.floor(hangTimeout / 2)));

/** What each timer of the runner reports when it fires. */
export const TIMER_EVENTS: Readonly<Record<PrimaryTimer, PrimaryEvent>> = {
  restart: { type: 'backoff over' },
  kill: { type: 'kill grace over' },
  ping: { type: 'ping due' },
};

/** Where a fault in handling `event` happened, in the words of its log line. */
export function faultWhere(event: PrimaryEvent): string {
  switch (event.type) {
    case 'backoff over':
      return 'a restart of its primary';
    case 'start':
      return 'start';
    case 'stop asked':
    case 'kill asked':
      return 'stop';
    case 'ping due':
    case 'ping sent':
    case 'ping answered':
      return 'its hang watch';
    default:
      return 'its primary';
  }
}
