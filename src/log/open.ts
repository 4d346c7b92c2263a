// Opening a log file so that nobody else can redirect it, whatever the umask: the path is checked (see
// safe-path.ts), missing directories are created 0750, the file is opened with O_NOFOLLOW (a symbolic
// link at the file itself is refused, never followed), created 0640, and refused when it is a hard link
// (another user may have linked a file of root's there). libuv opens every file with O_CLOEXEC, so no
// worker inherits it.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { checkLogDirectory, ownerName, UNSAFE } from './safe-path.js';

/** Modes of what clusterd creates for log files, whatever the umask. */
export const FILE_MODE = 0o640;
export const DIR_MODE = 0o750;

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
/** Flags for a log file that exists and is not a regular file (a FIFO, /dev/full): never created. */
export const DEVICE_FLAGS = O_WRONLY | O_APPEND | O_NOFOLLOW;

function refused(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Checks the directory of `file`, creating what is missing (0750), and checks it again once made. */
export function prepareLogDirectory(file: string): void {
  const dir = dirname(file);
  const missing = checkLogDirectory(dir);
  if (missing === null) return;
  // The first directory mkdir made, as a prefix of `dir` (`missing` is where the walk found it, past
  // any symbolic link: not a prefix, and climbing to it from `dir` could chmod a link's target).
  const first = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  // mkdir's mode goes through the umask; what was just made gets exactly DIR_MODE.
  if (first !== undefined)
    for (let path = dir; path.length >= first.length; path = dirname(path)) chmodSync(path, DIR_MODE);
  checkLogDirectory(dir);
}

/** Who should own a log file: the hook for apps run as another user (the directories stay ours). */
export interface LogOwner {
  uid: number;
  gid: number;
}

export type LogTarget = { kind: 'file'; fd: number; size: number } | { kind: 'device' };

/**
 * Opens `file` for appending, or says it is a device or FIFO (opened by the caller, asynchronously, with
 * DEVICE_FLAGS: a FIFO without a reader would block a synchronous open). Throws with a `code`.
 */
export function openLogTarget(file: string, owner?: LogOwner): LogTarget {
  prepareLogDirectory(file);
  const before = lstatSync(file, { throwIfNoEntry: false });
  if (before?.isSymbolicLink())
    throw refused(
      'SYMLINK',
      `${file} is a symbolic link; clusterd never writes a log file through one (whoever made it could point it at any file): remove it`,
    );
  if (before?.isDirectory()) throw refused('EISDIR', `EISDIR: ${file} is a directory`);
  if (before && !before.isFile()) return { kind: 'device' };
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, FILE_MODE);
  } catch (error) {
    // Planted between the lstat and the open: the same refusal.
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw refused('SYMLINK', `${file} is a symbolic link; clusterd never writes a log file through one`);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile())
      throw refused(UNSAFE, `${file} changed into something other than a file while it was opened`);
    if (stats.nlink > 1)
      throw refused(
        'HARDLINK',
        `${file} has ${stats.nlink} hard links; clusterd never writes a log file that is also another file: remove it`,
      );
    // One someone else made first (in a sticky /tmp, say) would hand them every line written to it.
    const euid = process.geteuid?.() ?? 0;
    if (stats.uid !== 0 && stats.uid !== euid && stats.uid !== owner?.uid)
      throw refused(
        UNSAFE,
        `${file} is owned by ${ownerName(stats.uid)}, not by root or the user clusterd runs as: remove it`,
      );
    // Created now (through the umask) or by an older clusterd under umask 000: at most FILE_MODE.
    const wanted = before ? stats.mode & 0o777 & FILE_MODE : FILE_MODE;
    if ((stats.mode & 0o777) !== wanted) fchmodSync(fd, wanted);
    // On the fd: the path could name something else by now. Needs root, as running apps as a user does.
    if (owner && (stats.uid !== owner.uid || stats.gid !== owner.gid)) fchownSync(fd, owner.uid, owner.gid);
    return { kind: 'file', fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
