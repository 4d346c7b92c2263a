// The choices of least-connections and sticky balancing, with fake members (no process).
import { describe, expect, it } from 'vitest';
import {
  canaryKey,
  canaryTurn,
  leastConnections,
  type Member,
  sticky,
} from '../../src/primary/balance/balance.js';

const member = (id: number, extra: Partial<Member> = {}): Member => ({
  id,
  slot: id - 1,
  open: 0,
  unanswered: 0,
  heard: 0,
  ...extra,
});

describe('leastConnections', () => {
  it('picks the member with the fewest open connections', () => {
    const members = [member(1, { open: 3 }), member(2, { open: 1 }), member(3, { open: 2 })];
    expect(leastConnections(members, 0)?.id).toBe(2);
  });

  it('passes over a member that has not answered a handoff, even with fewer connections', () => {
    const members = [member(1, { open: 1, unanswered: 1 }), member(2, { open: 4 })];
    expect(leastConnections(members, 0)?.id).toBe(2);
    // When every member is stuck, the fewest connections still decides.
    const stuck = [member(1, { open: 2, unanswered: 1 }), member(2, { open: 1, unanswered: 1 })];
    expect(leastConnections(stuck, 0)?.id).toBe(2);
  });

  it('among equal counts prefers the member heard from last (a busy one has been silent)', () => {
    const members = [
      member(1, { open: 1, heard: 5 }),
      member(2, { open: 1, heard: 9 }),
      member(3, { open: 1, heard: 2 }),
    ];
    expect(leastConnections(members, 2)?.id).toBe(2);
  });

  it('lets idle members take turns: the first after the last one picked', () => {
    const members = [member(1), member(2), member(3)];
    const picked: number[] = [];
    let last = 0;
    for (let i = 0; i < 6; i++) {
      last = leastConnections(members, last)?.id ?? -1;
      picked.push(last);
    }
    expect(picked).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('has nothing to pick from no member', () => {
    expect(leastConnections([], 0)).toBeUndefined();
  });
});

describe('sticky', () => {
  const keys = Array.from({ length: 2000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const slots = (n: number, idBase = 1) =>
    Array.from({ length: n }, (_, s) => member(idBase + s, { slot: s }));

  it('maps a key to the same slot whichever worker runs it (restart, reload)', () => {
    const before = slots(4);
    const after = slots(4, 100); // every worker replaced: new ids, same slots
    for (const key of keys) expect(sticky(after, key)?.slot).toBe(sticky(before, key)?.slot);
  });

  it('spreads keys over the slots', () => {
    const counts = new Map<number, number>();
    for (const key of keys) {
      const slot = sticky(slots(4), key)?.slot ?? -1;
      counts.set(slot, (counts.get(slot) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
    // 500 each on average; a bad hash puts most keys on one slot.
    for (const c of counts.values()) expect(c).toBeGreaterThan(400);
  });

  it('moves only the keys of an added or removed slot', () => {
    let moved = 0;
    for (const key of keys) {
      const from = sticky(slots(4), key)?.slot;
      const to = sticky(slots(5), key)?.slot;
      if (from !== to) {
        moved += 1;
        expect(to).toBe(4);
      }
      // Scaling down: only slot 3's keys move, each to a remaining slot.
      const down = sticky(slots(3), key)?.slot;
      if (from !== 3) expect(down).toBe(from);
    }
    // About a fifth of the keys go to the new slot.
    expect(moved).toBeGreaterThan(keys.length / 5 - 100);
    expect(moved).toBeLessThan(keys.length / 5 + 100);
  });

  it('gives a slot with two workers (a reload) its keys to the newer one', () => {
    const members = [member(1, { slot: 0 }), member(7, { slot: 0 })];
    expect(sticky(members, '10.1.2.3')?.id).toBe(7);
    expect(sticky([...members].reverse(), '10.1.2.3')?.id).toBe(7);
  });
});

describe('canary weight', () => {
  it('least-connections: hands the canaries their share over any span', () => {
    for (const weight of [0.1, 0.25, 0.5, 0.9]) {
      let toCanaries = 0;
      for (let total = 0; total < 1_000; total++) {
        if (canaryTurn(toCanaries, total, weight)) toCanaries += 1;
        // Never more than one connection off the share, at any point.
        expect(Math.abs(toCanaries - weight * (total + 1))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('sticky: puts about `weight` of the keys on the canaries, each key always on the same side', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    for (const weight of [0.05, 0.25, 0.5]) {
      const share = keys.filter((k) => canaryKey(k, weight)).length / keys.length;
      expect(Math.abs(share - weight)).toBeLessThan(0.02);
    }
    expect(keys.slice(0, 50).map((k) => canaryKey(k, 0.3))).toEqual(
      keys.slice(0, 50).map((k) => canaryKey(k, 0.3)),
    );
    // A larger weight keeps the keys a smaller one gave the canaries.
    expect(keys.filter((k) => canaryKey(k, 0.1)).every((k) => canaryKey(k, 0.2))).toBe(true);
  });
});
