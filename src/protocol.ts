// Every message between the root supervisor, the app primaries and the workers. One versioned module
// with discriminated unions: a message that is not declared here is not sent.
//
// Root -> primary messages are requests with ids. The primary answers each id exactly once (`reply`),
// also for a request folded into another (coalesced reloads) and for one that changes nothing; whatever
// is pending on a primary when it exits is rejected by the root with the reason. Primary -> root
// messages other than `reply` are reports of what happened (transitions, reload phases, watch events).
import type { ResolvedApp } from './config/resolved.js';
import type { ErrorCode, Failure } from './errors.js';
import type { CountsSample } from './health/request-stats.js';
import type { AppState, SlotState, WorkerState } from './lifecycle/states.js';
import type { LogFileReport } from './log/file.js';
import type { AppMetricsText } from './primary/process/app-metrics.js';
import type { CanaryReport } from './primary/reload/canary-judge.js';
import workerMessages from './worker/messages.cjs';

/** Bumped on any incompatible change; a primary of another version is refused by the root. */
export const PROTOCOL_VERSION = 8;

export type LogFormat = 'json' | 'pretty';

/** What the root asks of a primary. */
export type PrimaryRequest =
  /** Run the app: the first request, once per primary. Answered once every slot served (or failed). */
  | { op: 'start'; app: ResolvedApp; logFormat: LogFormat }
  /**
   * Rolling reload onto these settings (new code from disk). `canary`: true or false runs a canary phase
   * or not whatever `app.reload.canary.enabled` says (`--canary`, `--no-canary`); absent: as it says.
   */
  | { op: 'reload'; app: ResolvedApp; canary?: boolean }
  /** Run this many workers: start new ones, or drain the highest slots. */
  | { op: 'scale'; instances: number }
  /** Graceful: drain every worker, signal, SIGKILL after the shutdown timeout; then the primary exits. */
  | { op: 'stop' }
  /** Immediate: SIGKILL every worker; then the primary exits. */
  | { op: 'kill' }
  /** Answered at once: the primary's event loop turns (liveness). */
  | { op: 'ping' }
  /**
   * A sample of every worker (event loop, memory, CPU, the app's prom-client metrics) and its request
   * counts, for `/metrics`.
   */
  | { op: 'metrics' }
  /**
   * Each worker's request figures over the last `windowMs` (default 10 s), from the primary's request
   * history (`status`; `monitor` asks for a shorter window).
   */
  | { op: 'requests'; windowMs?: number }
  /**
   * `clusterd send`: `topic` and `data` to the onMessage handlers of every live worker of the app, or of
   * slot `worker`'s (primary/messages/).
   */
  | { op: 'send'; topic: string; data: unknown; worker: number | null }
  /**
   * `clusterd profile` (`kind: 'cpu'`, for `durationMs`) or `clusterd heap`: of slot `worker`'s ready
   * worker, or the first ready one (null). Answered once its last chunk was sent: first `profiling`
   * (which worker), then `chunk`s, each acknowledged by the root's `ack` (primary/profile/).
   */
  | { op: 'profile'; kind: ProfileKind; worker: number | null; durationMs: number };

export type ProfileKind = 'cpu' | 'heap';

/** What a profile was: of which worker, its size, how long its event loop was blocked, and taking it. */
export interface ProfileResult {
  kind: ProfileKind;
  worker: number;
  pid: number;
  bytes: number;
  pauseMs: number;
  ms: number;
}

export type Op = PrimaryRequest['op'];

/** What each request's success carries. */
export interface OpResults {
  start: { instances: number };
  /** `canary`: the canary phase's report, when the reload had one. */
  reload: {
    replaced: number;
    ms: number;
    canary?: CanaryReport;
    /** A canary asked for every app that this one cannot have: why (it was reloaded without one). */
    noCanary?: string;
  };
  scale: { from: number; to: number };
  stop: Record<string, never>;
  kill: Record<string, never>;
  ping: Record<string, never>;
  /**
   * `malformedMessages`: messages from the app's workers that claimed to be clusterd's and were not;
   * `relayedMessages`, `relayDropped`: messages between workers the primary passed on, or could not.
   */
  metrics: {
    /** Each worker's sample, but its app metrics (in `app`) and request counts (in `requests`). */
    workers: Omit<WorkerSample, 'app' | 'requests'>[];
    /** The app's own prom-client metrics summed over its workers, rendered; null: no worker has any. */
    app: AppMetricsText | null;
    unanswered: number;
    malformedMessages: number;
    relayedMessages: number;
    relayDropped: number;
    /** Messages of clusterd/worker's messaging API dropped by the limits, by reason. */
    messagesDropped: { size: number; rate: number };
    /** Each worker's request counts since it started (worker/requests.cts); those that answered in time. */
    requests: CountsSample[];
    /**
     * The primary's own memory as it answers (bytes): its resident set and V8's heap in use, so that a
     * primary that grows over weeks shows on /metrics (bench/soak.ts reads it).
     */
    primary?: { rss: number; heapUsed: number };
  };
  /**
   * Per worker process, and for the app (null: no worker has figures), over the last 10 s of the
   * primary's request history (primary/requests/history.ts).
   */
  requests: { workers: (RequestFigures & { worker: number; pid: number })[]; app: RequestFigures | null };
  /** The workers the message was handed to (slot and pid). */
  send: { workers: { worker: number; pid: number }[] };
  profile: ProfileResult;
}

/** Request figures over a window; each null when nothing is known of it. */
export interface RequestFigures {
  /** Requests (finished and aborted responses) per second. */
  rate: number | null;
  /** Share of the finished responses that were 5xx (0..1); null: none finished. */
  serverErrors: number | null;
  /** The 99th percentile of the finished responses' latency (ms); null: none. */
  p99: number | null;
  /** The median latency of the finished responses (ms); null: none. */
  p50?: number | null;
  /** The 99th percentile of the event loop's delay over the window (ms); null: not sampled. */
  loopDelay?: number | null;
}

/** One worker's answer to a metrics scrape, measured in the worker (declared in worker/messages.cts). */
export type WorkerSample = Guarded<typeof workerMessages.isSample>['sample'];

/** How an operation ended: its result, or why it failed and the code of that (errors.ts), which the root
 * and the control socket pass on unchanged to the CLI's exit status and `--json`. */
/** A failed reload whose canary phase decided it carries the verdict and its checks (docs/reload.md). */
export type Outcome<T = unknown> = { ok: true; result: T } | ({ ok: false; canary?: CanaryReport } & Failure);

export const failed = (code: ErrorCode, reason: string) => ({ ok: false as const, code, reason });

export type RootMessage =
  | { type: 'request'; id: number; request: PrimaryRequest }
  /** A `profile` request's chunks up to `seq` were passed on: send more. */
  | { type: 'ack'; id: number; seq: number }
  /** Nobody reads a `profile` request's chunks any more (its client left): stop. */
  | { type: 'cancel'; id: number };

export interface WorkerTransition {
  /** Slot id: NODE_APP_INSTANCE, 0..instances-1, reused across restarts. */
  worker: number;
  pid: number | null;
  from: WorkerState | null;
  to: WorkerState;
  reason?: string;
  code?: number | null;
  signal?: string | null;
  /** On `starting`: the real path of the entry file it runs (the release, when `script` is a symlink). */
  script?: string;
  /** Where the worker listens, on `ready` with listening readiness. */
  address?: string;
}

/**
 * What a guard found (`guards`, primary/guards/guards.ts): over the memory limit, over the hard limit, no answer
 * to the heartbeat, old enough (`maxAge`), or its time came (`cron`).
 */
export type GuardCause = 'memory' | 'memory-hard' | 'unresponsive' | 'max-age' | 'schedule';

export interface ExitRecord {
  worker: number;
  pid: number | null;
  at: string;
  reason: string;
}

// Primary -> root.
export type PrimaryMessage =
  | { type: 'hello'; version: number; pid: number }
  | { type: 'reply'; id: number; outcome: Outcome }
  /** A `profile` request is under way on this worker; its chunks follow, then its reply. */
  | { type: 'profiling'; id: number; worker: number; pid: number }
  /** A piece of a `profile` request's file, base64; `seq` 1, 2, 3... each acknowledged by an `ack`. */
  | { type: 'chunk'; id: number; seq: number; data: string }
  | { type: 'worker'; transition: WorkerTransition }
  | { type: 'slot'; slot: number; from: SlotState; to: SlotState; reason?: string }
  | {
      type: 'app';
      from: AppState;
      to: AppState;
      reason?: string;
      /** With `errored`: the last exits that led there. */
      lastExits?: ExitRecord[];
    }
  /** A restart is scheduled for a slot, which has had `failedStarts` failed starts in a row. */
  | { type: 'backoff'; worker: number; delay: number; failedStarts: number }
  /** Something went wrong that is not a worker's exit; `code` names clusterd's own faults. */
  | { type: 'error'; message: string; code?: string }
  /** Something the operator should know about the app's settings; sent once per primary. */
  | { type: 'warning'; message: string; fields?: Record<string, number | string> }
  | { type: 'reload'; phase: 'started' }
  | { type: 'reload'; phase: 'done'; replaced: number; ms: number }
  | { type: 'reload'; phase: 'failed'; reason: string }
  /** A deploy's canary phase (primary/reload/canary.ts): started, its window begins, its verdict. */
  | {
      type: 'canary';
      phase: 'started';
      workers: number[];
      warmup: number;
      observe: number;
      weight: number | null;
    }
  | { type: 'canary'; phase: 'observing'; observe: number }
  | { type: 'canary'; phase: 'judged'; report: CanaryReport }
  /** The app's file watcher has scanned its paths and is watching. */
  | { type: 'watching'; paths: string[] }
  /** Watched files changed: a rolling reload follows. */
  | { type: 'watch'; files: string[]; count: number }
  | { type: 'scaled'; from: number; to: number }
  /** A draining worker's connections still open (WebSockets and the like), each time the count changes. */
  | { type: 'connections'; worker: number; pid: number; open: number }
  /**
   * The app's request figures over the status window (OpResults['requests'] with `windowMs` unset), sent
   * after each sample of its request history (every 2 s): `status` reads the root's copy, with no round
   * trip to each primary (primary/requests/history.ts).
   */
  | ({ type: 'figures' } & OpResults['requests'])
  /**
   * A guard acts on a worker: `replace` (a rolling reload of its slot follows), `kill` (at once: over the
   * hard limit, or stuck while it drains), `hold` (it would be replaced, but not yet: see the message).
   */
  | {
      type: 'guard';
      worker: number;
      pid: number | null;
      cause: GuardCause;
      action: 'replace' | 'kill' | 'hold';
      message: string;
      fields?: Record<string, number | string>;
    }
  /** A guard's replacement of one worker ended: its successor serves the slot, or it failed to. */
  | {
      type: 'recycled';
      worker: number;
      pid: number | null;
      cause: GuardCause;
      ok: boolean;
      ms: number;
      reason?: string;
    }
  /**
   * A change of the app's leader (clusterd/worker's onLeadership, primary/leader/): `granted` to a worker,
   * `revoked` from one that drains, then fenced by its stop handlers' answer (`stopped`), or `killed` at
   * its shutdown.timeout, or `lost` when it exited. `ms`: since the revoke. `worker` is the slot.
   */
  | {
      type: 'leader';
      change: 'granted' | 'revoked' | 'stopped' | 'killed' | 'lost';
      worker: number;
      pid: number;
      term: number;
      ms?: number;
    }
  /** A worker's `publish(topic, data)` (clusterd/worker): logged as an event; `data` as JSON keeps it. */
  | { type: 'publish'; worker: number; pid: number; topic: string; data: unknown }
  /**
   * The release the app's workers run, resolved when its settings came (primary/process/release.ts): at
   * its start, and whenever a reload brings settings or a failed one restores them. The root starts a
   * restarted primary on it after a failed reload, so that a rollback holds.
   */
  | { type: 'release'; script: string; cwd: string }
  /** The app's `logs.file` started failing, or is written again. */
  | ({ type: 'logfile' } & LogFileReport)
  /** Sent last: the primary exits on purpose (its app is stopped or errored). */
  | { type: 'bye' };

// Primary <-> worker, on node:cluster's channel: declared, built and guarded in worker/messages.cts (shared
// with the preload); each guard checks every field. What a worker sends is user input: a message that
// claims to be clusterd's and fails its guard is counted (`isMalformedWorkerMessage`) and ignored.
type Guarded<G> = G extends (message: unknown) => message is infer T ? T : never;

export type PrimaryToWorker =
  | Guarded<typeof workerMessages.isDrain>
  | Guarded<typeof workerMessages.isBeat>
  | Guarded<typeof workerMessages.isMetrics>
  | Guarded<typeof workerMessages.isCounts>
  | Guarded<typeof workerMessages.isConn>
  | Guarded<typeof workerMessages.isListenReply>
  | Guarded<typeof workerMessages.isLeaderGrant>
  | Guarded<typeof workerMessages.isLeaderRevoke>
  | Guarded<typeof workerMessages.isMsg>
  | Guarded<typeof workerMessages.isMsgAsk>
  | Guarded<typeof workerMessages.isMsgResult>;
export type WorkerToPrimary =
  | Guarded<typeof workerMessages.isReady>
  | Guarded<typeof workerMessages.isLoaded>
  | Guarded<typeof workerMessages.isListening>
  | Guarded<typeof workerMessages.isDrained>
  | Guarded<typeof workerMessages.isKeepAlive>
  | Guarded<typeof workerMessages.isOpen>
  | Guarded<typeof workerMessages.isAlive>
  | Guarded<typeof workerMessages.isSample>
  | Guarded<typeof workerMessages.isCounted>
  | Guarded<typeof workerMessages.isListen>
  | Guarded<typeof workerMessages.isConns>
  | Guarded<typeof workerMessages.isUnlisten>
  | Guarded<typeof workerMessages.isBounce>
  | Guarded<typeof workerMessages.isLeaderWant>
  | Guarded<typeof workerMessages.isLeaderStopped>
  | Guarded<typeof workerMessages.isMsgBroadcast>
  | Guarded<typeof workerMessages.isMsgRequest>
  | Guarded<typeof workerMessages.isMsgReply>
  | Guarded<typeof workerMessages.isMsgPublish>;
/** The result a requester gets (`msg-result`), and what a sibling answered (`msg-reply`). */
export type MsgResult = Guarded<typeof workerMessages.isMsgResult>;
export type MsgReply = Guarded<typeof workerMessages.isMsgReply>;
export type WorkerListen = Guarded<typeof workerMessages.isListen>;

export const DRAIN: PrimaryToWorker = workerMessages.drain;
export const HEARTBEAT: PrimaryToWorker = workerMessages.beat;
export const workerMetricsRequest: typeof workerMessages.metrics = workerMessages.metrics;
export const workerCountsRequest: typeof workerMessages.counts = workerMessages.counts;
export const workerConn: typeof workerMessages.conn = workerMessages.conn;
export const workerListenReply: typeof workerMessages.listenReply = workerMessages.listenReply;
export const isWorkerAlive: typeof workerMessages.isAlive = workerMessages.isAlive;
export const isWorkerReady: typeof workerMessages.isReady = workerMessages.isReady;
export const isWorkerListening: typeof workerMessages.isListening = workerMessages.isListening;
export const isWorkerLoaded: typeof workerMessages.isLoaded = workerMessages.isLoaded;
export const isWorkerDrained: typeof workerMessages.isDrained = workerMessages.isDrained;
export const isWorkerOpen: typeof workerMessages.isOpen = workerMessages.isOpen;
export const isWorkerSample: typeof workerMessages.isSample = workerMessages.isSample;
export const isWorkerCounted: typeof workerMessages.isCounted = workerMessages.isCounted;
export const isWorkerKeepAlive: typeof workerMessages.isKeepAlive = workerMessages.isKeepAlive;
export const isWorkerListen: typeof workerMessages.isListen = workerMessages.isListen;
export const isWorkerConns: typeof workerMessages.isConns = workerMessages.isConns;
export const isWorkerUnlisten: typeof workerMessages.isUnlisten = workerMessages.isUnlisten;
export const isWorkerBounce: typeof workerMessages.isBounce = workerMessages.isBounce;
export const isMalformedWorkerMessage: typeof workerMessages.isMalformed = workerMessages.isMalformed;
export const describeWorkerMessage: typeof workerMessages.describe = workerMessages.describe;

// Records with every type as a key: adding a message type without listing it here fails to compile.
const ROOT_TYPES: Record<RootMessage['type'], true> = { request: true, ack: true, cancel: true };
const OPS: Record<Op, true> = {
  start: true,
  reload: true,
  scale: true,
  stop: true,
  kill: true,
  ping: true,
  metrics: true,
  requests: true,
  send: true,
  profile: true,
};
const PRIMARY_TYPES: Record<PrimaryMessage['type'], true> = {
  figures: true,
  hello: true,
  reply: true,
  profiling: true,
  chunk: true,
  worker: true,
  slot: true,
  app: true,
  backoff: true,
  error: true,
  warning: true,
  reload: true,
  canary: true,
  watch: true,
  watching: true,
  scaled: true,
  connections: true,
  guard: true,
  recycled: true,
  leader: true,
  publish: true,
  release: true,
  logfile: true,
  bye: true,
};

const typeIn = (types: Record<string, true>, value: unknown) =>
  typeof value === 'object' &&
  value !== null &&
  Object.hasOwn(types, (value as { type?: string }).type ?? '');

export function isRootMessage(value: unknown): value is RootMessage {
  if (!typeIn(ROOT_TYPES, value)) return false;
  const { type, id, request, seq } = value as {
    type: string;
    id?: unknown;
    request?: { op?: unknown };
    seq?: unknown;
  };
  if (type === 'cancel') return Number.isSafeInteger(id);
  if (type === 'ack') return Number.isSafeInteger(id) && Number.isSafeInteger(seq);
  return (
    Number.isSafeInteger(id) &&
    typeof request === 'object' &&
    request !== null &&
    Object.hasOwn(OPS, String(request.op))
  );
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return typeIn(PRIMARY_TYPES, value);
}

// A shared primary (`primaryGroup`, docs/shared-primaries.md): one process, the host, runs the primary of
// several apps, one context each. Each app's messages go through it wrapped with the app's name; the
// rest is the host's own.

/** Root -> a shared primary's host. */
export type HostRootMessage =
  /** Run a primary for this app in the host: its context says `hello` (wrapped) as a primary would. */
  | { type: 'attach'; app: string }
  /** A message to the app's primary. */
  | { type: 'to'; app: string; message: RootMessage }
  /**
   * What a signal to the app's own primary would do: SIGTERM (or SIGINT) stops its workers gracefully,
   * SIGKILL kills them now; either way its context ends (`ended`).
   */
  | { type: 'signal'; app: string; signal: NodeJS.Signals }
  /** No app is attached any more: the host exits (once it has no context left). */
  | { type: 'close' }
  /**
   * The root's stdout/stderr took this many more of the app's `output` messages (its write was accepted,
   * at once or after 'drain'), in the order sent: the host's window of output in flight moves on.
   */
  | { type: 'ack'; app: string; stdout: number; stderr: number };

/** A shared primary's host -> root. */
export type HostMessage =
  | { type: 'host'; version: number; pid: number }
  /** A message from the app's primary. */
  | { type: 'from'; app: string; message: PrimaryMessage }
  /** Whole lines of the app's workers' output, as a primary of its own writes them to its stdout/stderr. */
  | { type: 'output'; app: string; stream: 'stdout' | 'stderr'; text: string }
  /** The app's primary ended (as a primary of its own exits: with its code, or the signal that ended it). */
  | { type: 'ended'; app: string; code: number | null; signal: NodeJS.Signals | null };

const HOST_ROOT_TYPES: Record<HostRootMessage['type'], true> = {
  attach: true,
  to: true,
  signal: true,
  close: true,
  ack: true,
};
const HOST_TYPES: Record<HostMessage['type'], true> = { host: true, from: true, output: true, ended: true };

export function isHostRootMessage(value: unknown): value is HostRootMessage {
  if (!typeIn(HOST_ROOT_TYPES, value)) return false;
  const { type, app, stdout, stderr } = value as {
    type: string;
    app?: unknown;
    stdout?: unknown;
    stderr?: unknown;
  };
  if (type === 'close') return true;
  if (typeof app !== 'string') return false;
  // A count the host subtracts at once: a whole number, never negative.
  if (type === 'ack') return isCount(stdout) && isCount(stderr);
  return true;
}

const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;

export function isHostMessage(value: unknown): value is HostMessage {
  if (!typeIn(HOST_TYPES, value)) return false;
  const m = value as { type: string; app?: unknown; stream?: unknown; text?: unknown; code?: unknown };
  if (m.type === 'host') return true;
  if (typeof m.app !== 'string') return false;
  // The fields the root uses at once (writes, exits) are checked here, not trusted to the types.
  if (m.type === 'output')
    return (m.stream === 'stdout' || m.stream === 'stderr') && typeof m.text === 'string';
  if (m.type === 'ended') return m.code === null || typeof m.code === 'number';
  return true;
}
