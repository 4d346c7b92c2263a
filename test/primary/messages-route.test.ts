// The messaging API's routing and limits in the primary (primary/messages/route.ts, limits.ts), pure:
// fake workers, given time.
import { describe, expect, it } from 'vitest';
import { admit, MESSAGE_LIMITS, RateBucket } from '../../src/primary/messages/limits.js';
import { messageBytes, publishable } from '../../src/primary/messages/relay.js';
import { outsideTargets, type Peer, siblings } from '../../src/primary/messages/route.js';

const peer = (id: number, slot: number, connected = true): Peer => ({ id, slot, pid: 1000 + id, connected });

describe('routing', () => {
  // Slot 1 mid-reload: its old worker (id 2) and its successor (id 5); id 4 has a closed channel.
  const pool = [peer(1, 0), peer(2, 1), peer(3, 2), peer(4, 3, false), peer(5, 1)];

  it('sends a broadcast or a request to every other connected worker, draining predecessors included', () => {
    expect(siblings(pool, 1).map((p) => p.id)).toEqual([2, 3, 5]);
    expect(siblings(pool, 2).map((p) => p.id)).toEqual([1, 3, 5]);
  });

  it('reaches nobody when the sender is alone', () => {
    expect(siblings([peer(1, 0), peer(2, 1, false)], 1)).toEqual([]);
  });

  it('sends from outside to every connected worker, or to those of one slot', () => {
    expect(outsideTargets(pool, null).map((p) => p.id)).toEqual([1, 2, 3, 5]);
    expect(outsideTargets(pool, 1).map((p) => p.id)).toEqual([2, 5]);
    expect(outsideTargets(pool, 3)).toEqual([]);
    expect(outsideTargets(pool, 9)).toEqual([]);
  });
});

describe('limits', () => {
  const limits = { perSecond: 10, burst: 20 };

  it('lets a burst through, then the sustained rate, and refills with time', () => {
    const bucket = new RateBucket(limits, 0);
    let passed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take(0)) passed += 1;
    expect(passed).toBe(20);
    expect(bucket.take(50)).toBe(false); // half a token
    expect(bucket.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(bucket.take(100)).toBe(false);
    // A long pause refills up to the burst, never beyond.
    passed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take(60_000)) passed += 1;
    expect(passed).toBe(20);
  });

  it('charges a message one token per worker it goes to, and takes none when too few are left', () => {
    const bucket = new RateBucket(limits, 0);
    expect(bucket.take(0, 15)).toBe(true); // a broadcast to 15 siblings
    expect(bucket.take(0, 15)).toBe(false); // 5 left: refused whole
    expect(bucket.take(0, 5)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    // admit() charges its deliveries, at least one (a broadcast with nobody to go to still counts).
    const fresh = new RateBucket(limits, 0);
    expect(admit(fresh, () => 1, 100, 0, 0)).toBeNull();
    expect(admit(fresh, () => 1, 100, 0, 19)).toBeNull();
    expect(admit(fresh, () => 1, 100, 0, 1)).toBe('rate');
  });

  it('does not refill when the clock goes back', () => {
    const bucket = new RateBucket({ perSecond: 1, burst: 1 }, 1000);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(1500)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });

  it('drops for the rate before it measures, then for the size', () => {
    const bucket = new RateBucket({ perSecond: 1, burst: 1 }, 0);
    let measured = 0;
    const size = (n: number) => () => {
      measured += 1;
      return n;
    };
    expect(admit(bucket, size(10), 100, 0)).toBeNull();
    expect(admit(bucket, size(10), 100, 0)).toBe('rate');
    expect(measured).toBe(1);
    expect(admit(bucket, size(101), 100, 1000)).toBe('size');
  });

  it('measures a message as its channel encodes it', () => {
    const m = { clusterd: 'msg-broadcast', topic: 't', data: Buffer.alloc(1000) };
    // JSON spells each byte as a number; V8's structured clone keeps the bytes.
    expect(messageBytes(m, 'json')).toBeGreaterThan(2000);
    expect(messageBytes(m, 'advanced')).toBeLessThan(1200);
    expect(messageBytes({ big: 1n }, 'json')).toBe(Number.POSITIVE_INFINITY);
    expect(messageBytes({ big: 1n }, 'advanced')).toBeLessThan(100);
  });

  it('states numbers a fetchSockets() over thousands of clients fits in', () => {
    // ~1 KiB per socket (id, handshake headers, rooms, data) for 3,000 sockets of one worker.
    expect(MESSAGE_LIMITS.maxBytes).toBeGreaterThanOrEqual(3_000 * 1024);
    expect(MESSAGE_LIMITS.burst).toBeGreaterThanOrEqual(MESSAGE_LIMITS.perSecond);
  });

  it('makes a publish JSON for the log, BigInts as digits', () => {
    expect(publishable({ a: 1n, b: new Date(0) })).toEqual({
      json: { a: '1', b: '1970-01-01T00:00:00.000Z' },
      bytes: 40,
    });
    expect(publishable(undefined).json).toBeNull();
  });
});
