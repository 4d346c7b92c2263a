// The checks that keep another local user out of a private directory (the control socket's, the
// detached log's): the directory itself is no symlink, is ours, and has no group/other bits; each of its
// ancestors (symlinks resolved) is ours or root's, and sticky if anyone may write to it, so nobody else
// can rename our directory away and put another in its place. A check that fails says who owns what.
import { lstatSync, mkdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { ownerName } from './owners.js';

/** Why `dir` (an existing path) is not a private directory of user `uid`; undefined if it is. */
export function privateDirProblem(dir: string, uid: number | undefined): string | undefined {
  const stats = lstatSync(dir);
  if (stats.isSymbolicLink()) return `${dir} is a symbolic link (to ${realOr(dir)}), not a directory`;
  if (!stats.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && stats.uid !== uid) {
    return `${dir} is owned by ${ownerName(stats.uid)}, not by you (${ownerName(uid)})`;
  }
  if ((stats.mode & 0o077) !== 0) {
    return `${dir} has mode ${mode(stats)}; it must be 0700 (no group or other permissions)`;
  }
  // Every ancestor: whoever may rename one of them may put another directory in our directory's place.
  for (let parent = dirname(dir), child = dir; parent !== child; child = parent, parent = dirname(parent)) {
    const up = statSync(parent);
    if (uid !== undefined && up.uid !== uid && up.uid !== 0) {
      return `${parent} (above ${dir}) is owned by ${ownerName(up.uid)}, neither by you nor by root`;
    }
    if ((up.mode & 0o002) !== 0 && (up.mode & 0o1000) === 0) {
      return `${parent} (above ${dir}) is writable by everyone and not sticky (mode ${mode(up)})`;
    }
  }
  return undefined;
}

/**
 * Creates `dir` (mode 0700, whatever the umask) or checks an existing one; returns its path with the
 * parent's symlinks resolved, so that what was checked is what is used afterwards.
 */
export function ensurePrivateDir(
  dir: string,
  code: ErrorCode = ErrorCode.CONTROL,
  hint = 'XDG_STATE_HOME',
): string {
  let real: string;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    real = join(realpathSync(dirname(dir)), basename(dir));
    // The ancestors are checked on the real path: a symlink among them is someone's choice of place.
  } catch (error) {
    // ENOTDIR, EACCES, EROFS, ENOSPC: one line that says which directory, not a stack trace.
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ClusterdError(
      code,
      `cannot create ${dir} (${reason}: ${notDirectory(dir) ?? (error as Error).message}); fix it, or point ${hint} elsewhere`,
      ExitCode.FAILURE,
      { cause: error },
    );
  }
  const problem = privateDirProblem(real, process.getuid?.());
  if (problem) {
    throw new ClusterdError(code, `refusing ${real}: ${problem}; fix or remove it`, ExitCode.FAILURE);
  }
  return real;
}

/** Says which ancestor of `dir` is in the way ("/x/state is not a directory"), if one is. */
export function notDirectory(dir: string): string | undefined {
  for (let path = dir; path !== dirname(path); path = dirname(path)) {
    let stats: Stats | undefined;
    try {
      stats = statSync(path, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (stats) return stats.isDirectory() ? undefined : `${path} is not a directory`;
  }
  return undefined;
}

const mode = (stats: Stats) => `0${(stats.mode & 0o7777).toString(8)}`;

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return 'nowhere';
  }
}

/**
 * What the client checks before it trusts a socket: a private directory of its user, and in it a
 * socket owned by its user. Returns the path to connect to (symlinks above the directory resolved);
 * undefined when there is nothing there (nothing runs).
 */
export function verifySocket(
  socket: string,
  uid: number | undefined = process.getuid?.(),
): string | undefined {
  let dir: string;
  try {
    dir = join(realpathSync(dirname(dirname(socket))), basename(dirname(socket)));
    lstatSync(dir);
  } catch {
    return undefined;
  }
  const refuse = (problem: string) =>
    new ClusterdError(
      ErrorCode.CONTROL,
      `refusing to use the control socket ${socket}: ${problem}; nothing was sent`,
      ExitCode.FAILURE,
    );
  const problem = privateDirProblem(dir, uid);
  if (problem) throw refuse(problem);
  const path = join(dir, basename(socket));
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!stats.isSocket()) throw refuse(`${path} is not a socket`);
  if (uid !== undefined && stats.uid !== uid) {
    throw refuse(`${path} is owned by ${ownerName(stats.uid)}, not by you (${ownerName(uid)})`);
  }
  return path;
}
