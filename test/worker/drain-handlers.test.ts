// onDrain with fake time: handlers run when the drain begins (and at once when registered later), and
// `spread()` spaces its closes evenly over shutdown.spread, the first at once, whatever a close throws.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import drainHandlers from '../../src/worker/drain-handlers.cjs';
import { fakeTime } from '../helpers/fake-time.js';

// The worker's shared state, as state.cts keeps it.
let state: Parameters<typeof drainHandlers.add>[0];
beforeEach(() => {
  state = { drainHandlers: [] };
});
afterEach(() => vi.restoreAllMocks());

describe('spreadDelays', () => {
  it('spaces closes evenly over the spread, the first at once and the last before its end', () => {
    expect(drainHandlers.spreadDelays(4, 1000)).toEqual([0, 250, 500, 750]);
    expect(drainHandlers.spreadDelays(3, 0)).toEqual([0, 0, 0]);
    expect(drainHandlers.spreadDelays(0, 1000)).toEqual([]);
  });
});

describe('onDrain handlers', () => {
  it('run when the drain begins, with the spread and the deadline', () => {
    const seen: number[] = [];
    drainHandlers.add(state, (d) => seen.push(d.spreadMs, d.deadline));
    expect(seen).toEqual([]);
    const { timer } = fakeTime().fx;
    drainHandlers.begin(state, drainHandlers.makeDrain(2_000, 12_345, timer));
    expect(seen).toEqual([2_000, 12_345]);
  });

  it('a handler registered during the drain runs on the next tick', async () => {
    const { timer } = fakeTime().fx;
    drainHandlers.begin(state, drainHandlers.makeDrain(0, 1, timer));
    const ran = new Promise<number>((resolve) => drainHandlers.add(state, (d) => resolve(d.deadline)));
    expect(await ran).toBe(1);
  });

  it('one handler that throws or rejects does not keep the others from running', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const ran: string[] = [];
    drainHandlers.add(state, () => {
      throw new Error('boom');
    });
    drainHandlers.add(state, async () => {
      throw new Error('async boom');
    });
    drainHandlers.add(state, () => ran.push('third'));
    const { timer } = fakeTime().fx;
    drainHandlers.begin(state, drainHandlers.makeDrain(0, 1, timer));
    expect(ran).toEqual(['third']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(error.mock.calls.map((c) => String(c[1]))).toEqual(['Error: boom', 'Error: async boom']);
  });
});

describe('drain.spread()', () => {
  it('closes the items it was given, evenly over the spread', () => {
    const t = fakeTime();
    const drain = drainHandlers.makeDrain(1_000, 0, t.fx.timer);
    const clients = new Set(['a', 'b', 'c', 'd']);
    const closed: [string, number][] = [];
    drain.spread(clients, (c) => {
      closed.push([c, t.fx.now()]);
      clients.delete(c); // as a ws server's `clients` does on close: the list was read at the call
    });
    expect(closed).toEqual([['a', 0]]);
    t.advance(600);
    expect(closed).toEqual([
      ['a', 0],
      ['b', 250],
      ['c', 500],
    ]);
    t.advance(400);
    expect(closed.map(([c]) => c)).toEqual(['a', 'b', 'c', 'd']);
    expect(closed.at(-1)?.[1]).toBe(750);
  });

  it('with no spread, closes everything at once', () => {
    const t = fakeTime();
    const closed: number[] = [];
    drainHandlers.makeDrain(0, 0, t.fx.timer).spread([1, 2, 3], (n) => closed.push(n));
    expect(closed).toEqual([1, 2, 3]);
  });

  it('a close that throws is reported, and the next ones still run', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const t = fakeTime();
    const closed: number[] = [];
    drainHandlers.makeDrain(100, 0, t.fx.timer).spread([1, 2], (n) => {
      if (n === 1) throw new Error('socket gone');
      closed.push(n);
    });
    t.advance(100);
    expect(closed).toEqual([2]);
    expect(error).toHaveBeenCalledOnce();
  });
});
