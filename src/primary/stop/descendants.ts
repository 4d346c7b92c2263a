// Which processes belong to a worker, decided over a snapshot of the process table (pure: the table is
// read by descendants-proc.ts, and the tests give fake ones). A process is named by its pid and its
// start time, so a pid the kernel gave to another process since is never mistaken for it.

/** One row of the process table: what /proc/<pid>/stat says. */
export interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** Start time after boot, in clock ticks (field 22): with the pid, it names one process for good. */
  readonly start: number;
  /** One letter (R, S, D, T, Z, X, ...): a zombie (Z, X) has ended and only waits to be reaped. */
  readonly state: string;
}

export type ProcessTable = readonly ProcEntry[];

/**
 * Parses one /proc/<pid>/stat line: `pid (comm) state ppid pgrp session ... starttime ...`. The command
 * name may hold spaces and parentheses, so the fields are read after the last `)`. Null for anything else.
 */
export function parseStat(line: string): ProcEntry | null {
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(')');
  if (open < 1 || close < open) return null;
  const pid = Number(line.slice(0, open));
  // After ") ": state is field 3, so field n is at index n - 3.
  const fields = line
    .slice(close + 2)
    .trim()
    .split(' ');
  const state = fields[0] ?? '';
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const start = Number(fields[19]);
  if (!/^[A-Za-z]$/.test(state)) return null;
  if (![pid, ppid, pgid, start].every((n) => Number.isSafeInteger(n) && n >= 0) || pid === 0) return null;
  return { pid, ppid, pgid, start, state };
}

/** True while the process has not ended (a zombie has). */
export function isLive(entry: ProcEntry): boolean {
  return entry.state !== 'Z' && entry.state !== 'X';
}

/** The same process: same pid and same start time (a reused pid starts later). */
export function sameProcess(a: ProcEntry, b: ProcEntry): boolean {
  return a.pid === b.pid && a.start === b.start;
}

/**
 * Every process below `pid` (children, their children, ...), found by walking parent links down,
 * nearest first. A row whose parent started after it is not its child (the parent's pid was reused
 * after the real parent ended): that link is cut. Garbage (cycles, duplicates) ends the walk there.
 */
export function descendantsOf(table: ProcessTable, pid: number): ProcEntry[] {
  const byPid = new Map<number, ProcEntry>();
  const children = new Map<number, ProcEntry[]>();
  for (const entry of table) {
    if (byPid.has(entry.pid)) continue;
    byPid.set(entry.pid, entry);
  }
  for (const entry of byPid.values()) {
    if (entry.ppid === entry.pid) continue;
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const root = byPid.get(pid);
  const found: ProcEntry[] = [];
  const seen = new Set<number>([pid]);
  const queue: ProcEntry[] = [];
  const visit = (parent: number, parentStart: number | undefined) => {
    for (const child of children.get(parent) ?? []) {
      if (seen.has(child.pid)) continue;
      if (parentStart !== undefined && child.start < parentStart) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child);
    }
  };
  visit(pid, root?.start);
  for (let next = queue.shift(); next; next = queue.shift()) visit(next.pid, next.start);
  return found;
}

/** The live members of process group `group` besides its leader (a program's instance): what it started. */
export function groupMembers(table: ProcessTable, group: number): ProcEntry[] {
  return table.filter((e) => e.pgid === group && e.pid !== group && isLive(e));
}

/**
 * Members of process group `group` whose chain of parents does not reach `ancestor`: processes the
 * app started that lost their parent (re-parented to PID 1 or a subreaper). `ancestor` itself is
 * never one; a chain that loops or breaks off does not reach it.
 */
export function orphansOf(table: ProcessTable, group: number, ancestor: number): ProcEntry[] {
  const byPid = new Map<number, ProcEntry>();
  for (const entry of table) if (!byPid.has(entry.pid)) byPid.set(entry.pid, entry);
  const reaches = new Map<number, boolean>();
  const reachesAncestor = (entry: ProcEntry): boolean => {
    const path: number[] = [];
    let current: ProcEntry | undefined = entry;
    let answer = false;
    const onPath = new Set<number>();
    while (current) {
      const known = reaches.get(current.pid);
      if (known !== undefined) {
        answer = known;
        break;
      }
      if (current.pid === ancestor) {
        answer = true;
        break;
      }
      if (onPath.has(current.pid)) break;
      onPath.add(current.pid);
      path.push(current.pid);
      const parent = byPid.get(current.ppid);
      // A parent younger than its child is a reused pid, not the parent.
      current = parent && parent.start <= current.start ? parent : undefined;
    }
    for (const pid of path) reaches.set(pid, answer);
    return answer;
  };
  return [...byPid.values()].filter(
    (e) => e.pgid === group && e.pid !== ancestor && isLive(e) && !reachesAncestor(e),
  );
}
