import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcUsage } from '../../src/supervisor/usage.js';

// A /proc of made-up files: `stat` as Linux writes it (the command may hold spaces and parentheses).
function fakeProc() {
  const files = new Map<string, string>();
  const proc = {
    files,
    uptime: (s: number) => files.set('/p/uptime', `${s} 1000.00\n`),
    process: (
      pid: number,
      { ticks, start, rssKiB }: { ticks: [number, number]; start: number; rssKiB?: number },
    ) => {
      const after = [
        'S',
        '1',
        '1',
        '1',
        '0',
        '-1',
        '0',
        '0',
        '0',
        '0',
        '0',
        String(ticks[0]),
        String(ticks[1]),
      ];
      while (after.length < 19) after.push('0');
      after.push(String(start), '0', '0');
      files.set(`/p/${pid}/stat`, `${pid} (node (app) x) ${after.join(' ')}\n`);
      files.set(
        `/p/${pid}/status`,
        `Name:\tnode\n${rssKiB === undefined ? '' : `VmRSS:\t   ${rssKiB} kB\n`}`,
      );
    },
    gone: (pid: number) => {
      files.delete(`/p/${pid}/stat`);
      files.delete(`/p/${pid}/status`);
    },
    read: (path: string) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return text;
    },
  };
  return proc;
}

describe('ProcUsage', () => {
  it('gives CPU since the process started the first time, then since the previous sample', () => {
    const p = fakeProc();
    const usage = new ProcUsage('/p', p.read);
    // Started at 100 s after boot (10,000 ticks); at 110 s it has used 5 s of CPU: 50 %.
    p.uptime(110);
    p.process(7, { ticks: [300, 200], start: 10_000, rssKiB: 2048 });
    expect(usage.sample([7])?.get(7)).toEqual({ cpu: 50, memory: 2048 * 1024 });
    // One more second at 2 cores' worth... of a single core: 100 ticks in 1 s is 100 %.
    p.uptime(111);
    p.process(7, { ticks: [350, 250], start: 10_000, rssKiB: 4096 });
    expect(usage.sample([7])?.get(7)).toEqual({ cpu: 100, memory: 4096 * 1024 });
    // Idle for 2 s.
    p.uptime(113);
    expect(usage.sample([7])?.get(7)?.cpu).toBe(0);
  });

  it('starts afresh for a pid reused by another process, and leaves out one that is gone', () => {
    const p = fakeProc();
    const usage = new ProcUsage('/p', p.read);
    p.uptime(200);
    p.process(9, { ticks: [1000, 0], start: 5_000, rssKiB: 10 });
    usage.sample([9]);
    // The same pid, a new process started at 190 s that used 1 s: 10 %, not a negative or huge figure.
    p.process(9, { ticks: [100, 0], start: 19_000, rssKiB: 10 });
    p.uptime(200);
    expect(usage.sample([9])?.get(9)?.cpu).toBeCloseTo(10);
    p.gone(9);
    const sampled = usage.sample([9, 10]);
    expect(sampled?.size).toBe(0);
  });

  it('counts a process without VmRSS (a zombie) as holding no memory', () => {
    const p = fakeProc();
    const usage = new ProcUsage('/p', p.read);
    p.uptime(50);
    p.process(3, { ticks: [0, 0], start: 1_000 });
    expect(usage.sample([3])?.get(3)).toEqual({ cpu: 0, memory: 0 });
  });

  it('says when there is no /proc', () => {
    const usage = new ProcUsage('/nowhere', () => {
      throw new Error('ENOENT');
    });
    expect(usage.available()).toBe(false);
    expect(usage.sample([1])).toBeNull();
  });

  it('reads a real process on Linux: its memory, and the CPU it burns', async () => {
    const usage = new ProcUsage();
    const child = spawn(
      process.execPath,
      ['-e', 'const end = Date.now() + 4000; while (Date.now() < end);'],
      {
        stdio: 'ignore',
      },
    );
    try {
      const pid = child.pid as number;
      // Its CPU time so far, in ticks (read beside the reader under test).
      const ticks = () => {
        const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
        return Number(f[11]) + Number(f[12]);
      };
      // Running its loop (not still starting): then its memory is its own.
      while (ticks() < 10) await new Promise((resolve) => setTimeout(resolve, 20));
      const first = usage.sample([pid])?.get(pid);
      expect(first?.memory).toBeGreaterThan(1024 * 1024);
      // Until it has burned half a second more.
      const from = ticks();
      while (ticks() < from + 50) await new Promise((resolve) => setTimeout(resolve, 20));
      const busy = usage.sample([pid])?.get(pid);
      // A loop that never yields: a share of one core that the shared machine gave it, not nothing (an
      // idle process reads 0) and not more than its one thread and V8's helpers can burn.
      expect(busy?.cpu).toBeGreaterThan(10);
      expect(busy?.cpu).toBeLessThan(150);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) =>
        child.exitCode === null && child.signalCode === null ? child.once('exit', resolve) : resolve(null),
      );
    }
    expect(usage.sample([child.pid as number])?.has(child.pid as number)).toBe(false);
  });
});
