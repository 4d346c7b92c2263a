// The bounds on what one worker may send through clusterd/worker's messaging API, so that a chatty app
// cannot starve its primary (which also answers the root's pings, runs the guards' heartbeats, hands
// connections over): a size per message and a rate per worker. Past either, the message is dropped,
// counted by reason (`clusterd_worker_messages_dropped_total{app,reason}`) and the worker's app is
// warned once per worker and reason; a dropped request is answered at once with `dropped`, so its
// requester never waits for it. Pure: time is given.
//
// The numbers (docs/messages.md, "Limits"):
// - 4 MiB per message, as serialized on the worker's channel (JSON text, or V8's structured clone with
//   `serialization: "advanced"`). A requestAll answered by each worker with its view of a few thousand
//   clients (socket.io's fetchSockets() answers ~0.5-1 KiB per socket: its id, handshake headers, rooms,
//   data) fits; parsing 4 MiB of JSON costs the primary ~10-20 ms, once per message.
// - 1,000 deliveries per second per worker, sustained, with bursts of 2,000 (a token bucket): a
//   broadcast or a request costs one per sibling it goes to, a reply or a publish one. What the primary
//   does per second is then bounded by the number of workers, not by its square: it relays about 85,000
//   deliveries a second on 2 vCPUs (bench/messages.ts, 74 ms of CPU per 10,000), so 16 workers at their
//   limit cost it about 12 % of a core. Far above what cache invalidations or job hand-offs need (4
//   workers may each broadcast 333 times a second). What the primary sends does not count.
// - A publish goes to the root's log and to every `clusterd events` follower: at most 16 KiB of JSON.
// socket.io's cluster adapter (relay/socketio.ts) is not bounded by these: see docs/messages.md.

export interface MessageLimits {
  /** Bytes of one serialized message. */
  maxBytes: number;
  /** Deliveries per second, sustained (a message costs one per worker it goes to). */
  perSecond: number;
  /** Deliveries in a burst (the bucket's size; at least the most siblings a broadcast can have). */
  burst: number;
  /** Bytes of a publish's data, as JSON. */
  maxPublishBytes: number;
}

export const MESSAGE_LIMITS: MessageLimits = {
  maxBytes: 4 * 1024 * 1024,
  perSecond: 1_000,
  burst: 2_000,
  maxPublishBytes: 16 * 1024,
};

export type DropReason = 'size' | 'rate';

/** One worker's token bucket: `burst` tokens, refilled at `perSecond`. */
export class RateBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limits: Pick<MessageLimits, 'perSecond' | 'burst'>,
    now: number,
  ) {
    this.tokens = limits.burst;
    this.last = now;
  }

  /** Takes `cost` tokens (the message's deliveries) at `now` (ms); false, taking none, when too few are left. */
  take(now: number, cost = 1): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.limits.burst, this.tokens + (elapsed * this.limits.perSecond) / 1000);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/**
 * Whether a message of `size()` bytes to `deliveries` workers may go on: the rate first (a message over it
 * is not measured: the measure costs a serialization), then the size. Null: it may; else why not.
 */
export function admit(
  bucket: RateBucket,
  size: () => number,
  maxBytes: number,
  now: number,
  deliveries = 1,
): DropReason | null {
  if (!bucket.take(now, Math.max(1, deliveries))) return 'rate';
  return size() > maxBytes ? 'size' : null;
}
