// `clusterd/worker`: optional helpers for apps run by clusterd. They also work without clusterd (then
// `ready()` does nothing, `onShutdown` handlers run on SIGTERM, and the lone process leads at once).

import drainHandlers from './drain-handlers.cjs';
import leader from './leader.js';
import messages from './messages.cjs';
import messaging from './messaging.js';
import state from './state.cjs';

/**
 * Tells clusterd this worker is ready to serve, for apps with `readiness: "message"` (the same as
 * PM2's `process.send('ready')`).
 */
export function ready(): void {
  process.send?.(messages.ready);
}

/** True once clusterd has started to stop this worker (it no longer receives new connections). */
export function isDraining(): boolean {
  return state.isDraining();
}

/** What an `onDrain` handler is given. */
export type Drain = ReturnType<typeof drainHandlers.makeDrain>;
export type DrainHandler = (drain: Drain) => unknown;

/**
 * Runs `handler` when clusterd starts to stop this worker (a reload, a scale down, a stop), before its
 * servers have closed: the moment to close what the drain of HTTP servers does not end by itself
 * (WebSockets, server-sent events, long polls), in the protocol's own way. `drain.spread(items, close)`
 * spaces those closes over the app's `shutdown.spread`, so that clients do not all reconnect at once:
 *
 *     onDrain((drain) => drain.spread(wss.clients, (ws) => ws.close(1012, 'service restart')));
 *
 * A handler registered once the drain has begun runs at once. Without clusterd it never runs.
 */
export function onDrain(handler: DrainHandler): void {
  drainHandlers.add(state.shared, handler);
}

let installed = false;
let shuttingDown: Promise<void> | null = null;

// Runs every handler once, then exits. Triggered by whichever comes first: the end of clusterd's drain
// (the IPC channel closes once the servers are closed) or the stop signal.
function runShutdown(): Promise<void> {
  shuttingDown ??= Promise.allSettled(state.shared.shutdownHandlers.map(async (h) => h())).then((results) => {
    for (const r of results)
      if (r.status === 'rejected') console.error('clusterd: an onShutdown handler failed:', r.reason);
    process.exit(0);
  });
  return shuttingDown;
}

/**
 * Runs `handler` when the worker is being stopped, after its servers have closed (every request in flight
 * answered): close database pools, flush buffers. The worker exits once every handler has settled, or
 * is killed at the app's `shutdown.timeout`. Without clusterd, handlers run on SIGTERM.
 */
export function onShutdown(handler: () => unknown): void {
  state.shared.shutdownHandlers.push(handler);
  if (installed) return;
  installed = true;
  const signal = (process.env.CLUSTERD_SHUTDOWN_SIGNAL ?? 'SIGTERM') as NodeJS.Signals;
  process.once(signal, () => void runShutdown());
  process.once('disconnect', () => {
    if (state.isDraining()) void runShutdown();
  });
}

/** True while this worker is its app's leader: from its grant until the primary revokes it. */
export function isLeader(): boolean {
  return leader.isLeader();
}

/**
 * Runs `start` when this worker becomes the app's leader, and `stop` when it must give leadership up (it
 * drains: a reload, a scale down, a stop, a guard's replacement). At most one live, ready worker of the
 * app leads at a time, among those that called onLeadership: the next leader's `start` runs only after
 * this one's `stop` has settled (it may return a promise: the primary waits for it), or after this worker
 * was killed for not settling within the app's `shutdown.timeout`, or after it died. The place for
 * what must run in one instance only, a cron job:
 *
 *     onLeadership(() => job.start(), () => job.stop());
 *
 * A worker that leads and dies never runs `stop`. Without clusterd the process is alone and leads at once
 * (`stop` never runs); an instance of a `command` program never leads. See docs/leader.md.
 */
export function onLeadership(start: () => unknown, stop: () => unknown): void {
  leader.onLeadership(start, stop);
}

/** A handler of `onMessage`: its value (or promise) answers a sibling's request. */
export type MessageHandler = Parameters<typeof messaging.onMessage>[1];
/** Who sent a message: a sibling's slot and pid, or null for both from outside (`clusterd send`). */
export type MessageFrom = Parameters<MessageHandler>[1];
/** What `requestAll` resolves with. */
export type RequestAllResult = Awaited<ReturnType<typeof messaging.requestAll>>;
export type Answer = RequestAllResult['answers'][number];
export type Missing = RequestAllResult['missing'][number];
export type MessageErrorCode = InstanceType<typeof messaging.MessageError>['code'];

/** Why a `request` or `requestAll` failed; `code` says which (docs/messages.md). */
export const MessageError: typeof messaging.MessageError = messaging.MessageError;

/**
 * Runs `handler(data, from)` for every message on `topic`: a sibling's `broadcast`, a message from outside
 * (`clusterd send`, the client's `send`: `from.worker` is null) and a sibling's `request`/`requestAll`,
 * whose answer is what the first handler of the topic returns (or its promise resolves to), or its
 * error. A topic is 1 to 128 characters of `A-Z a-z 0-9 . _ : / -`. Returns how to remove the handler.
 */
export function onMessage(topic: string, handler: MessageHandler): () => void {
  return messaging.onMessage(topic, handler);
}

/**
 * Sends `data` on `topic` to every other live worker of the app (draining ones too, while their channel
 * is up); a worker that starts later does not get it (nothing is replayed). Fire and forget.
 */
export function broadcast(topic: string, data?: unknown): void {
  messaging.broadcast(topic, data);
}

/**
 * Asks every other live worker; resolves with the first answer of a handler to reach clusterd's primary,
 * or rejects with a `MessageError` (the handler's error: `handler`; none up: `no-workers`; no handler:
 * `no-handler`; they exited first: `exited`; `timeout`, 5 s by default). Never waits past the timeout.
 */
export function request(topic: string, data?: unknown, options?: { timeout?: number }): Promise<unknown> {
  return messaging.request(topic, data, options);
}

/**
 * Asks every other live worker and resolves with every answer and who is missing (no handler, exited,
 * timeout) once each has answered or is missing, at the latest at the timeout (5 s by default).
 */
export function requestAll(
  topic: string,
  data?: unknown,
  options?: { timeout?: number },
): Promise<RequestAllResult> {
  return messaging.requestAll(topic, data, options);
}

/** An event for `clusterd events` and the client's `events()` (PM2's bus): `data` as JSON, up to 16 KiB. */
export function publish(topic: string, data?: unknown): void {
  messaging.publish(topic, data);
}
