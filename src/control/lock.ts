// One supervisor per config, atomically: a lock file created with O_EXCL holds the pid and start time
// of the supervisor that owns the config's socket. Node.js has no flock, so a lock left by a supervisor
// that died is recognised by its holder being gone (the pid is dead, or now belongs to a process that
// started at another time) and broken under a second O_EXCL file, so that two starts that both find it
// stale cannot both take it. A live holder is never replaced, however busy or stopped (SIGSTOP) it is.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { parseStat } from '../primary/stop/descendants.js';

export interface Holder {
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat); null where there is no /proc. */
  start: number | null;
}

/** What the lock needs of the system, injected so that the decisions are tested without processes. */
export interface LockSystem {
  /** The start time of a live process, null without /proc; undefined if no such process. */
  startOf(pid: number): number | null | undefined;
  self: Holder;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function procStart(pid: number): number | null | undefined {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    // Field 22 of the stat line, read as the process trees read it.
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.start ?? null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux'
      ? undefined
      : null;
  }
}

export const realSystem = (): LockSystem => ({
  startOf: procStart,
  self: { pid: process.pid, start: procStart(process.pid) ?? null },
});

/** Whether `holder` is the process that wrote it and still runs. */
export function holderAlive(holder: Holder, system: LockSystem): boolean {
  if (holder.pid <= 0) return false;
  const start = system.startOf(holder.pid);
  if (start === undefined) return false;
  return start === null || holder.start === null || start === holder.start;
}

function readHolder(path: string): Holder | undefined {
  try {
    const text = readFileSync(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 0) {
      return { pid: value.pid, start: typeof value.start === 'number' ? value.start : null };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  // Unreadable (a lock is never half-written, see create): nobody's, so a dead holder.
  return { pid: 0, start: null };
}

// Creates `path` holding `self`; false if it exists. Written aside and hard-linked into place (link
// fails if the name exists, like O_EXCL), so a lock is never seen half-written.
function create(path: string, self: Holder): boolean {
  const aside = `${path}.${self.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(aside, CREATE, 0o600);
  try {
    writeSync(fd, JSON.stringify(self));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(aside);
  }
}

const same = (a: Holder | undefined, b: Holder | undefined) =>
  a !== undefined && b !== undefined && a.pid === b.pid && a.start === b.start;

export type Outcome = { locked: true; broke?: Holder } | { locked: false; holder: Holder };

/**
 * Takes the lock at `path`, or says who holds it. Breaks a stale lock (its holder gone) only while
 * holding `<path>.break`, re-reading it there: two starts that found it stale cannot both break it.
 */
export async function tryLock(path: string, system: LockSystem, attempts = 100): Promise<Outcome> {
  let broke: Holder | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (create(path, system.self)) return broke ? { locked: true, broke } : { locked: true };
    const holder = readHolder(path);
    if (holder === undefined) continue; // Released meanwhile: try again.
    if (holderAlive(holder, system)) return { locked: false, holder };
    const breaker = `${path}.break`;
    if (!create(breaker, system.self)) {
      // Another start is breaking it, or died doing so (its breaker's holder is gone: remove that).
      const other = readHolder(breaker);
      if (other && !holderAlive(other, system)) unlinkIf(breaker, other);
      else await sleep(10);
      continue;
    }
    try {
      if (same(readHolder(path), holder)) {
        unlinkSync(path);
        broke = holder;
      }
    } finally {
      unlinkSync(breaker);
    }
  }
  throw new ClusterdError(
    ErrorCode.CONTROL,
    `could not take the lock ${path} after ${attempts} attempts; another clusterd is starting or stopping`,
    ExitCode.FAILURE,
  );
}

// Removes `path` if it still holds `holder` (a lock never removes another's).
export function unlinkIf(path: string, holder: Holder): void {
  if (!same(readHolder(path), holder)) return;
  try {
    unlinkSync(path);
  } catch {}
}
