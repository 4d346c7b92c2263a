// Where a log file may be written without another local user being able to redirect it. Every directory
// from / down to the log file's own must be owned by root or by the user clusterd runs as, and may be
// writable by group or others only with the sticky bit (logrotate's rule, applied to the whole path);
// a symbolic link on the way must belong to one of them too. Anything else lets someone plant a link or
// swap a directory, and clusterd (often root) would write app output into a file of their choosing.
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** Thrown (as a report's `error`) when a log file's path is not safe to write to. */
export const UNSAFE = 'UNSAFE_PATH';

const STICKY = 0o1000;
const MAX_LINKS = 40;

function unsafe(message: string): Error {
  return Object.assign(new Error(message), { code: UNSAFE });
}

/** The name of uid `uid` from /etc/passwd, for messages; the number when it is not found. */
export function ownerName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id === String(uid) && name) return `${name} (uid ${uid})`;
    }
  } catch {}
  return `uid ${uid}`;
}

const mode = (stats: Pick<Stats, 'mode'>) => `0${(stats.mode & 0o7777).toString(8)}`;

/**
 * Why a directory entry on a log file's path cannot be trusted by user `euid`, or null when it can.
 * Pure: the rule itself, unit-tested without a second user.
 */
export function distrust(
  path: string,
  stats: Pick<Stats, 'uid' | 'mode'> & { isDirectory(): boolean; isSymbolicLink(): boolean },
  euid: number,
): string | null {
  const kind = stats.isSymbolicLink() ? 'symbolic link' : 'directory';
  if (stats.uid !== 0 && stats.uid !== euid)
    return `the ${kind} ${path} is owned by ${ownerName(stats.uid)}, not by root or the user clusterd runs as (mode ${mode(stats)})`;
  if (stats.isDirectory() && stats.mode & 0o022 && !(stats.mode & STICKY))
    return `the directory ${path} is writable by ${stats.mode & 0o002 ? 'others' : 'its group'} and not sticky (owner ${ownerName(stats.uid)}, mode ${mode(stats)})`;
  return null;
}

/**
 * Checks every existing component of absolute directory `dir`, following symbolic links one by one
 * (each one checked before it is followed). Returns the first path that does not exist yet (to be
 * created under a checked directory), or null when `dir` exists. Throws UNSAFE, or ENOTDIR naming the
 * file in the way.
 */
export function checkLogDirectory(dir: string, euid = process.geteuid?.() ?? 0): string | null {
  const pending = dir.split('/').filter(Boolean);
  let at = '/';
  let links = 0;
  const root = lstatSync('/');
  const reason = distrust('/', root, euid);
  if (reason) throw unsafe(reason);
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      at = dirname(at);
      continue;
    }
    const next = join(at, name);
    const stats = lstatSync(next, { throwIfNoEntry: false });
    if (!stats) return next;
    const why = stats.isSymbolicLink() || stats.isDirectory() ? distrust(next, stats, euid) : null;
    if (why) throw unsafe(why);
    if (stats.isSymbolicLink()) {
      if (++links > MAX_LINKS)
        throw Object.assign(new Error(`ELOOP: too many symbolic links under ${dir}`), { code: 'ELOOP' });
      const target = readlinkSync(next);
      if (isAbsolute(target)) at = '/';
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (!stats.isDirectory())
      throw Object.assign(new Error(`ENOTDIR: ${next} is not a directory`), { code: 'ENOTDIR' });
    at = next;
  }
  return null;
}
