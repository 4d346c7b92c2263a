// The primary side of socket.io's cluster adapter (`@socket.io/cluster-adapter`, 0.3), which a primary of
// the app's own would run with the package's `setupPrimary()`. Under clusterd the primary is clusterd's,
// so it does it: each worker's adapter sends its messages to the primary (`process.send`, with
// `source: "_sio_adapter"`), and the primary passes them on:
// - a response (`requesterUid` set: the answer to a `fetchSockets()` or a `serverSideEmit` with an ack)
//   goes to the one worker whose adapter has that uid, as learned from the `uid` of what it sent before;
// - anything else (a broadcast, a room change, a request, a heartbeat) goes to every other worker.
// Draining workers are among them: their clients are still connected until they close. Nothing is
// parsed beyond the routing fields, and a message that is not the adapter's is not looked at.
// When a worker's channel closes (it exits; with round-robin balancing, already when its drain begins:
// it can answer nothing more), the others are told that its adapters closed (the adapter's own
// ADAPTER_CLOSE, in its name), as the adapter does when its server closes: otherwise they would count it for a
// `fetchSockets()` or an acknowledged `serverSideEmit` until its heartbeats had been missing for 10 s,
// and each such request would wait for its timeout and fail. (The package's own `setupPrimary()` of
// 0.2 told them the same with a message of its own; 0.3 leaves it to the heartbeats.)
//
// The decision is `routeAdapterMessage`, pure; `relaySocketIo` wires it to node:cluster's workers.
import type { Worker } from 'node:cluster';
import type { ClusterEvents } from '../process/cluster-view.js';

export const ADAPTER_SOURCE = '_sio_adapter';
/** socket.io-adapter's `MessageType.ADAPTER_CLOSE` (2.5). */
export const ADAPTER_CLOSE = 13;
/** The adapter's uids a worker may have (one per namespace it uses); more are not remembered. */
export const MAX_UIDS = 256;
const MAX_UID_LENGTH = 128;
const NONE: Uids = new Set<string>();

/** What the relay reads of one of the adapter's messages. */
export interface AdapterMessage {
  source: typeof ADAPTER_SOURCE;
  uid: string;
  /** The namespace of the adapter that sent it. */
  nsp: string;
  requesterUid?: string;
}

const isUid = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_UID_LENGTH;

/** One of the adapter's messages, as far as routing goes (the rest is the workers' business). */
export function isAdapterMessage(message: unknown): message is AdapterMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  if (m.source !== ADAPTER_SOURCE || !isUid(m.uid) || typeof m.nsp !== 'string') return false;
  return m.requesterUid === undefined || isUid(m.requesterUid);
}

/** What the other workers are told of each adapter of a worker that exited. */
export function adapterClosed(uid: string, nsp: string) {
  return { source: ADAPTER_SOURCE, type: ADAPTER_CLOSE, uid, nsp };
}

/** The adapter uids seen from one worker (a set of them, or the relay's map of uid -> namespace). */
export interface Uids {
  has(uid: string): boolean;
}

/** Where a message goes: the ids of the workers it is sent to. */
export function routeAdapterMessage(
  message: AdapterMessage,
  from: number,
  /** Each live worker's id, and the adapter uids seen from it. */
  workers: ReadonlyMap<number, Uids>,
): number[] {
  if (message.requesterUid !== undefined) {
    const requester = message.requesterUid;
    for (const [id, uids] of workers) if (uids.has(requester)) return [id];
    // Its requester has gone (drained, died): the answer has nobody to go to.
    return [];
  }
  return [...workers.keys()].filter((id) => id !== from);
}

/** Relays the adapter's messages between the workers of `cluster`; returns how to stop. */
export function relaySocketIo(
  cluster: ClusterEvents,
  counts: { relayed: number; relayDropped: number },
): () => void {
  /** Each worker's adapters: uid -> namespace. */
  const adapters = new WeakMap<Worker, Map<string, string>>();
  // Built for each message (a worker's channel closes without an event first): the maps themselves,
  // not copies of their uids, so that a message costs a Map of a few entries and no more.
  const live = () => {
    const workers = new Map<number, Uids>();
    for (const w of Object.values(cluster.workers ?? {}))
      if (w?.isConnected()) workers.set(w.id, adapters.get(w) ?? NONE);
    return workers;
  };
  const send = (id: number, message: object) => {
    try {
      // The channel may close between the check and the send (a worker exiting): that one misses it.
      cluster.workers?.[id]?.send(message, undefined, (error: Error | null) => {
        if (error) counts.relayDropped += 1;
        else counts.relayed += 1;
      });
    } catch {
      // It cannot be encoded on that channel (a BigInt on a "json" one, during a reload that changed
      // `serialization`): that worker misses it, and the primary goes on.
      counts.relayDropped += 1;
    }
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isAdapterMessage(message)) return;
    let own = adapters.get(worker);
    if (!own) {
      own = new Map();
      adapters.set(worker, own);
    }
    if (own.size < MAX_UIDS || own.has(message.uid)) own.set(message.uid, message.nsp);
    const targets = routeAdapterMessage(message, worker.id, live());
    if (!targets.length && message.requesterUid !== undefined) counts.relayDropped += 1;
    for (const id of targets) send(id, message);
  };
  const onGone = (worker: Worker) => {
    const own = adapters.get(worker);
    if (!own?.size) return;
    adapters.delete(worker);
    for (const id of live().keys()) for (const [uid, nsp] of own) send(id, adapterClosed(uid, nsp));
  };
  cluster.on('message', onMessage);
  cluster.on('disconnect', onGone);
  cluster.on('exit', onGone);
  return () => {
    cluster.off('message', onMessage);
    cluster.off('disconnect', onGone);
    cluster.off('exit', onGone);
  };
}
