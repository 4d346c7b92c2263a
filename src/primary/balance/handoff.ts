// `balancing: "least-connections"` and `"sticky"`, the primary's half (the worker's: worker/handoff.cts).
// A worker's TCP listen is asked of the primary, which listens once per address for all the app's
// workers, accepts each connection itself and hands its handle over the worker's IPC channel to the
// worker balance.ts picks: the fewest open connections, or the slot the client's address sticks to.
// The primary counts a connection open from the handoff until the worker says it closed, and
// unanswered until the worker says it took it.
// - A draining worker gets no new connection from the moment its drain is decided: the drain message
//   follows the last handoff on the same channel, so whatever was handed over is accepted before its
//   servers close.
// - A connection that finds no worker taking connections waits (as node:cluster's round-robin lets it)
//   until one listens; the listen closes when its last worker has gone, and those waiting are closed.
// - The primary keeps its copy of each connection it hands over until the worker acknowledges it
//   (`conns`, the last handoff it dealt with): a worker that dies (or whose channel closes) before
//   taking it leaves the connection with the primary, which gives it to another worker, as does a
//   handoff that fails (the channel closed under it) and a connection a worker sends back (`bounce`:
//   its server at maxConnections, or closed), as node:cluster's round-robin does; one that every worker
//   has refused is closed, and so is one no worker is left to take.
// - With `stickyHeader`, a connection's key is a header of its first request: the primary reads that
//   head (first-request.ts), and hands the socket over with the bytes it read.
import type { Worker } from 'node:cluster';
import net from 'node:net';
import {
  isWorkerBounce,
  isWorkerConns,
  isWorkerListen,
  isWorkerUnlisten,
  type WorkerListen,
  workerConn,
  workerListenReply,
} from '../../protocol.js';
import { canaryKey, canaryTurn, leastConnections, type Member, sticky } from './balance.js';
import { readFirstRequest } from './first-request.js';

export type HandoffBalancing = 'least-connections' | 'sticky';

/** An accepted connection as libuv gives it (a TCP handle), before any net.Socket exists. */
interface TcpHandle {
  close(): void;
  getpeername(out: { address?: string }): number;
}

/** A connection to hand over: as accepted, or read from (its first request's head) and keyed. */
type Pending = ({ handle: TcpHandle } | { socket: net.Socket; read: Buffer; key: string }) & {
  /** Workers that sent it back (at maxConnections, or their server closed): not offered it again. */
  refused?: Set<number>;
};

const closePending = (p: Pending) => ('handle' in p ? p.handle.close() : p.socket.destroy());

interface Entry extends Member {
  readonly worker: Worker;
  open: number;
  unanswered: number;
  heard: number;
  accepting: boolean;
}

/** A connection handed to a worker, held by the primary until the worker has dealt with it. */
interface InFlight {
  readonly seq: number;
  readonly listener: Listener;
  readonly entry: Entry;
  readonly pending: Pending;
}

/** How often, and how many times, an exited worker's channel is looked at (detach). */
const RELEASE_EVERY_MS = 10;
const RELEASE_LOOKS = 100;
/** Connections held while no worker takes any; more are refused (closed) at once. */
const MAX_WAITING = 1024;
/** Connections whose first request is being read at once (`stickyHeader`); more are keyed by address. */
const MAX_READING = 1024;
// libuv's UV_TCP_IPV6ONLY, as net passes it in a listen's flags.
const IPV6_ONLY = 1;

class Listener {
  readonly members = new Map<number, Entry>();
  readonly waiting: Pending[] = [];
  sockname: net.AddressInfo | null = null;
  /** Workers whose listen waits for the bind. */
  readonly binding: { worker: Worker; slot: number; seq: number }[] = [];

  constructor(
    readonly id: number,
    readonly key: string,
    readonly server: net.Server,
  ) {}
}

export class Handoff {
  private readonly listeners = new Map<string, Listener>();
  private readonly byId = new Map<number, Listener>();
  private nextId = 1;
  private last = 0;
  private heard = 0;
  private reading = 0;
  private seq = 0;
  /** Per worker id, in handoff order: the connections it has not yet acknowledged. */
  private readonly held = new Map<number, InFlight[]>();
  /** A canary phase's share: its workers' pids, and what was handed to each side since it began. */
  private canary: { pids: ReadonlySet<number>; weight: number; toCanaries: number; total: number } | null =
    null;

  /**
   * The app's balancing at its latest fork (a config reload may switch between the two), and with
   * sticky balancing the header that keys a connection (lower case; null: the client's address).
   */
  constructor(
    public balancing: HandoffBalancing,
    public header: string | null = null,
  ) {}

  /** Serves `worker`'s listens and counts its connections. */
  attach(worker: Worker, slot: number): void {
    worker.on('message', (message: unknown) => {
      if (isWorkerListen(message)) this.listen(worker, slot, message);
      else if (isWorkerConns(message)) {
        this.acknowledged(worker, message.upTo);
        const entry = this.byId.get(message.id)?.members.get(worker.id);
        if (!entry) return;
        entry.open = Math.max(0, entry.open - message.closed);
        entry.heard = ++this.heard;
      } else if (isWorkerBounce(message)) this.bounced(worker, message.seq);
      else if (isWorkerUnlisten(message)) {
        const listener = this.byId.get(message.id);
        if (listener) this.remove(listener, worker.id);
      }
    });
    // Its channel is closed (it died, or disconnected): every message it sent before has been read, so
    // what it has not acknowledged it never took. Its copy is gone with the channel; the primary's goes
    // to another worker. (A worker that died may never say so: see detach.)
    worker.once('disconnect', () => this.orphaned(worker));
  }

  /** The worker drains: it gets no new connection. */
  stopAccepting(worker: Worker): void {
    for (const listener of this.listeners.values()) {
      const entry = listener.members.get(worker.id);
      if (entry) entry.accepting = false;
    }
  }

  /**
   * The worker has exited. What it held is given away once its channel has been read to its end: until
   * then its last acknowledgements may still be in the channel, and a connection it took must not go to
   * a second worker. That end is normally 'disconnect', but Node postpones that event until every
   * handle it sent has been acknowledged, which a dead worker never does: a worker that died with a
   * handoff unread never gets it. The channel's state says it too (not connected: its end was read), so
   * it is looked at until then, for at most a second, after which whatever was in it has long been read.
   */
  detach(worker: Worker): void {
    let looks = 0;
    const released = () => {
      if (!worker.isConnected() || ++looks >= RELEASE_LOOKS) this.orphaned(worker);
      else setTimeout(released, RELEASE_EVERY_MS);
    };
    released();
    for (const listener of [...this.listeners.values()]) {
      const binding = listener.binding.filter((b) => b.worker !== worker);
      listener.binding.splice(0, listener.binding.length, ...binding);
      if (listener.members.has(worker.id)) this.remove(listener, worker.id);
      else this.drop(listener);
    }
  }

  /**
   * A canary phase's `weight`: the share of new connections (sticky: of client keys) the workers with
   * these pids get together; `pids` empty or `weight` null: none.
   */
  weigh(pids: readonly number[], weight: number | null): void {
    this.canary =
      pids.length && weight !== null ? { pids: new Set(pids), weight, toCanaries: 0, total: 0 } : null;
  }

  /** Open connections per worker id, as counted (for status and tests). */
  openConnections(): Map<number, number> {
    const open = new Map<number, number>();
    for (const listener of this.listeners.values())
      for (const entry of listener.members.values())
        open.set(entry.id, (open.get(entry.id) ?? 0) + entry.open);
    return open;
  }

  private listen(worker: Worker, slot: number, request: WorkerListen): void {
    const key = [request.addressType, request.address, request.port, request.index].join(':');
    let listener = this.listeners.get(key);
    listener ??= this.bind(key, request);
    if (listener.sockname) this.join(listener, worker, slot, request.seq);
    else listener.binding.push({ worker, slot, seq: request.seq });
  }

  private bind(key: string, request: WorkerListen): Listener {
    const server = net.createServer();
    const listener = new Listener(this.nextId++, key, server);
    this.listeners.set(key, listener);
    this.byId.set(listener.id, listener);
    server.once('error', (error: NodeJS.ErrnoException) => {
      this.forget(listener);
      const errno = typeof error.errno === 'number' ? error.errno : -22;
      for (const { worker, seq } of listener.binding.splice(0)) this.reply(worker, { seq, errno });
    });
    server.once('listening', () => {
      const handle = (server as unknown as { _handle?: { onconnection: unknown } })._handle;
      if (!handle) return server.emit('error', Object.assign(new Error('no listen handle'), { errno: -22 }));
      // Connections are taken as libuv hands them over, before any net.Socket is made for them (as
      // node:cluster's round-robin does): nothing in the primary reads them.
      handle.onconnection = (status: number, client?: TcpHandle) => {
        if (status === 0 && client) this.accepted(listener, client);
      };
      listener.sockname = server.address() as net.AddressInfo;
      for (const { worker, slot, seq } of listener.binding.splice(0)) this.join(listener, worker, slot, seq);
    });
    server.listen({
      port: request.port,
      host: request.address ?? undefined,
      backlog: request.backlog ?? undefined,
      ipv6Only: (request.flags & IPV6_ONLY) !== 0,
    });
    return listener;
  }

  private join(listener: Listener, worker: Worker, slot: number, seq: number): void {
    if (!worker.isConnected()) {
      this.drop(listener);
      return;
    }
    listener.members.set(worker.id, {
      id: worker.id,
      slot,
      worker,
      open: 0,
      unanswered: 0,
      heard: ++this.heard,
      accepting: true,
    });
    this.reply(worker, { seq, id: listener.id, sockname: listener.sockname ?? {} });
    for (const pending of listener.waiting.splice(0)) this.route(listener, pending);
  }

  private accepted(listener: Listener, handle: TcpHandle): void {
    const { header } = this;
    if (this.balancing !== 'sticky' || header === null || this.reading >= MAX_READING) {
      this.route(listener, { handle });
      return;
    }
    this.reading += 1;
    const socket = new net.Socket({ handle, readable: true, writable: true, allowHalfOpen: true } as never);
    readFirstRequest(
      socket,
      header,
      (key, read) => {
        this.reading -= 1;
        // Its copy stays here, not read, until a worker has taken it: nothing may throw for want of a listener.
        socket.on('error', () => {});
        this.route(listener, { socket, read, key: key ?? socket.remoteAddress ?? '' });
      },
      () => {
        this.reading -= 1;
      },
    );
  }

  private route(listener: Listener, pending: Pending): void {
    // Its listen closed (its last worker gone) while its first request was read: closed with it, as
    // those waiting were, rather than held for a listen that no worker will join again.
    if (this.byId.get(listener.id) !== listener) {
      closePending(pending);
      return;
    }
    const entry = this.pick(listener, pending);
    if (!entry) {
      // Every worker there is refused it: none will take it later either.
      const refusedByAll =
        pending.refused !== undefined && [...listener.members.values()].some((e) => e.accepting);
      if (!refusedByAll && listener.waiting.length < MAX_WAITING) listener.waiting.push(pending);
      else closePending(pending);
      return;
    }
    this.last = entry.id;
    entry.open += 1;
    entry.unanswered += 1;
    const seq = ++this.seq;
    const item: InFlight = { seq, listener, entry, pending };
    const held = this.held.get(entry.id) ?? [];
    this.held.set(entry.id, held);
    held.push(item);
    // The primary's copy stays open until the worker acknowledges it (`keepOpen` for a socket; a raw
    // handle is closed only by us). A send that fails (the channel closed under it) goes to another worker.
    const sent = (error: Error | null) => {
      if (!error || !this.unhold(entry.id, seq)) return;
      this.failed(entry);
      this.route(listener, pending);
    };
    if ('socket' in pending) {
      // With the bytes read: the worker puts them back in front of the socket.
      const message = workerConn(listener.id, seq, pending.read.toString('base64'));
      entry.worker.send(message, pending.socket as never, { keepOpen: true }, sent);
    } else entry.worker.send(workerConn(listener.id, seq), pending.handle as never, sent);
  }

  // The worker has dealt with every handoff up to `upTo` (taken, or sent back before this report): the
  // primary's copies are closed. Handoffs reach a worker in order, so one seq acknowledges all before it.
  private acknowledged(worker: Worker, upTo: number): void {
    const held = this.held.get(worker.id);
    while (held?.[0] && held[0].seq <= upTo) {
      const item = held.shift() as InFlight;
      item.entry.unanswered = Math.max(0, item.entry.unanswered - 1);
      closePending(item.pending);
    }
  }

  // Removes a handoff from those held for a worker; false if it was not held (acknowledged, or unknown).
  private unhold(workerId: number, seq: number): InFlight | undefined {
    const held = this.held.get(workerId);
    const at = held?.findIndex((item) => item.seq === seq) ?? -1;
    return at === -1 ? undefined : held?.splice(at, 1)[0];
  }

  // A worker sent a connection back: another one gets it, or, when every one has refused it, no one.
  private bounced(worker: Worker, seq: number): void {
    const item = this.unhold(worker.id, seq);
    if (!item) return;
    const { entry, listener, pending } = item;
    entry.open = Math.max(0, entry.open - 1);
    entry.unanswered = Math.max(0, entry.unanswered - 1);
    pending.refused = new Set([...(pending.refused ?? []), worker.id]);
    this.route(listener, pending);
  }

  // The worker's channel is closed: it takes nothing more, and what it held goes to another worker (or
  // waits for one, or is closed with its listen).
  private orphaned(worker: Worker): void {
    for (const listener of this.listeners.values()) {
      const entry = listener.members.get(worker.id);
      if (entry) entry.accepting = false;
    }
    const held = this.held.get(worker.id) ?? [];
    this.held.delete(worker.id);
    for (const { entry, listener, pending } of held) {
      this.failed(entry);
      this.route(listener, pending);
    }
  }

  // The worker's channel closed under a handoff: it takes nothing more.
  private failed(entry: Entry): void {
    entry.open = Math.max(0, entry.open - 1);
    entry.unanswered = Math.max(0, entry.unanswered - 1);
    entry.accepting = false;
  }

  private pick(listener: Listener, pending: Pending): Entry | undefined {
    const candidates: Entry[] = [];
    for (const entry of listener.members.values())
      if (entry.accepting && !pending.refused?.has(entry.id)) candidates.push(entry);
    if (candidates.length <= 1) return candidates[0];
    let key: string | undefined;
    if (this.balancing === 'sticky') {
      if ('key' in pending) key = pending.key;
      else {
        const peer: { address?: string } = {};
        pending.handle.getpeername(peer);
        key = peer.address ?? '';
      }
    }
    const side = this.canarySide(candidates, key);
    if (key === undefined) return leastConnections(side, this.last);
    return sticky(side, key);
  }

  // With a canary weight, the candidates of the side this connection goes to (both sides must have one:
  // otherwise every candidate); without, all of them.
  private canarySide(candidates: Entry[], key: string | undefined): Entry[] {
    const c = this.canary;
    if (!c) return candidates;
    const canaries = candidates.filter((e) => c.pids.has(e.worker.process.pid ?? -1));
    if (!canaries.length || canaries.length === candidates.length) return candidates;
    const toCanaries =
      key === undefined ? canaryTurn(c.toCanaries, c.total, c.weight) : canaryKey(key, c.weight);
    c.total += 1;
    if (toCanaries) c.toCanaries += 1;
    return toCanaries ? canaries : candidates.filter((e) => !c.pids.has(e.worker.process.pid ?? -1));
  }

  private remove(listener: Listener, workerId: number): void {
    if (!listener.members.delete(workerId) || listener.members.size > 0) return;
    this.drop(listener);
  }

  // Its last worker is gone: the port is released, as node:cluster does.
  private drop(listener: Listener): void {
    if (listener.members.size > 0 || listener.binding.length > 0) return;
    this.forget(listener);
    for (const pending of listener.waiting.splice(0)) closePending(pending);
    listener.server.close();
  }

  private forget(listener: Listener): void {
    if (this.listeners.get(listener.key) === listener) this.listeners.delete(listener.key);
    this.byId.delete(listener.id);
  }

  private reply(worker: Worker, reply: Parameters<typeof workerListenReply>[0]): void {
    if (worker.isConnected()) worker.send(workerListenReply(reply));
  }
}
