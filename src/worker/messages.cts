// Every message between a worker and its primary on node:cluster's IPC channel, declared once: its
// shape (the interfaces, in message-shapes.cts: types only), how it is made (the builders) and its guard, which checks every field with its
// type and range and refuses fields it does not know. CommonJS, because the preload that sends most of
// them loads with --require into every worker; src/protocol.ts re-exports them for the primary.
//
// What a worker sends is user input: the app's own code can call process.send() with anything. A
// message that says it is clusterd's (an object with a `clusterd` key) and fails its guard is
// `malformed`: the primary counts it and ignores it (primary/process/channel.ts). Anything else the app
// sends (socket.io's adapter, its own protocol) is not clusterd's business and is left alone.
//
// Primary -> worker:
// - `drain`: stop taking new connections, finish what is in flight;
// - `beat` (guards.heartbeat), answered at once by the preload with `alive`, from the main thread;
// - `metrics` with a `seq` (primary/process/scrape.ts), answered by `sample` with the same `seq` (its
//   request counts in it: one answer per worker and scrape);
// - `counts` with a `seq` (primary/process/scrape-counts.ts), answered by `counted` with the same `seq`:
//   the worker's request counts (requests.cts);
// - `conn` (least-connections / sticky, primary/balance/handoff.ts) with an accepted connection's handle,
//   the listen's `id`, the handoff's `seq`, and with `stickyHeader` the bytes the primary read (`data`);
// - `listen-reply` to a worker's `listen`: the listen's `id` and address, or the bind's `errno`;
// - `leader-grant` with its `term` (1, 2, 3... per primary): this worker is the app's leader now;
// - `leader-revoke` with the same `term`: give it up (run the `stop` handlers), answer `leader-stopped`;
// - `msg` (clusterd/worker's onMessage): a `topic` and its `data` from a sibling's `broadcast` (`worker`,
//   `pid`: who sent it) or from outside (`clusterd send`: both null);
// - `msg-ask`: a sibling's `request`/`requestAll` to answer, under the primary's `ask` id (`msg-reply`);
// - `msg-result` to a `msg-request`, with its `id`: the `answers`, who is `missing` and why, or `dropped`.
// - `profile` (`clusterd profile`, `clusterd heap`): take a CPU profile for `durationMs`, or a heap
//   snapshot, under the root's request `id`; `profile-ack` with a chunk's `seq`: it was passed on, send
//   more; `profile-cancel`: stop, nobody reads it any more (worker/profile.cts).
// Worker -> primary:
// - `'ready'` (PM2's `process.send('ready')`) or `ready` (clusterd/worker's `ready()`);
// - `loaded`: with `readiness: "loaded"`, its entry module has run;
// - `listening` with its `address`: a listen node:cluster does not see (kernel and handoff balancings);
// - `drained`: those servers are closed; `open`: while it drains, the connections they still hold;
// - `keep-alive`: a server's keepAliveTimeout outlasts shutdown.timeout (once);
// - `alive`, `sample`, `counted`: the answers above;
// - `listen` (handoff.cts): a TCP listen, asked of the primary; `unlisten`: that server closed;
// - `conns`: per listen, the last handoff `seq` it has dealt with (`upTo`) and the connections closed
//   since the last report, once per turn of its event loop;
// - `bounce`: the connection of handoff `seq` was not taken (server full or closed): give it to another;
// - `leader-want` (clusterd/worker's `onLeadership`, once): this worker is a candidate for leadership;
// - `leader-stopped` with the revoke's `term`: its `stop` handlers have settled (leader.ts);
// - `msg-broadcast`: a `topic` and its `data` for every other worker of the app (messaging.cts);
// - `msg-request`: a `topic` and `data` for the others to answer (`all`: every one, else the first), its
//   own `id`, and how long it waits (`timeout`, ms); `msg-reply`: this worker's answer to a `msg-ask`;
// - `msg-publish`: a `topic` and `data` for `clusterd events` (the root's log).
// - `profile-begin` (taken: `bytes`, the loop's `pauseMs`, `ms`), `profile-chunk` (`seq`, base64 `data`,
//   at most a few unacknowledged), `profile-end`, or `profile-error` with why.
// A `topic` is 1 to 128 characters of A-Z a-z 0-9 . _ : / - (starting with a letter or digit); `data` is
// the app's own, whatever the channel carried (its size is bounded by the primary: primary/messages/).

import type {
  Alive,
  Beat,
  Bounce,
  Conn,
  Conns,
  Counted,
  Counts,
  CountsSample,
  Drain,
  Drained,
  KeepAlive,
  LeaderGrant,
  LeaderRevoke,
  LeaderStopped,
  LeaderWant,
  Listen,
  Listening,
  ListenReply,
  Loaded,
  Metrics,
  Msg,
  MsgAsk,
  MsgBroadcast,
  MsgPublish,
  MsgReply,
  MsgRequest,
  MsgResult,
  Open,
  Profile,
  ProfileAck,
  ProfileBegin,
  ProfileCancel,
  ProfileChunk,
  ProfileEnd,
  ProfileError,
  Ready,
  Sample,
  Sockname,
  Unlisten,
  WorkerSample,
} from './message-shapes.cjs';

type Check = (value: unknown) => boolean;
type Guard<T> = (message: unknown) => message is T;
type Fields = Record<string, Check>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const str: Check = (v) => typeof v === 'string';
/** A count: 0, 1, 2... (a safe integer: a huge or fractional number is not one). */
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
/** An identifier or sequence number: 1, 2, 3... */
const serial: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0;
/** A measured amount (bytes, µs, ms): finite and not negative. */
const amount: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const share: Check = (v) => amount(v) && (v as number) <= 1;
const port: Check = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65_535;
const integer: Check = (v) => Number.isSafeInteger(v);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const arrayOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);

/** An object with exactly these fields: each required one present, no other than the optional ones. */
function exact(required: Fields, optional: Fields = {}): Check {
  return (v) => {
    if (!isObject(v)) return false;
    for (const key of Object.keys(v)) {
      // Own keys of the tables only: `toString` or `__proto__` in a message is a field nobody declared.
      const check = Object.hasOwn(required, key)
        ? required[key]
        : Object.hasOwn(optional, key)
          ? optional[key]
          : null;
      if (!check?.(v[key])) return false;
    }
    return Object.keys(required).every((key) => Object.hasOwn(v, key));
  };
}

/** An array of exactly `length` elements, each passing `check`. */
const tuple =
  (length: number, check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.length === length && v.every(check);

/** A message's topic: short, printable, safe in a log line and a metric-free label. */
const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const topic: Check = (v) => typeof v === 'string' && TOPIC.test(v);
/** The app's payload: anything its channel carried (undefined included: JSON drops the key). */
const payload: Check = () => true;
/** The longest a request may wait (ms): 5 minutes. */
const MAX_REQUEST_TIMEOUT = 300_000;
const requestTimeout: Check = (v) =>
  Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_REQUEST_TIMEOUT;
/** An error's text in an answer, as the handler's error said it (cut to this length by the sender). */
const MAX_ERROR_TEXT = 1_024;
const errorText: Check = (v) => typeof v === 'string' && v.length <= MAX_ERROR_TEXT;
const bool: Check = (v) => typeof v === 'boolean';

const tagged = <T,>(tag: string, required: Fields = {}, optional: Fields = {}) =>
  exact({ clusterd: (v) => v === tag, ...required }, optional) as Guard<T>;

// The app's prom-client metrics (`getMetricsAsJSON()`): summed by the primary by prom-client's rules
// (primary/process/app-metrics.ts), so each must at least be one of prom-client's metrics: a name, HELP
// and TYPE, and values of a number (or null: a value may be NaN in the app, which JSON makes null; that
// is the app's figure, not clusterd's) and labels of strings and amounts; other fields are let through
// (prom-client's JSON varies by version). A loop, as a scrape checks every value of every worker's metrics.
function appMetric(v: unknown): boolean {
  if (!isObject(v) || !str(v.name) || !str(v.help) || !str(v.type) || !Array.isArray(v.values)) return false;
  for (const value of v.values as unknown[]) {
    if (!isObject(value)) return false;
    if (value.value !== null && typeof value.value !== 'number') return false;
    const labels = value.labels;
    if (labels === undefined) continue;
    if (!isObject(labels)) return false;
    for (const l of Object.values(labels)) if (!str(l) && !amount(l)) return false;
  }
  return true;
}

const isMsgResult = tagged<MsgResult>(
  'msg-result',
  {
    id: serial,
    answers: arrayOf(exact({ worker: count, pid: serial, ok: bool }, { data: payload, error: errorText })),
    missing: arrayOf(exact({ worker: count, pid: serial, reason: oneOf('no-handler', 'exited', 'timeout') })),
  },
  { dropped: oneOf('size', 'rate') },
);

/**
 * Buckets of a request histogram: request-buckets.cts's 59 bounds and the one above them. Written here
 * rather than required, so that this module requires nothing; test/worker/messages.test.ts holds the two
 * together.
 */
const HISTOGRAM_BUCKETS = 60;
const histogram = exact({ counts: tuple(HISTOGRAM_BUCKETS, count), sum: amount });

const requestCounts = exact({
  started: count,
  classes: tuple(5, count),
  aborted: count,
  latency: histogram,
  loopDelay: histogram,
});

const isCounted = tagged<Counted>('counted', {
  seq: serial,
  sample: exact({
    worker: count,
    pid: serial,
    at: count,
    rss: amount,
    counts: requestCounts,
  }),
});

const isSampleChecked = tagged<Sample>('sample', {
  seq: serial,
  sample: exact({
    worker: count,
    pid: serial,
    elu: share,
    delay: nullable(exact({ p50: amount, p99: amount, max: amount })),
    rss: amount,
    cpu: exact({ user: amount, system: amount }),
    app: nullable(arrayOf(appMetric)),
    requests: exact({ at: count, counts: requestCounts }),
  }),
});

// A sample is checked twice in the primary: by the channel, for the malformed count (isMalformed), and by
// the scrape that takes it (isSample); it is the largest message there is (the app's metrics), so the
// second time is the first's answer. Only what passed is remembered, by the object (nothing is kept).
const checkedSamples = new WeakSet<object>();
const isSample = ((message: unknown) => {
  if (isObject(message) && checkedSamples.has(message)) return true;
  if (!isSampleChecked(message)) return false;
  checkedSamples.add(message as object);
  return true;
}) as Guard<Sample>;

/** Worker -> primary, by tag: a message with one of these tags that fails its guard is malformed. */
const fromWorker = {
  ready: tagged<Ready>('ready'),
  loaded: tagged<Loaded>('loaded'),
  listening: tagged<Listening>('listening', { address: str }),
  drained: tagged<Drained>('drained'),
  'keep-alive': tagged<KeepAlive>('keep-alive', { timeout: amount }),
  open: tagged<Open>('open', { count }),
  alive: tagged<Alive>('alive'),
  sample: isSample,
  counted: isCounted,
  listen: tagged<Listen>('listen', {
    seq: serial,
    address: nullable(str),
    port,
    addressType: oneOf(4, 6),
    flags: count,
    backlog: nullable(integer),
    index: count,
  }),
  conns: tagged<Conns>('conns', { id: serial, upTo: count, closed: count }),
  unlisten: tagged<Unlisten>('unlisten', { id: serial }),
  bounce: tagged<Bounce>('bounce', { seq: serial }),
  'leader-want': tagged<LeaderWant>('leader-want'),
  'leader-stopped': tagged<LeaderStopped>('leader-stopped', { term: serial }),
  'msg-broadcast': tagged<MsgBroadcast>('msg-broadcast', { topic }, { data: payload }),
  'msg-request': tagged<MsgRequest>(
    'msg-request',
    { id: serial, topic, all: bool, timeout: requestTimeout },
    { data: payload },
  ),
  'msg-reply': tagged<MsgReply>(
    'msg-reply',
    { ask: serial, outcome: oneOf('answer', 'error', 'no-handler') },
    { data: payload, error: errorText },
  ),
  'msg-publish': tagged<MsgPublish>('msg-publish', { topic }, { data: payload }),
  'profile-begin': tagged<ProfileBegin>('profile-begin', {
    id: serial,
    bytes: count,
    pauseMs: amount,
    ms: amount,
  }),
  'profile-chunk': tagged<ProfileChunk>('profile-chunk', { id: serial, seq: serial, data: str }),
  'profile-end': tagged<ProfileEnd>('profile-end', { id: serial }),
  'profile-error': tagged<ProfileError>('profile-error', { id: serial, error: errorText }),
};

type FromWorker = typeof fromWorker;

const listenReply = (v: unknown) =>
  exact({
    clusterd: (t) => t === 'listen-reply',
    seq: serial,
    id: serial,
    sockname: exact({}, { address: str, family: str, port }),
  })(v) ||
  exact({ clusterd: (t) => t === 'listen-reply', seq: serial, errno: (e) => integer(e) && e !== 0 })(v);

/**
 * Whether `message` says it is clusterd's (an object with a `clusterd` key) but is not a message a worker
 * sends, field by field. PM2's string `'ready'`, and anything without the key, are not.
 */
function isMalformed(message: unknown): boolean {
  if (!isObject(message) || !Object.hasOwn(message, 'clusterd')) return false;
  const tag = message.clusterd;
  const guard =
    typeof tag === 'string' && Object.hasOwn(fromWorker, tag) ? fromWorker[tag as keyof FromWorker] : null;
  return !guard?.(message);
}

/** The tag of a malformed message, for the log: short and printable, whatever the app sent. */
function describe(message: unknown): string {
  const tag = isObject(message) ? message.clusterd : undefined;
  return typeof tag === 'string' ? JSON.stringify(tag.slice(0, 40)) : typeof tag;
}

const messages = {
  // Builders: what clusterd sends.
  drain: { clusterd: 'drain' } as Drain,
  beat: { clusterd: 'beat' } as Beat,
  metrics: (seq: number): Metrics => ({ clusterd: 'metrics', seq }),
  counts: (seq: number): Counts => ({ clusterd: 'counts', seq }),
  conn: (id: number, seq: number, data?: string): Conn =>
    data === undefined ? { clusterd: 'conn', id, seq } : { clusterd: 'conn', id, seq, data },
  listenReply: (reply: { seq: number; id: number; sockname: Sockname } | { seq: number; errno: number }) =>
    ({ clusterd: 'listen-reply', ...reply }) as ListenReply,
  ready: { clusterd: 'ready' } as Ready,
  loaded: { clusterd: 'loaded' } as Loaded,
  listening: (address: string): Listening => ({ clusterd: 'listening', address }),
  drained: { clusterd: 'drained' } as Drained,
  keepAlive: (timeout: number): KeepAlive => ({ clusterd: 'keep-alive', timeout }),
  open: (count: number): Open => ({ clusterd: 'open', count }),
  alive: { clusterd: 'alive' } as Alive,
  sample: (seq: number, sample: WorkerSample): Sample => ({ clusterd: 'sample', seq, sample }),
  counted: (seq: number, sample: CountsSample): Counted => ({ clusterd: 'counted', seq, sample }),
  listen: (fields: Omit<Listen, 'clusterd'>): Listen => ({ clusterd: 'listen', ...fields }),
  conns: (id: number, upTo: number, closed: number): Conns => ({ clusterd: 'conns', id, upTo, closed }),
  unlisten: (id: number): Unlisten => ({ clusterd: 'unlisten', id }),
  bounce: (seq: number): Bounce => ({ clusterd: 'bounce', seq }),
  leaderGrant: (term: number): LeaderGrant => ({ clusterd: 'leader-grant', term }),
  leaderRevoke: (term: number): LeaderRevoke => ({ clusterd: 'leader-revoke', term }),
  leaderWant: { clusterd: 'leader-want' } as LeaderWant,
  leaderStopped: (term: number): LeaderStopped => ({ clusterd: 'leader-stopped', term }),
  msgBroadcast: (topic: string, data: unknown): MsgBroadcast => ({ clusterd: 'msg-broadcast', topic, data }),
  msgRequest: (fields: Omit<MsgRequest, 'clusterd'>): MsgRequest => ({ clusterd: 'msg-request', ...fields }),
  msgReply: (fields: Omit<MsgReply, 'clusterd'>): MsgReply => ({ clusterd: 'msg-reply', ...fields }),
  msgPublish: (topic: string, data: unknown): MsgPublish => ({ clusterd: 'msg-publish', topic, data }),
  msg: (fields: Omit<Msg, 'clusterd'>): Msg => ({ clusterd: 'msg', ...fields }),
  msgAsk: (fields: Omit<MsgAsk, 'clusterd'>): MsgAsk => ({ clusterd: 'msg-ask', ...fields }),
  msgResult: (fields: Omit<MsgResult, 'clusterd'>): MsgResult => ({ clusterd: 'msg-result', ...fields }),
  profile: (id: number, kind: Profile['kind'], durationMs: number): Profile => ({
    clusterd: 'profile',
    id,
    kind,
    durationMs,
  }),
  profileAck: (id: number, seq: number): ProfileAck => ({ clusterd: 'profile-ack', id, seq }),
  profileCancel: (id: number): ProfileCancel => ({ clusterd: 'profile-cancel', id }),
  profileBegin: (fields: Omit<ProfileBegin, 'clusterd'>): ProfileBegin => ({
    clusterd: 'profile-begin',
    ...fields,
  }),
  profileChunk: (id: number, seq: number, data: string): ProfileChunk => ({
    clusterd: 'profile-chunk',
    id,
    seq,
    data,
  }),
  profileEnd: (id: number): ProfileEnd => ({ clusterd: 'profile-end', id }),
  profileError: (id: number, error: string): ProfileError => ({
    clusterd: 'profile-error',
    id,
    error: error.slice(0, MAX_ERROR_TEXT),
  }),
  /** Whether `value` is a topic a message may carry. */
  isTopic: (value: unknown): value is string => topic(value),
  MAX_REQUEST_TIMEOUT,
  MAX_ERROR_TEXT,
  HISTOGRAM_BUCKETS,

  // Guards, primary -> worker (the worker's side).
  isDrain: tagged<Drain>('drain'),
  isBeat: tagged<Beat>('beat'),
  isMetrics: tagged<Metrics>('metrics', { seq: serial }),
  isCounts: tagged<Counts>('counts', { seq: serial }),
  isConn: tagged<Conn>('conn', { id: serial, seq: serial }, { data: str }),
  isListenReply: listenReply as Guard<ListenReply>,
  isLeaderGrant: tagged<LeaderGrant>('leader-grant', { term: serial }),
  isLeaderRevoke: tagged<LeaderRevoke>('leader-revoke', { term: serial }),
  isMsg: tagged<Msg>('msg', { topic, worker: nullable(count), pid: nullable(serial) }, { data: payload }),
  isMsgAsk: tagged<MsgAsk>('msg-ask', { ask: serial, topic, worker: count, pid: serial }, { data: payload }),
  isMsgResult,
  isProfile: tagged<Profile>('profile', { id: serial, kind: oneOf('cpu', 'heap'), durationMs: count }),
  isProfileAck: tagged<ProfileAck>('profile-ack', { id: serial, seq: serial }),
  isProfileCancel: tagged<ProfileCancel>('profile-cancel', { id: serial }),

  // Guards, worker -> primary (the primary's side).
  isReady: ((m: unknown) => m === 'ready' || fromWorker.ready(m)) as Guard<'ready' | Ready>,
  isLoaded: fromWorker.loaded,
  isListening: fromWorker.listening,
  isDrained: fromWorker.drained,
  isKeepAlive: fromWorker['keep-alive'],
  isOpen: fromWorker.open,
  isAlive: fromWorker.alive,
  isSample,
  isCounted,
  isListen: fromWorker.listen,
  isConns: fromWorker.conns,
  isUnlisten: fromWorker.unlisten,
  isBounce: fromWorker.bounce,
  isLeaderWant: fromWorker['leader-want'],
  isLeaderStopped: fromWorker['leader-stopped'],
  isMsgBroadcast: fromWorker['msg-broadcast'],
  isMsgRequest: fromWorker['msg-request'],
  isMsgReply: fromWorker['msg-reply'],
  isMsgPublish: fromWorker['msg-publish'],
  isProfileBegin: fromWorker['profile-begin'],
  isProfileChunk: fromWorker['profile-chunk'],
  isProfileEnd: fromWorker['profile-end'],
  isProfileError: fromWorker['profile-error'],
  isMalformed,
  describe,
};

export = messages;
