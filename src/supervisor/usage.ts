// Each process's CPU and memory for `status` (and the live views, which sample it every second), read
// from Linux's /proc synchronously: a few microseconds a process, no subprocess and no thread-pool round
// trip per process (pidusage, which `status` used before, queued two asynchronous reads per pid and ran
// `getconf` in a shell on its first call). CPU is pidusage's measure: the share of one core used since
// this process was last sampled (since it started, the first time). Where there is no /proc (macOS), the
// caller falls back to pidusage.
import { readFileSync } from 'node:fs';

export interface Usage {
  /** Percent of one core since the previous sample of this pid (since it started, the first time). */
  cpu: number;
  /** Resident set size, bytes. */
  memory: number;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ): 100 on every Linux architecture Node runs on. */
const TICKS_PER_S = 100;
/** A pid not sampled for this long is forgotten (it exited, or nobody asks for it any more). */
const FORGET_S = 60;

interface Seen {
  ticks: number;
  /** System uptime (s) when sampled. */
  at: number;
  /** The process's start (ticks since boot): a pid reused by another process starts afresh. */
  start: number;
}

export class ProcUsage {
  private readonly seen = new Map<number, Seen>();
  private pruned = 0;

  constructor(
    private readonly proc = '/proc',
    private readonly read: (path: string) => string = (path) => readFileSync(path, 'latin1'),
  ) {}

  /** Whether /proc can be read here at all. */
  available(): boolean {
    return this.uptime() !== null;
  }

  /** Each pid's usage (a pid that is gone is left out); null when /proc cannot be read. */
  sample(pids: readonly number[]): Map<number, Usage> | null {
    const now = this.uptime();
    if (now === null) return null;
    const out = new Map<number, Usage>();
    for (const pid of pids) {
      const usage = this.one(pid, now);
      if (usage) out.set(pid, usage);
    }
    // At most once a second: `status` samples its workers one call each.
    if (now - this.pruned >= 1) {
      this.pruned = now;
      for (const [pid, s] of this.seen) if (now - s.at > FORGET_S) this.seen.delete(pid);
    }
    return out;
  }

  private one(pid: number, now: number): Usage | null {
    const stat = this.text(`${this.proc}/${pid}/stat`);
    const status = this.text(`${this.proc}/${pid}/status`);
    if (stat === null || status === null) {
      this.seen.delete(pid);
      return null;
    }
    // After the command (which may hold spaces and parentheses): utime, stime are fields 14 and 15,
    // starttime field 22 (man 5 proc).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const start = Number(fields[19]);
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!Number.isFinite(ticks) || !Number.isFinite(start)) return null;
    const before = this.seen.get(pid);
    const since = before && before.start === start ? before : { ticks: 0, at: start / TICKS_PER_S };
    this.seen.set(pid, { ticks, at: now, start });
    const seconds = now - since.at;
    const cpu = seconds > 0 ? ((ticks - since.ticks) / TICKS_PER_S / seconds) * 100 : 0;
    // A zombie or a kernel thread has no VmRSS line: it holds no memory of its own.
    return { cpu: Math.max(0, cpu), memory: rss ? Number(rss[1]) * 1024 : 0 };
  }

  private uptime(): number | null {
    const text = this.text(`${this.proc}/uptime`);
    const seconds = text === null ? Number.NaN : Number.parseFloat(text);
    return Number.isFinite(seconds) ? seconds : null;
  }

  private text(path: string): string | null {
    try {
      return this.read(path);
    } catch {
      return null;
    }
  }
}
