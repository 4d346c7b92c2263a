// The process-tree decisions over fake process tables, and the stops they drive with a fake system
// and fake time: nested trees, reused pids, garbage, processes that vanish mid-way.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  descendantsOf,
  groupMembers,
  orphansOf,
  type ProcEntry,
  parseStat,
} from '../../src/primary/stop/descendants.js';
import { killGroup, ProcessTrees, type ProcSystem } from '../../src/primary/stop/descendants-proc.js';

const p = (pid: number, ppid: number, start = pid, pgid = 100, state = 'S'): ProcEntry => ({
  pid,
  ppid,
  pgid,
  start,
  state,
});
const pids = (entries: ProcEntry[]) => entries.map((e) => e.pid).sort((a, b) => a - b);

describe('parseStat', () => {
  it('reads the fields after the last parenthesis, whatever the command name holds', () => {
    const rest = '1 100 100 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10';
    expect(parseStat(`4242 (a) b (c)) S ${rest}`)).toEqual({
      pid: 4242,
      ppid: 1,
      pgid: 100,
      start: 98765,
      state: 'S',
    });
    expect(parseStat(`7 (sp ace) Z ${rest}`)?.state).toBe('Z');
  });

  it('refuses garbage', () => {
    for (const line of [
      '',
      'x',
      '12 (a)',
      '12 (a) S 1 2',
      'a (b) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5',
      '0 (a) S',
    ])
      expect(parseStat(line)).toBeNull();
  });
});

describe('descendantsOf', () => {
  it('walks nested trees, and only below the pid', () => {
    const table = [p(1, 0), p(10, 1), p(11, 10), p(12, 10), p(13, 12), p(14, 13), p(20, 1), p(21, 20)];
    expect(pids(descendantsOf(table, 10))).toEqual([11, 12, 13, 14]);
    expect(pids(descendantsOf(table, 14))).toEqual([]);
    expect(pids(descendantsOf(table, 99))).toEqual([]);
  });

  it('cuts a link to a parent younger than its child (a reused pid)', () => {
    // 30 was the parent of 31, ended, and its pid went to a process started later.
    const table = [p(1, 0), p(30, 1, 500), p(31, 30, 100), p(32, 31, 120)];
    expect(pids(descendantsOf(table, 30))).toEqual([]);
  });

  it('ends on cycles, self-parents and duplicate rows', () => {
    const table = [p(40, 41), p(41, 40), p(42, 42), p(43, 40), p(43, 40)];
    expect(pids(descendantsOf(table, 40))).toEqual([41, 43]);
    expect(pids(descendantsOf(table, 42))).toEqual([]);
  });
});

describe('groupMembers', () => {
  it("lists a group's live members besides its leader, none of another group, no zombie", () => {
    const table: ProcEntry[] = [
      { pid: 50, ppid: 10, pgid: 50, start: 1, state: 'S' },
      { pid: 51, ppid: 50, pgid: 50, start: 2, state: 'S' },
      { pid: 52, ppid: 1, pgid: 50, start: 3, state: 'R' },
      { pid: 53, ppid: 50, pgid: 50, start: 4, state: 'Z' },
      { pid: 60, ppid: 50, pgid: 60, start: 5, state: 'S' },
    ];
    expect(groupMembers(table, 50).map((e) => e.pid)).toEqual([51, 52]);
    expect(groupMembers(table, 70)).toEqual([]);
  });
});

describe('orphansOf', () => {
  it('finds the group members whose parents no longer lead to the primary', () => {
    const table = [
      p(1, 0, 1, 1),
      p(100, 5, 10), // the primary, leading group 100
      p(101, 100), // a worker
      p(102, 101), // its child
      p(103, 1), // left by a worker that exited: re-parented to init
      p(104, 103), // and its child
      p(105, 1, 105, 200), // another group: not ours
      p(106, 1, 106, 100, 'Z'), // ended
    ];
    expect(pids(orphansOf(table, 100, 100))).toEqual([103, 104]);
  });

  it('counts a broken or looping chain as not reaching, and a reused parent pid as not the parent', () => {
    const table = [p(100, 1, 10), p(110, 111, 50), p(111, 110, 60), p(112, 100, 5)];
    // 110 and 111 loop; 112 names 100 as parent but started before it.
    expect(pids(orphansOf(table, 100, 100))).toEqual([110, 111, 112]);
  });
});

// A process table in memory: signals are recorded; SIGTERM and SIGKILL end a process unless it ignores them.
function fakeSystem(rows: ProcEntry[], ignoresTerm: number[] = []) {
  const table = new Map(rows.map((r) => [r.pid, r]));
  const sent: [number, string][] = [];
  const sys: ProcSystem = {
    table: () => [...table.values()],
    entry: (pid) => table.get(pid) ?? null,
    kill: (pid, signal) => {
      if (!table.has(pid)) throw new Error('ESRCH');
      sent.push([pid, signal]);
      if (signal === 'SIGKILL' || !ignoresTerm.includes(pid)) table.delete(pid);
    },
  };
  return { sys, table, sent };
}

function treesOn(sys: ProcSystem, self = 100) {
  return new ProcessTrees({
    sys,
    timer: (ms, fn) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    self,
  });
}

describe('ProcessTrees', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('signals what it saw, then SIGKILLs at the deadline only those still there; idle waits for them', async () => {
    const { sys, sent } = fakeSystem([p(100, 1), p(101, 100), p(102, 101), p(103, 102)], [103]);
    const trees = treesOn(sys);
    trees.stop(trees.descendants(101), 'SIGTERM', 800);
    expect(sent).toEqual([
      [102, 'SIGTERM'],
      [103, 'SIGTERM'],
    ]);
    let idle = false;
    void trees.idle().then(() => {
      idle = true;
    });
    await vi.advanceTimersByTimeAsync(799);
    expect(idle).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.at(-1)).toEqual([103, 'SIGKILL']);
    expect(sent).toHaveLength(3);
    expect(idle).toBe(true);
  });

  it('is idle as soon as the processes it stops have ended, before their deadline', async () => {
    const { sys } = fakeSystem([p(100, 1), p(101, 100), p(102, 101)]);
    const trees = treesOn(sys);
    trees.stop(trees.descendants(101), 'SIGTERM', 10_000);
    let idle = false;
    void trees.idle().then(() => {
      idle = true;
    });
    await vi.advanceTimersByTimeAsync(30);
    expect(idle).toBe(true);
  });

  it('never signals a pid now held by another process (start time changed), nor twice the same one', () => {
    const { sys, table, sent } = fakeSystem([p(100, 1), p(101, 100), p(102, 101, 200)], [102]);
    const trees = treesOn(sys);
    const seen = trees.descendants(101);
    trees.stop(seen, 'SIGTERM', 500);
    trees.stop(seen, 'SIGTERM', 500);
    expect(sent).toEqual([[102, 'SIGTERM']]);
    // 102 ends and its pid is reused by a process started later.
    table.set(102, p(102, 1, 900));
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([[102, 'SIGTERM']]);
  });

  it('tolerates processes that vanish between the read and the signal', () => {
    const { sys, table, sent } = fakeSystem([p(100, 1), p(101, 100), p(102, 101), p(103, 101)]);
    const trees = treesOn(sys);
    const seen = trees.descendants(101);
    table.delete(102);
    expect(() => trees.stop(seen, 'SIGTERM', 500)).not.toThrow();
    expect(sent).toEqual([[103, 'SIGTERM']]);
  });

  it('sweeps orphans of its own group only when it leads the group', () => {
    const leading = fakeSystem([p(100, 1), p(101, 100), p(103, 1), p(104, 1, 104, 200)]);
    treesOn(leading.sys).sweep('SIGTERM', 500);
    expect(leading.sent).toEqual([[103, 'SIGTERM']]);
    // A primary in someone else's group (not forked detached) sweeps nothing.
    const led = fakeSystem([p(90, 1, 90, 90), p(100, 90, 100, 90), p(95, 1, 95, 90)]);
    treesOn(led.sys).sweep('SIGTERM', 500);
    expect(led.sent).toEqual([]);
  });

  it('after hurry, SIGKILLs what is pending and whatever it stops from then on', async () => {
    const { sys, sent } = fakeSystem([p(100, 1), p(101, 100), p(102, 101), p(103, 1)], [102, 103]);
    const trees = treesOn(sys);
    trees.stop(trees.descendants(101), 'SIGTERM', 10_000);
    trees.hurry();
    trees.sweep('SIGTERM', 10_000);
    expect(sent).toEqual([
      [102, 'SIGTERM'],
      [102, 'SIGKILL'],
      [103, 'SIGKILL'],
    ]);
    await expect(trees.idle()).resolves.toBeUndefined();
  });

  it('kills the tree seen before the worker dies (its children are re-parented after)', () => {
    const { sys, table, sent } = fakeSystem([p(100, 1), p(101, 100), p(102, 101)]);
    treesOn(sys).killTree(101, () => {
      table.delete(101);
      table.set(102, p(102, 1));
    });
    expect(sent).toEqual([[102, 'SIGKILL']]);
  });
});

describe('killGroup (the root, after a primary died)', () => {
  it('SIGKILLs the live members of the dead primary’s group', () => {
    const { sys, sent } = fakeSystem([p(1, 0, 1, 1), p(103, 1), p(104, 103), p(105, 1, 105, 200)]);
    expect(killGroup(sys, 100).sort()).toEqual([103, 104]);
    expect(sent.every(([, s]) => s === 'SIGKILL')).toBe(true);
  });

  it('kills nothing while a live process has the group’s pid: the group is not the dead primary’s', () => {
    const { sys, sent } = fakeSystem([p(100, 1, 999, 100), p(103, 100, 1000, 100)]);
    expect(killGroup(sys, 100)).toEqual([]);
    expect(sent).toEqual([]);
  });
});
