// The control protocol: JSON lines over the root's Unix socket. Each request carries an id; the reply
// carries the same id. `logs --follow` keeps the connection and receives `output` messages; `events`
// keeps it and receives `event` messages.
import type { ConfigIssue, ErrorCode } from '../errors.js';
import type { AppState, WorkerState } from '../lifecycle/states.js';
import type { CanaryReport } from '../primary/reload/canary-judge.js';
import type { GuardCause, ProfileKind, ProfileResult, RequestFigures } from '../protocol.js';

export type { RequestFigures } from '../protocol.js';

export const CONTROL_VERSION = 1;

// Limits that keep one misbehaving client from costing the root more than a bounded amount of memory,
// file descriptors or time (docs/control.md, "Limits").
/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Connections open at once; more are answered with an error line and closed. */
export const MAX_CONNECTIONS = 256;
/** A connection that has not sent a complete request for this long (none running) is closed. */
export const IDLE_TIMEOUT_MS = 10_000;
/**
 * Unsent output a connection may hold: beyond it, no further request of that client is read, and a
 * `logs --follow` client is disconnected.
 */
export const MAX_PENDING_OUTPUT = 1024 * 1024;

/** How long a command waits before any answer: a supervisor that takes longer is stopped or overloaded. */
export const ANSWER_TIMEOUT_MS = 10_000;

/** Commands that wait for what they ask carry `timeout` (ms); without it the supervisor derives one. */
export type Command =
  | { cmd: 'status' }
  /** `canary`: run a canary phase (true) or not (false) whatever the app's `reload.canary` says. */
  | { cmd: 'reload'; app?: string; timeout?: number; canary?: boolean }
  | { cmd: 'restart'; app?: string; timeout?: number }
  | { cmd: 'scale'; app: string; instances: string; timeout?: number }
  | { cmd: 'stop'; app?: string; timeout?: number }
  | { cmd: 'start'; app: string; timeout?: number }
  | { cmd: 'shutdown' }
  | { cmd: 'logs'; app?: string; lines?: number; follow?: boolean }
  /**
   * `clusterd send`: `data` on `topic` to the onMessage handlers of the app's live workers, or of slot
   * `worker`'s; answered once it was handed to their channels (`SendResult`).
   */
  | { cmd: 'send'; app: string; topic: string; data: unknown; worker?: number }
  /** The root's events as they are logged, live, until the client hangs up. */
  | { cmd: 'events'; app?: string }
  /**
   * A live view's feed (`clusterd monit`): the samples kept of the last `history` seconds (default 120)
   * and the recent events first, then a `sample` of every app each second and each `event` as it is
   * logged, until the client hangs up (supervisor/fleet.ts).
   */
  | { cmd: 'monitor'; app?: string; history?: number }
  /**
   * Re-read the config file, apply its changes, then reload every app the change did not roll or restart;
   * answered once all of it settled. `environment` must be the running one (absent: whichever it is).
   */
  | { cmd: 'up'; environment?: string; timeout?: number; canary?: boolean }
  /**
   * `clusterd profile`: a CPU profile of slot `worker`'s worker (absent: the first ready one) over
   * `durationMs`; `clusterd heap`: a heap snapshot of slot `worker`'s. Streamed: `profiling`, then
   * `chunk` lines (base64), then the result (control/profile.ts).
   */
  | { cmd: 'profile'; app: string; worker?: number; durationMs: number }
  | { cmd: 'heap'; app: string; worker: number };

export type Request = Command & { v: number; id: string | number };

export interface WorkerStatus {
  id: number;
  pid: number | null;
  state: WorkerState;
  restarts: number;
  /** Real path of the entry file it runs: with a `current -> releases/N` script, which release. */
  script: string | null;
  /** While it drains: the connections it still holds (WebSockets and the like), as it last reported. */
  connections: number | null;
  /** ms since this worker started. */
  uptime: number;
  cpu: number | null;
  memory: number | null;
  /**
   * Its HTTP requests over the last 10 s, from the primary's request history: requests per second
   * (`rate`), the share of 5xx among its finished responses (`serverErrors`, 0..1), their 99th
   * percentile latency (`p99`, ms), each null when nothing says it. Null: not known at all (a program,
   * `requestMetrics: false`, a primary that did not answer, a worker not sampled yet).
   */
  requests: RequestFigures | null;
}

export interface AppStatus {
  name: string;
  state: AppState;
  instances: number;
  primary: number | null;
  workers: WorkerStatus[];
  /** Workers the guards replaced or killed since clusterd started, by cause (memory, unresponsive, ...). */
  replaced: Partial<Record<GuardCause, number>>;
  /** The app's HTTP requests over the last 10 s, all its workers together (as each worker's `requests`). */
  requests: RequestFigures | null;
}

/** A worker in a live view's sample (`monitor`): its status without the entry file's path. */
export type FleetWorker = Omit<WorkerStatus, 'script'>;

export interface FleetApp extends Omit<AppStatus, 'workers'> {
  workers: FleetWorker[];
}

/** Every app and worker at one time, as the live views get it each second (supervisor/fleet.ts). */
export interface FleetSample {
  /** When it was taken (ms since the epoch). */
  at: number;
  /** The root's pid and uptime (ms) then. */
  pid: number;
  uptime: number;
  apps: FleetApp[];
}

/** A log file that cannot be written right now (its lines are being dropped). */
export interface LogFileFault {
  file: string;
  /** The app whose `logs.file` it is; none for the supervisor's own log (`start --detach`). */
  app?: string;
  /** The error code (ENOSPC, ENOTDIR, ...). */
  error: string;
  message: string;
  /** When it started failing (ms since the epoch). */
  since: number;
}

export interface Status {
  pid: number;
  config: string;
  environment: string | null;
  uptime: number;
  apps: AppStatus[];
  /** Log files that cannot be written at the moment. */
  logFaults?: LogFileFault[];
}

/** An event the root logged, as the object its JSON log line holds (docs/control.md, "events"). */
export interface LogEvent {
  /** pino's level: 30 info, 40 warn, 50 error. */
  level: number;
  /** ms since the epoch. */
  time: number;
  msg: string;
  /** The app it is about; none for the supervisor's own events (started, config reloaded, stopping). */
  app?: string;
  [field: string]: unknown;
}

/** What `send` did: the workers (slot and pid) the message was handed to. */
export interface SendResult {
  app: string;
  topic: string;
  workers: { worker: number; pid: number }[];
}

/** What the config change of an `up` did to an app. */
export type UpChange = 'added' | 'removed' | 'scaled' | 'rolled' | 'restarted';

/** One app in an `up`'s answer. */
export interface UpApp {
  app: string;
  /** What the config change did to it; null when its settings did not change. */
  change: UpChange | null;
  /** The settings that changed (rolled, restarted). */
  changed?: string[];
  /** The worker count, when the change scaled it. */
  instances?: { from: number; to: number };
  /** What `up` did after the change, for new code on disk: a rolling reload, a start (it was stopped). */
  action: 'reloaded' | 'started' | null;
  /** Workers replaced by new ones (rolled or reloaded). */
  replaced: number;
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  /** When not ok: its workers still serve (a failed reload rolls back and keeps the old ones). */
  serving?: boolean;
  /** When not ok: the code of why (CLUSTERD_ERR_CANARY_FAILED: its canaries were rolled back). */
  code?: ErrorCode;
  /** A canary phase's report, when its deploy had one. */
  canary?: CanaryReport;
  /** `up --canary` for an app that cannot have one: why (it was reloaded without one). */
  noCanary?: string;
}

export interface UpReport {
  pid: number;
  config: string;
  environment: string | null;
  /** Every app ended ready (or removed, as asked). */
  ok: boolean;
  apps: UpApp[];
  ms: number;
}

export interface ReplyError {
  code: string;
  message: string;
  /** An invalid config (`up`): every problem, as `validate` prints them. */
  issues?: ConfigIssue[];
  /** A failed `up`: what it did, app by app. */
  report?: UpReport;
  /** A command about several apps: each app that failed, with its own code and reason. */
  apps?: { app: string; code: string; reason: string; canary?: CanaryReport }[];
  /** A command about several apps: what it did to those that did not fail (a reload's results). */
  done?: unknown[];
}

export type Reply =
  /** First line for a command that waits: it is under way, and how long it may take at most. */
  | { v: number; id: string | number; accepted: { timeout: number } }
  | { v: number; id: string | number | null; ok: true; result: unknown }
  | { v: number; id: string | number | null; ok: false; error: ReplyError }
  /** First line of a stream (`logs --follow`, `events`): `output` or `event` lines follow until the end. */
  | { v: number; id: string | number; following: true }
  | { v: number; id: string | number; output: string }
  | { v: number; id: string | number; event: LogEvent }
  | { v: number; id: string | number; sample: FleetSample }
  /** First line of a `profile` or `heap` stream after `following`: which worker; `chunk` lines follow. */
  | { v: number; id: string | number; profiling: ProfileStart }
  /** A piece of a profile's file, base64; the stream ends with its result (`ProfileDone`) or an error. */
  | { v: number; id: string | number; chunk: string };

/** Which worker a `profile` or `heap` is taken of. */
export interface ProfileStart {
  app: string;
  kind: ProfileKind;
  worker: number;
  pid: number;
  /** A CPU profile's duration (ms); 0 for a heap snapshot. */
  durationMs: number;
}

/** The result of a `profile` or `heap`: its size, and how long the worker's event loop was blocked. */
export type ProfileDone = ProfileResult & { app: string };

export const COMMANDS: Record<Command['cmd'], true> = {
  status: true,
  reload: true,
  restart: true,
  scale: true,
  stop: true,
  start: true,
  shutdown: true,
  logs: true,
  events: true,
  monitor: true,
  send: true,
  up: true,
  profile: true,
  heap: true,
};
