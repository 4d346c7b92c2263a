// The lock's decisions (taken, refused, broken, released) on real files, with a fake process table:
// a holder is alive while the table has its pid with the start time it wrote.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LockSystem, tryLock, unlinkIf } from '../../src/control/lock.js';
import { tempDir } from '../helpers/files.js';

describe('lock', () => {
  // A process table: pid -> start time.
  const system = (self: number, table: Record<number, number>): LockSystem => ({
    self: { pid: self, start: table[self] ?? 1 },
    startOf: (pid) => table[pid],
  });

  it('is taken by the first, refused to a second while its holder lives, whatever state it is in', async () => {
    const lock = join(tempDir(), 'c.lock');
    const table = { 100: 5, 200: 7 };
    expect(await tryLock(lock, system(100, table))).toEqual({ locked: true });
    expect(await tryLock(lock, system(200, table))).toEqual({
      locked: false,
      holder: { pid: 100, start: 5 },
    });
  });

  it('is broken when its holder is gone, or its pid now names a process started at another time', async () => {
    const lock = join(tempDir(), 'c.lock');
    expect((await tryLock(lock, system(100, { 100: 5 }))).locked).toBe(true);
    // 100 died; 200 takes it.
    expect(await tryLock(lock, system(200, { 200: 7 }))).toEqual({
      locked: true,
      broke: { pid: 100, start: 5 },
    });
    // 200 died and its pid was reused by a process that started later.
    expect(await tryLock(lock, system(300, { 200: 9, 300: 8 }))).toEqual({
      locked: true,
      broke: { pid: 200, start: 7 },
    });
  });

  it('treats an unreadable lock as nobody, and a stale breaker as gone', async () => {
    const dir = tempDir();
    const lock = join(dir, 'c.lock');
    writeFileSync(lock, 'garbage');
    writeFileSync(`${lock}.break`, JSON.stringify({ pid: 400, start: 1 }));
    expect(await tryLock(lock, system(100, { 100: 5 }))).toEqual({
      locked: true,
      broke: { pid: 0, start: null },
    });
  });

  it('is released only by its holder', async () => {
    const lock = join(tempDir(), 'c.lock');
    await tryLock(lock, system(100, { 100: 5 }));
    unlinkIf(lock, { pid: 200, start: 7 });
    expect((await tryLock(lock, system(200, { 100: 5, 200: 7 }))).locked).toBe(false);
    unlinkIf(lock, { pid: 100, start: 5 });
    expect((await tryLock(lock, system(200, { 100: 5, 200: 7 }))).locked).toBe(true);
  });
});
