// clusterd/worker's messaging API in a primary: the workers' messages (worker/messages.cts) routed by
// route.ts, requests kept by request-book.ts, bounded by limits.ts; `clusterd send` delivered; a
// `publish` reported to the root, which logs it as an event (`clusterd events`). A worker's slot and
// channel encoding are learnt from the pool's forks (`wrap`), as the leader's driver learns them.
import type { Worker } from 'node:cluster';
import { serialize } from 'node:v8';
import type { ResolvedApp } from '../../config/resolved.js';
import { ErrorCode } from '../../errors.js';
import { failed, type OpResults, type Outcome, type PrimaryMessage } from '../../protocol.js';
import workerMessages from '../../worker/messages.cjs';
import type { PoolEffects } from '../pool/tracked-worker.js';
import type { ClusterEvents } from '../process/cluster-view.js';
import type { ChannelTally } from '../process/worker-channel.js';
import { admit, type DropReason, MESSAGE_LIMITS, type MessageLimits, RateBucket } from './limits.js';
import { RequestBook, type Timer } from './request-book.js';
import { outsideTargets, type Peer, siblings } from './route.js';

type MsgRequest = Guarded<typeof workerMessages.isMsgRequest>;
type ApiMessage = MsgRequest | Guarded<typeof workerMessages.isMsgBroadcast> | MsgReply | MsgPublish;
type MsgReply = Guarded<typeof workerMessages.isMsgReply>;
type MsgPublish = Guarded<typeof workerMessages.isMsgPublish>;
type Guarded<G> = G extends (message: unknown) => message is infer T ? T : never;

/** One of the messaging API's messages from a worker, each checked by its guard (worker/messages.cts). */
function isApiMessage(message: unknown): message is ApiMessage {
  return (
    workerMessages.isMsgBroadcast(message) ||
    workerMessages.isMsgRequest(message) ||
    workerMessages.isMsgReply(message) ||
    workerMessages.isMsgPublish(message)
  );
}

interface Known {
  slot: number;
  serialization: ResolvedApp['serialization'];
  bucket: RateBucket;
}

/** A message's size on a channel of this encoding, in bytes; one that cannot be encoded is too large. */
export function messageBytes(message: unknown, serialization: ResolvedApp['serialization']): number {
  try {
    return serialization === 'advanced'
      ? serialize(message).length
      : Buffer.byteLength(JSON.stringify(message) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** A publish's data as the root's log keeps it: JSON (a BigInt as its digits); null if it has none. */
export function publishable(data: unknown): { json: unknown; bytes: number } {
  try {
    const text = JSON.stringify(data ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    return { json: JSON.parse(text), bytes: Buffer.byteLength(text) };
  } catch {
    return { json: null, bytes: Number.POSITIVE_INFINITY };
  }
}

/** How long `clusterd send` waits for a write to a worker before it counts the message as queued. */
const QUEUED_MS = 2_000;

export class WorkerMessaging {
  /** By pid. */
  private readonly known = new Map<number, Known>();
  private readonly warned = new Set<string>();
  private readonly book: RequestBook;

  constructor(
    private readonly cluster: ClusterEvents,
    private readonly options: {
      tally: ChannelTally;
      /** To the root. */
      report: (message: PrimaryMessage) => void;
      timer: Timer;
      now: () => number;
      limits?: MessageLimits;
    },
  ) {
    this.book = new RequestBook(options.timer, (requester, result) => this.sendTo(requester, result));
    cluster.on('message', (worker: Worker, message: unknown) => this.onMessage(worker, message));
    // A worker whose channel closes cannot answer any more: its requests' requesters hear it at once.
    cluster.on('disconnect', (worker: Worker) => this.book.gone(worker.id));
    cluster.on('exit', (worker: Worker) => {
      this.book.gone(worker.id);
      const pid = worker.process.pid;
      if (pid === undefined) return;
      this.known.delete(pid);
      for (const reason of ['size', 'rate'] satisfies DropReason[]) this.warned.delete(`${pid}\0${reason}`);
    });
  }

  private get limits(): MessageLimits {
    return this.options.limits ?? MESSAGE_LIMITS;
  }

  /** The pool's effects, with each node:cluster worker's slot and encoding learnt at its fork. */
  wrap(fx: PoolEffects): PoolEffects {
    return {
      ...fx,
      fork: (slot, app, events) => {
        const process = fx.fork(slot, app, events);
        if (process.pid !== null && !app.program)
          this.known.set(process.pid, {
            slot,
            serialization: app.serialization,
            bucket: new RateBucket(this.limits, this.options.now()),
          });
        return process;
      },
    };
  }

  /** The app's node:cluster workers that clusterd forked, as route.ts sees them. */
  private peers(): Peer[] {
    const peers: Peer[] = [];
    for (const w of Object.values(this.cluster.workers ?? {})) {
      const pid = w?.process.pid;
      const known = pid === undefined ? undefined : this.known.get(pid);
      if (w && pid !== undefined && known)
        peers.push({ id: w.id, slot: known.slot, pid, connected: w.isConnected() });
    }
    return peers;
  }

  private sendTo(id: number, message: object): Promise<boolean> {
    const worker = this.cluster.workers?.[id];
    if (!worker?.isConnected()) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        // The channel may close between the check and the send (a worker exiting): that one misses it.
        worker.send(message, undefined, (error: Error | null) => resolve(!error));
      } catch {
        resolve(false);
      }
    });
  }

  private drop(worker: Worker, known: Known, reason: DropReason, what: string): void {
    this.options.tally.messagesDropped[reason] += 1;
    const pid = worker.process.pid ?? 0;
    const key = `${pid}\0${reason}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const limits = this.limits;
    const bound =
      reason === 'rate'
        ? `${limits.perSecond} deliveries/s (bursts of ${limits.burst}; a broadcast costs one per sibling)`
        : what === 'publish'
          ? `${limits.maxPublishBytes} bytes of JSON for a publish`
          : `${limits.maxBytes} bytes per message`;
    this.options.report({
      type: 'warning',
      message: `worker ${known.slot} sent more than ${bound} (a ${what}): dropped, as its further messages past the limits are (counted in clusterd_worker_messages_dropped_total)`,
      fields: { worker: known.slot, pid, reason },
    });
  }

  private onMessage(worker: Worker, message: unknown): void {
    const pid = worker.process.pid;
    const known = pid === undefined ? undefined : this.known.get(pid);
    if (!known || pid === undefined || !isApiMessage(message)) return;
    const what = message.clusterd.slice(4);
    // A broadcast or a request costs one delivery per sibling it goes to (limits.ts).
    const fanned = workerMessages.isMsgBroadcast(message) || workerMessages.isMsgRequest(message);
    const targets = fanned ? siblings(this.peers(), worker.id) : [];
    const reason = admit(
      known.bucket,
      () => messageBytes(message, known.serialization),
      this.limits.maxBytes,
      this.options.now(),
      targets.length,
    );
    if (reason) {
      this.drop(worker, known, reason, what);
      // Its requester hears at once that the request went nowhere.
      if (workerMessages.isMsgRequest(message))
        void this.sendTo(
          worker.id,
          workerMessages.msgResult({ id: message.id, answers: [], missing: [], dropped: reason }),
        );
      return;
    }
    if (workerMessages.isMsgPublish(message)) {
      const { json, bytes } = publishable(message.data);
      if (bytes > this.limits.maxPublishBytes) this.drop(worker, known, 'size', what);
      else
        this.options.report({ type: 'publish', worker: known.slot, pid, topic: message.topic, data: json });
    } else if (workerMessages.isMsgReply(message)) this.book.reply(worker.id, message);
    else if (workerMessages.isMsgBroadcast(message)) {
      const out = workerMessages.msg({ topic: message.topic, data: message.data, worker: known.slot, pid });
      for (const peer of targets) void this.sendTo(peer.id, out);
    } else if (workerMessages.isMsgRequest(message)) this.ask(worker.id, known.slot, pid, message, targets);
  }

  private ask(from: number, slot: number, pid: number, request: MsgRequest, targets: Peer[]): void {
    const ask = this.book.open(from, request.id, request.all, targets, request.timeout);
    if (ask === null) return;
    const { topic, data } = request;
    const out = workerMessages.msgAsk({ ask, topic, data, worker: slot, pid });
    for (const peer of targets)
      void this.sendTo(peer.id, out).then((sent) => {
        // Not written (its channel closed meanwhile): it cannot answer.
        if (!sent) this.book.gone(peer.id);
      });
  }

  /** `clusterd send`: `data` on `topic` to every connected worker of the app, or of slot `slot`. */
  async deliver(topic: string, data: unknown, slot: number | null): Promise<Outcome<OpResults['send']>> {
    const targets = outsideTargets(this.peers(), slot);
    const out = workerMessages.msg({ topic, data, worker: null, pid: null });
    // A write not done within QUEUED_MS waits in the primary for a worker that reads nothing now (its
    // event loop blocked, the pipe full): it is queued for that worker, and the command does not wait.
    const queued = <T>(write: Promise<T>, value: T) =>
      new Promise<T>((resolve) => {
        const cancel = this.options.timer(QUEUED_MS, () => resolve(value));
        void write.then((result) => {
          cancel();
          resolve(result);
        });
      });
    const sent = await Promise.all(
      targets.map(async (p) => ((await queued(this.sendTo(p.id, out), true)) ? p : null)),
    );
    const workers = sent.flatMap((p) => (p ? [{ worker: p.slot, pid: p.pid }] : []));
    if (!workers.length)
      return failed(
        ErrorCode.UNKNOWN_WORKER,
        slot === null ? 'no worker of the app is up to receive it' : `no worker ${slot} is up to receive it`,
      );
    return { ok: true, result: { workers: workers.sort((a, b) => a.worker - b.worker || a.pid - b.pid) } };
  }
}
