// A worker's memory and main thread as Linux shows them in /proc, read by its primary: no subprocess,
// no message to the worker (whose event loop may be the thing that is stuck). Where there is no /proc
// (macOS), both are null and the guards that need them do nothing.
import { readFileSync } from 'node:fs';
import type { ThreadSample } from '../pool/tracked-worker.js';

/** Clock ticks per second of /proc's CPU times (USER_HZ): 100 on every Linux architecture Node runs on. */
const TICKS_PER_S = 100;

const VM_RSS = /^VmRSS:\s+(\d+) kB$/m;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    // No /proc, or the process is gone.
    return null;
  }
}

/** Resident set size in bytes, from /proc/<pid>/status (exact; no page size to know). */
export function readRss(pid: number, proc = '/proc'): number | null {
  const match = VM_RSS.exec(read(`${proc}/${pid}/status`) ?? '');
  return match ? Number(match[1]) * 1024 : null;
}

/** The main thread's state and CPU time, from /proc/<pid>/task/<pid>/stat. */
export function readMainThread(pid: number, proc = '/proc'): ThreadSample | null {
  const line = read(`${proc}/${pid}/task/${pid}/stat`);
  if (!line) return null;
  // After the command (which may hold spaces and parentheses): field 3 is the state, 14 and 15 the CPU.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!/^[A-Za-z]$/.test(state) || !Number.isFinite(ticks)) return null;
  return { state, cpuMs: (ticks * 1000) / TICKS_PER_S };
}
