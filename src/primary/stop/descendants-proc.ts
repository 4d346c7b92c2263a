// Stopping what the app started: the process table read from /proc (Linux), signals sent only to a
// process still the one that was seen (same pid, same start time), and the SIGKILLs due at
// `shutdown.timeout` kept until they are sent. The decisions are in descendants.ts; the system is
// injected, so tests drive this with fake tables and fake time. Where there is no /proc (macOS), the
// table is empty and nothing beyond the worker itself is signalled.
import { readdirSync, readFileSync } from 'node:fs';
import {
  descendantsOf,
  isLive,
  orphansOf,
  type ProcEntry,
  type ProcessTable,
  parseStat,
} from './descendants.js';

/** What the process trees need of the system. */
export interface ProcSystem {
  /** Every process now; null where the system has no /proc. */
  table(): ProcessTable | null;
  /** One process now, or null if there is none with that pid. */
  entry(pid: number): ProcEntry | null;
  /** Sends a signal; throws if there is no such process. */
  kill(pid: number, signal: NodeJS.Signals): void;
}

export function linuxProc(dir = '/proc'): ProcSystem {
  const entry = (pid: number): ProcEntry | null => {
    try {
      return parseStat(readFileSync(`${dir}/${pid}/stat`, 'latin1'));
    } catch {
      // Gone between the listing and the read, or never there.
      return null;
    }
  };
  return {
    table: () => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return null;
      }
      const rows: ProcEntry[] = [];
      for (const name of names) {
        if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
        const row = entry(Number(name));
        if (row) rows.push(row);
      }
      return rows;
    },
    entry,
    kill: (pid, signal) => process.kill(pid, signal),
  };
}

/** How often the processes being stopped are looked at while the primary waits for them to end. */
const IDLE_POLL_MS = 25;

const key = (e: ProcEntry) => `${e.pid}:${e.start}`;

/**
 * The processes of one primary's tree that clusterd has to stop besides its workers: a worker's
 * descendants when it stops, the orphans its process group holds after a worker exits.
 */
export class ProcessTrees {
  /** Signalled, SIGKILL due at their deadline unless they end first. */
  private readonly pending = new Map<string, ProcEntry>();
  private readonly cancels = new Set<() => void>();
  private hurried = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly fx: {
      sys: ProcSystem;
      timer(ms: number, fn: () => void): () => void;
      /** This primary: orphans are searched in its process group, if it leads one. */
      self: number;
    },
  ) {}

  private table(): ProcessTable {
    return this.fx.sys.table() ?? [];
  }

  /** The worker's descendants now (none where /proc is missing or the worker is gone). */
  descendants(pid: number | undefined): ProcEntry[] {
    if (pid === undefined) return [];
    return descendantsOf(this.table(), pid);
  }

  /**
   * Sends `signal` to each process that is still the one seen (same pid, same start), and not ended.
   * Returns those signalled.
   */
  signal(entries: readonly ProcEntry[], signal: NodeJS.Signals): ProcEntry[] {
    const sent: ProcEntry[] = [];
    for (const seen of entries) {
      if (seen.pid <= 1 || seen.pid === this.fx.self) continue;
      const now = this.fx.sys.entry(seen.pid);
      if (!now || now.start !== seen.start || !isLive(now)) continue;
      try {
        this.fx.sys.kill(seen.pid, signal);
        sent.push(seen);
      } catch {
        // It ended in between.
      }
    }
    return sent;
  }

  /**
   * Stops processes: `signal` now, SIGKILL after `timeout` ms to those still alive. Processes already
   * being stopped are not signalled twice. After `hurry()`, SIGKILL at once.
   */
  stop(entries: readonly ProcEntry[], signal: NodeJS.Signals, timeout: number): void {
    const fresh = entries.filter((e) => !this.pending.has(key(e)));
    if (this.hurried) {
      this.signal(fresh, 'SIGKILL');
      return;
    }
    const sent = this.signal(fresh, signal);
    if (sent.length === 0) return;
    for (const e of sent) this.pending.set(key(e), e);
    const cancel = this.fx.timer(timeout, () => {
      this.cancels.delete(cancel);
      const due = sent.filter((e) => this.pending.delete(key(e)));
      this.signal(due, 'SIGKILL');
      this.settle();
    });
    this.cancels.add(cancel);
  }

  /** SIGKILL to the worker's descendants, seen before `killWorker` runs (after it they are re-parented). */
  killTree(pid: number | undefined, killWorker: () => void): void {
    const below = this.descendants(pid);
    killWorker();
    this.signal(below, 'SIGKILL');
  }

  /**
   * After a worker exited: the members of this primary's process group whose parents no longer lead
   * to it were left by the app. They get `signal`, and SIGKILL after `timeout`. Only when this primary
   * leads its own group (the root forks it detached): another group is not ours to sweep.
   */
  sweep(signal: NodeJS.Signals, timeout: number): void {
    const table = this.table();
    const self = table.find((e) => e.pid === this.fx.self);
    if (!self || self.pgid !== self.pid) return;
    this.stop(orphansOf(table, self.pgid, self.pid), signal, timeout);
  }

  /** Everything being stopped gets SIGKILL now, and so does whatever is stopped from now on. */
  hurry(): void {
    this.hurried = true;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
    const due = [...this.pending.values()];
    this.pending.clear();
    this.signal(due, 'SIGKILL');
    this.settle();
  }

  /**
   * Resolves once every process being stopped has ended, or got its SIGKILL (the primary waits for it
   * before it exits). They are not our children, so no exit event comes: they are looked at every 25 ms.
   */
  idle(): Promise<void> {
    this.prune();
    if (this.pending.size === 0) return Promise.resolve();
    const waiting = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.idleWaiters.length === 1) this.poll();
    return waiting;
  }

  private poll(): void {
    const cancel = this.fx.timer(IDLE_POLL_MS, () => {
      this.cancels.delete(cancel);
      this.prune();
      if (this.idleWaiters.length > 0 && this.pending.size > 0) this.poll();
    });
    this.cancels.add(cancel);
  }

  // Forgets the processes that ended; wakes whoever waits once none is left.
  private prune(): void {
    for (const [k, seen] of this.pending) {
      const now = this.fx.sys.entry(seen.pid);
      if (!now || now.start !== seen.start || !isLive(now)) this.pending.delete(k);
    }
    this.settle();
  }

  private settle(): void {
    if (this.pending.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * The root's sweep after a primary exited: every live member of its process group (`group` is the
 * dead primary's pid) gets SIGKILL. The kernel does not hand out a pid still in use as a group id, so
 * while a live process has pid `group` the group is someone else's and nothing is killed. Repeated
 * while it finds anything (a process may fork between the read and the kill), at most 5 times.
 * Returns the pids killed.
 */
export function killGroup(sys: ProcSystem, group: number): number[] {
  const killed = new Set<number>();
  if (group <= 1) return [];
  for (let pass = 0; pass < 5; pass++) {
    const table = sys.table();
    if (!table) break;
    const leader = table.find((e) => e.pid === group);
    if (leader && isLive(leader)) break;
    const members = table.filter((e) => e.pgid === group && isLive(e) && e.pid !== process.pid);
    let sent = 0;
    for (const member of members) {
      const now = sys.entry(member.pid);
      if (!now || now.start !== member.start || now.pgid !== group || !isLive(now)) continue;
      try {
        sys.kill(member.pid, 'SIGKILL');
        killed.add(member.pid);
        sent++;
      } catch {
        // Ended in between.
      }
    }
    if (sent === 0) break;
  }
  return [...killed];
}
