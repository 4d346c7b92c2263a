// Where a profile or heap snapshot is written, and how: by the client (the CLI, or a script through the
// programmatic client), in its current directory by default, never over anything. A heap snapshot holds
// every string of the worker's heap (tokens, passwords, users' data), so the file is created 0600 with
// O_CREAT|O_EXCL|O_NOFOLLOW: an existing file is never overwritten, a symbolic link never followed
// (O_EXCL fails on one, dangling or not), and its directory must be one nobody else can swap
// (log/safe-path.ts, the log files' rule). A profile that fails midway leaves no partial file.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ClusterdError, ErrorCode, errorMessage } from '../errors.js';
import { checkLogDirectory } from '../log/safe-path.js';
import type { ProfileKind } from '../protocol.js';

export const PROFILE_FILE_MODE = 0o600;

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

const two = (n: number) => String(n).padStart(2, '0');

/** `<app>-<slot>-<pid>-<YYYYMMDDTHHMMSS>.cpuprofile` (or `.heapsnapshot`), local time. Pure. */
export function profileFileName(
  who: { app: string; worker: number; pid: number; kind: ProfileKind },
  at: Date,
): string {
  const stamp = `${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}T${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  const app = who.app.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${app}-${who.worker}-${who.pid}-${stamp}.${who.kind === 'heap' ? 'heapsnapshot' : 'cpuprofile'}`;
}

/** The file to write: `output` (a directory: the default name in it), else the default name in `cwd`. */
export function profilePath(output: string | undefined, cwd: string, name: string): string {
  if (output === undefined) return join(cwd, name);
  const path = resolve(cwd, output);
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ? join(path, name) : path;
}

const refused = (message: string) => new ClusterdError(ErrorCode.OUTPUT_FILE, message);

/**
 * Refuses at once, before anything is taken, an `output` that names something that exists (other than a
 * directory) or a directory that will not do: the same refusals as createProfileFile's, earlier.
 */
export function checkProfileOutput(output: string | undefined, cwd: string): void {
  const path = resolve(cwd, output ?? '.');
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats?.isDirectory()) checkDirectory(join(path, 'x'));
  else if (stats) throw existing(path);
  else checkDirectory(path);
}

const existing = (path: string) =>
  refused(
    lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()
      ? `${path} is a symbolic link; clusterd never writes a profile through one: choose another --output`
      : `${path} exists already; clusterd never overwrites a file: choose another --output`,
  );

// The directory of `path` must exist and be one nobody else can swap (log/safe-path.ts).
function checkDirectory(path: string): void {
  try {
    const missing = checkLogDirectory(dirname(path));
    if (missing !== null) throw refused(`cannot write ${path}: ${missing} does not exist`);
  } catch (error) {
    if (error instanceof ClusterdError) throw error;
    throw refused(`refusing to write ${path}: ${errorMessage(error)}`);
  }
}

/** A new file at `path`, created 0600 and opened for writing, or a refusal that says why. */
export function createProfileFile(path: string): { fd: number; close(): void; remove(): void } {
  checkDirectory(path);
  const exists = () => existing(path);
  if (lstatSync(path, { throwIfNoEntry: false })) throw exists();
  let fd: number;
  try {
    fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, PROFILE_FILE_MODE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') throw exists();
    throw refused(`cannot create ${path}: ${errorMessage(error)}`);
  }
  // Exactly 0600 whatever the umask; on the fd, as the path could name something else by now.
  fchmodSync(fd, PROFILE_FILE_MODE);
  const { dev, ino } = fstatSync(fd);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    fd,
    close,
    // Closes it and removes it, if the path still names the file created (nothing else is removed).
    remove: () => {
      close();
      const now = lstatSync(path, { throwIfNoEntry: false });
      if (now && now.dev === dev && now.ino === ino) unlinkSync(path);
    },
  };
}
