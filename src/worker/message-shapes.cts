// The shapes of the messages declared in messages.cts (their builders and guards are there): types only,
// erased at run time, so that messages.cts requires nothing (the preload, the primary and the tests load
// it as it is). CommonJS, as messages.cts.

// The shapes. `clusterd` is the tag of each.
export interface Drain {
  clusterd: 'drain';
}
export interface Beat {
  clusterd: 'beat';
}
export interface Metrics {
  clusterd: 'metrics';
  seq: number;
}
export interface Counts {
  clusterd: 'counts';
  seq: number;
}
export interface Conn {
  clusterd: 'conn';
  /** The listen (its `listen-reply` id). */
  id: number;
  /** This handoff, acknowledged by `conns.upTo` or sent back by `bounce`. */
  seq: number;
  /** The bytes the primary read of it (`stickyHeader`), base64. */
  data?: string;
}
export interface Sockname {
  address?: string;
  family?: string;
  port?: number;
}
export type ListenReply =
  | { clusterd: 'listen-reply'; seq: number; id: number; sockname: Sockname }
  | { clusterd: 'listen-reply'; seq: number; errno: number };
export interface Ready {
  clusterd: 'ready';
}
export interface Loaded {
  clusterd: 'loaded';
}
export interface Listening {
  clusterd: 'listening';
  address: string;
}
export interface Drained {
  clusterd: 'drained';
}
export interface KeepAlive {
  clusterd: 'keep-alive';
  /** The server's keepAliveTimeout (ms); 0: none. */
  timeout: number;
}
export interface Open {
  clusterd: 'open';
  count: number;
}
export interface Alive {
  clusterd: 'alive';
}
/** One worker's answer to a metrics scrape, measured in the worker (metrics.cts). */
export interface WorkerSample {
  /** Its slot. */
  worker: number;
  pid: number;
  /** Event-loop utilization (0..1) since the previous scrape, or since the worker started. */
  elu: number;
  /** Event-loop delay since the previous scrape (ms); null on the first, which starts measuring it. */
  delay: { p50: number; p99: number; max: number } | null;
  /** Resident set size (bytes). */
  rss: number;
  /** CPU time used since the worker started (µs). */
  cpu: { user: number; system: number };
  /** The app's prom-client metrics (`getMetricsAsJSON()` of each copy's default registry), if it has any. */
  app: unknown[] | null;
  /**
   * Its request counts, as `counted` gives them (`at`: Date.now() in the worker; CountsSample's): a
   * scrape asks each worker once for both.
   */
  requests: { at: number; counts: CountsSample['counts'] };
}
export interface Sample {
  clusterd: 'sample';
  seq: number;
  sample: WorkerSample;
}
/** A histogram of the request metrics: counts per bucket (request-buckets.cts's, and one above) and the sum (ms). */
export interface CountedHistogram {
  counts: number[];
  sum: number;
}
/**
 * One worker's request counts, cumulative since it started (requests.cts): health/request-stats.ts's
 * CountsSample, whose documentation says what each field counts.
 */
export interface CountsSample {
  worker: number;
  pid: number;
  /** Date.now() in the worker. */
  at: number;
  rss: number;
  counts: {
    started: number;
    classes: [number, number, number, number, number];
    aborted: number;
    latency: CountedHistogram;
    loopDelay: CountedHistogram;
  };
}
export interface Counted {
  clusterd: 'counted';
  seq: number;
  sample: CountsSample;
}
export interface Listen {
  clusterd: 'listen';
  seq: number;
  address: string | null;
  port: number;
  addressType: 4 | 6;
  flags: number;
  backlog: number | null;
  /** Which of this worker's identical listens (two servers on port 0 are two listens). */
  index: number;
}
export interface Conns {
  clusterd: 'conns';
  id: number;
  /** The last handoff `seq` this worker has dealt with (taken or sent back), on any listen; 0: none. */
  upTo: number;
  /** Connections of this listen closed since the last report. */
  closed: number;
}
export interface Unlisten {
  clusterd: 'unlisten';
  id: number;
}
export interface Bounce {
  clusterd: 'bounce';
  seq: number;
}
export interface LeaderGrant {
  clusterd: 'leader-grant';
  term: number;
}
export interface LeaderRevoke {
  clusterd: 'leader-revoke';
  term: number;
}
export interface LeaderWant {
  clusterd: 'leader-want';
}
export interface LeaderStopped {
  clusterd: 'leader-stopped';
  term: number;
}

// The messaging API (messaging.cts, primary/messages/). `data` is the app's; `worker`, `pid`: the sender's
// slot and pid (both null on a `msg` from outside: `clusterd send`).
export type Topical<Tag extends string> = { clusterd: Tag; topic: string; data?: unknown };
export type MsgBroadcast = Topical<'msg-broadcast'>;
export type MsgPublish = Topical<'msg-publish'>;
/** `id`: the requester's own (1, 2, 3...); `all`: requestAll; `timeout`: ms. */
export type MsgRequest = Topical<'msg-request'> & { id: number; all: boolean; timeout: number };
/** `ask`: the primary's id of the `msg-ask` answered; `outcome`: the handler's value, its error, or none. */
export interface MsgReply {
  clusterd: 'msg-reply';
  ask: number;
  outcome: 'answer' | 'error' | 'no-handler';
  data?: unknown;
  error?: string;
}
export type Msg = Topical<'msg'> & { worker: number | null; pid: number | null };
export type MsgAsk = Topical<'msg-ask'> & { ask: number; worker: number; pid: number };
/** Each sibling's answer, who gave none and why; `dropped`: the request was, by the primary's limits. */
export interface MsgResult {
  clusterd: 'msg-result';
  id: number;
  answers: { worker: number; pid: number; ok: boolean; data?: unknown; error?: string }[];
  missing: { worker: number; pid: number; reason: 'no-handler' | 'exited' | 'timeout' }[];
  dropped?: 'size' | 'rate';
}
// `clusterd profile` and `clusterd heap` (worker/profile.cts): `id` is the root's request id.
export interface Profile {
  clusterd: 'profile';
  id: number;
  kind: 'cpu' | 'heap';
  /** How long a CPU profile runs (ms); 0 for a heap snapshot. */
  durationMs: number;
}
/** The chunks up to `seq` were passed on: the worker may send more. */
export interface ProfileAck {
  clusterd: 'profile-ack';
  id: number;
  seq: number;
}
export interface ProfileCancel {
  clusterd: 'profile-cancel';
  id: number;
}
/** The profile is taken: its size in bytes, how long the worker's event loop was blocked, and taking it. */
export interface ProfileBegin {
  clusterd: 'profile-begin';
  id: number;
  bytes: number;
  pauseMs: number;
  ms: number;
}
/** A piece of the file, base64, `seq` 1, 2, 3... */
export interface ProfileChunk {
  clusterd: 'profile-chunk';
  id: number;
  seq: number;
  data: string;
}
export interface ProfileEnd {
  clusterd: 'profile-end';
  id: number;
}
export interface ProfileError {
  clusterd: 'profile-error';
  id: number;
  error: string;
}
