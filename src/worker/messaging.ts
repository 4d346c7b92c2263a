// The worker's side of clusterd/worker's messaging API (broadcast, onMessage, request, requestAll,
// publish); the primary's is primary/messages/. An ES module, loaded by clusterd/worker only: until it is
// (or if the app never loads it), the preload answers a sibling's request at once ("no handler") rather
// than leave it to its timeout; once it is, the preload's listener hands every message to `dispatch` in
// the global below. Handlers and pending requests are kept there, whichever copy of clusterd/worker the
// app loads.
//
// - onMessage(topic, handler): the handler gets (data, from) for a sibling's broadcast, a message from
//   outside (`clusterd send`: from.worker and from.pid are null) and a sibling's request; for a request,
//   this worker's answer is what its first handler of the topic (in the order they were added) returns
//   or resolves to, or its error; the others run too. A handler's error elsewhere is logged on stderr.
// - request: the primary asks every other live worker; the first answer of a handler to reach it wins
//   (a throw is an answer: the request rejects with it). requestAll resolves with every answer and who
//   is missing (no handler, exited, timeout); it rejects only when the request itself failed (dropped
//   by the primary's limits, the channel closed, no result from the primary at all).
// - Both end at the latest at `timeout` (the primary's timer), and this worker's own timer 1 s later
//   ends them if the primary's result never comes; a closed channel ends them at once.
// Without clusterd (a process not run by it, or a `command` program): alone, nobody to talk to.
import cluster from 'node:cluster';
import messages from './messages.cjs';

interface MessageFrom {
  /** The sender's slot and pid; null for a message from outside (`clusterd send`). */
  worker: number | null;
  pid: number | null;
}
type MessageHandler = (data: unknown, from: MessageFrom) => unknown;

interface Answer {
  worker: number;
  pid: number;
  ok: boolean;
  data?: unknown;
  error?: string;
}
interface Missing {
  worker: number;
  pid: number;
  reason: 'no-handler' | 'exited' | 'timeout';
}
interface RequestAllResult {
  /** Each sibling's answer (ok: its handler's value; not ok: its error), in the order they came. */
  answers: Answer[];
  /** The siblings asked that gave none, and why. */
  missing: Missing[];
}

type MessageErrorCode =
  | 'no-workers'
  | 'no-handler'
  | 'exited'
  | 'timeout'
  | 'handler'
  | 'dropped'
  | 'disconnected';

/** Why a `request` failed: `code` says which; `worker`/`pid` name the sibling whose handler threw. */
class MessageError extends Error {
  override readonly name = 'MessageError';
  constructor(
    readonly code: MessageErrorCode,
    message: string,
    readonly worker: number | null = null,
    readonly pid: number | null = null,
  ) {
    super(message);
  }
}

interface Pending {
  settle: (
    result: { answers: Answer[]; missing: Missing[]; dropped?: 'size' | 'rate' } | MessageError,
  ) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface MessagingState {
  handlers: Map<string, MessageHandler[]>;
  pending: Map<number, Pending>;
  nextId: number;
  installed: boolean;
  /** Set by the preload: its listener hands the primary's messages to `dispatch` once there is one. */
  preloaded?: boolean;
  dispatch?: (message: unknown) => void;
}

const KEY = Symbol.for('clusterd.messaging');
const holder = globalThis as unknown as Record<symbol, Partial<MessagingState> | undefined>;
holder[KEY] ??= {};
const partial = holder[KEY];
partial.handlers ??= new Map();
partial.pending ??= new Map();
partial.nextId ??= 1;
partial.installed ??= false;
const state = partial as MessagingState;

/** The default and the bound of a request's timeout (ms). */
const DEFAULT_TIMEOUT = 5_000;
/** After the primary's timeout, how long this worker waits for its result before it gives up itself. */
const GRACE_MS = 1_000;

const connected = (): boolean =>
  cluster.isWorker &&
  typeof process.send === 'function' &&
  process.connected &&
  process.env.CLUSTERD_APP !== undefined;

function checkTopic(topic: unknown): asserts topic is string {
  if (!messages.isTopic(topic))
    throw new TypeError(
      `clusterd: a topic is 1 to 128 characters of A-Z a-z 0-9 . _ : / - starting with a letter or digit, got ${JSON.stringify(String(topic).slice(0, 40))}`,
    );
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, messages.MAX_ERROR_TEXT);
}

function logFailure(error: unknown): void {
  console.error('clusterd: an onMessage handler failed:', error);
}

/** Runs every handler of `topic`; the first one's result (a promise) is the answer. */
function runHandlers(handlers: MessageHandler[], data: unknown, from: MessageFrom): Promise<unknown> {
  const results = handlers.map((h) => {
    try {
      return Promise.resolve(h(data, from));
    } catch (error) {
      return Promise.reject(error);
    }
  });
  for (const other of results.slice(1)) other.catch(logFailure);
  return results[0] as Promise<unknown>;
}

function send(message: object): void {
  if (process.connected) process.send?.(message);
}

async function answer(ask: number, topic: string, data: unknown, from: MessageFrom): Promise<void> {
  const handlers = state.handlers.get(topic);
  if (!handlers?.length) return send(messages.msgReply({ ask, outcome: 'no-handler' }));
  let reply: object;
  try {
    const value = await runHandlers([...handlers], data, from);
    reply = messages.msgReply(
      value === undefined ? { ask, outcome: 'answer' } : { ask, outcome: 'answer', data: value },
    );
  } catch (error) {
    reply = messages.msgReply({ ask, outcome: 'error', error: errorText(error) });
  }
  try {
    send(reply);
  } catch (error) {
    // Its value cannot go on the channel (a function, or a Map with `serialization: "json"`...).
    send(
      messages.msgReply({
        ask,
        outcome: 'error',
        error: `the answer could not be sent: ${errorText(error)}`,
      }),
    );
  }
}

function onPrimaryMessage(message: unknown): void {
  if (messages.isMsg(message)) {
    const handlers = state.handlers.get(message.topic);
    const from = { worker: message.worker, pid: message.pid };
    for (const handler of [...(handlers ?? [])]) runHandlers([handler], message.data, from).catch(logFailure);
  } else if (messages.isMsgAsk(message)) {
    void answer(message.ask, message.topic, message.data, { worker: message.worker, pid: message.pid });
  } else if (messages.isMsgResult(message)) {
    const pending = state.pending.get(message.id);
    if (!pending) return;
    state.pending.delete(message.id);
    clearTimeout(pending.timer);
    pending.settle(message);
  }
}

function failAll(error: MessageError): void {
  const pending = [...state.pending.values()];
  state.pending.clear();
  for (const p of pending) {
    clearTimeout(p.timer);
    p.settle(error);
  }
}

/** Listens to the primary, once per process (through the preload's listener when it runs). */
function install(): void {
  if (state.installed || !cluster.isWorker || typeof process.send !== 'function') return;
  state.installed = true;
  state.dispatch = onPrimaryMessage;
  if (!state.preloaded) process.on('message', onPrimaryMessage);
  process.once('disconnect', () =>
    failAll(new MessageError('disconnected', 'the channel to clusterd closed')),
  );
}

function ask(
  topic: string,
  data: unknown,
  all: boolean,
  timeout: number,
): Promise<Parameters<Pending['settle']>[0]> {
  checkTopic(topic);
  if (!(Number.isSafeInteger(timeout) && timeout >= 1 && timeout <= messages.MAX_REQUEST_TIMEOUT))
    throw new RangeError(
      `clusterd: a request's timeout is 1 to ${messages.MAX_REQUEST_TIMEOUT} ms, got ${timeout}`,
    );
  if (!connected()) return Promise.resolve({ answers: [], missing: [] });
  install();
  const id = state.nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      state.pending.delete(id);
      resolve(new MessageError('timeout', `no result from clusterd within ${timeout + GRACE_MS} ms`));
    }, timeout + GRACE_MS);
    state.pending.set(id, { settle: resolve, timer });
    try {
      process.send?.(messages.msgRequest({ id, topic, data, all, timeout }));
    } catch (error) {
      state.pending.delete(id);
      clearTimeout(timer);
      throw error;
    }
  });
}

/** Why a `request` got no answer, from who was missing. */
function noAnswer(topic: string, missing: Missing[]): MessageError {
  if (!missing.length) return new MessageError('no-workers', `no other worker is up to answer ${topic}`);
  if (missing.some((m) => m.reason === 'timeout'))
    return new MessageError('timeout', `no answer to ${topic} in time`);
  if (missing.every((m) => m.reason === 'no-handler'))
    return new MessageError('no-handler', `no other worker has a handler for ${topic}`);
  return new MessageError('exited', `the workers that could answer ${topic} exited first`);
}

const messaging = {
  MessageError,

  onMessage(topic: string, handler: MessageHandler): () => void {
    checkTopic(topic);
    if (typeof handler !== 'function') throw new TypeError('clusterd: onMessage needs a handler function');
    install();
    const list = state.handlers.get(topic) ?? [];
    list.push(handler);
    state.handlers.set(topic, list);
    return () => {
      const now = state.handlers.get(topic);
      const at = now?.indexOf(handler) ?? -1;
      if (now && at >= 0) now.splice(at, 1);
      if (now && !now.length) state.handlers.delete(topic);
    };
  },

  broadcast(topic: string, data: unknown): void {
    checkTopic(topic);
    if (connected()) process.send?.(messages.msgBroadcast(topic, data));
  },

  publish(topic: string, data: unknown): void {
    checkTopic(topic);
    if (connected()) process.send?.(messages.msgPublish(topic, data));
  },

  async request(topic: string, data: unknown, options: { timeout?: number } = {}): Promise<unknown> {
    const result = await ask(topic, data, false, options.timeout ?? DEFAULT_TIMEOUT);
    if (result instanceof MessageError) throw result;
    if (result.dropped)
      throw new MessageError('dropped', `the request was dropped: over clusterd's ${result.dropped} limit`);
    const [first] = result.answers;
    if (!first) throw noAnswer(topic, result.missing);
    if (!first.ok)
      throw new MessageError('handler', first.error ?? 'the handler failed', first.worker, first.pid);
    return first.data;
  },

  async requestAll(
    topic: string,
    data: unknown,
    options: { timeout?: number } = {},
  ): Promise<RequestAllResult> {
    const result = await ask(topic, data, true, options.timeout ?? DEFAULT_TIMEOUT);
    if (result instanceof MessageError) throw result;
    if (result.dropped)
      throw new MessageError('dropped', `the request was dropped: over clusterd's ${result.dropped} limit`);
    return { answers: result.answers, missing: result.missing };
  },
};

export default messaging;
