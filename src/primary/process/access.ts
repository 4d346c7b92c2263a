// Why a worker run as another user could not start: the primary (the supervisor's user, usually root)
// can read everything, the worker cannot, and Node's own message (EACCES on a path, or a spawn error for
// an unreachable cwd) does not say which user lacked which permission. Pure over an injected stat, so the
// permission rules are unit-tested without creating users.
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResolvedRunAs } from '../../config/resolved.js';

export interface Mode {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

const R = 4;
const X = 1;

// The permission bits that apply to this uid and gid (supplementary groups are dropped, so only the
// primary gid counts). Root passes the read and search checks, as the kernel lets it.
function allowed(stat: Mode, who: Pick<ResolvedRunAs, 'uid' | 'gid'>, want: number): boolean {
  if (who.uid === 0) return true;
  const bits = stat.uid === who.uid ? stat.mode >> 6 : stat.gid === who.gid ? stat.mode >> 3 : stat.mode;
  return (bits & want) === want;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function whoIs(who: ResolvedRunAs): string {
  const ids = `uid ${who.uid}, gid ${who.gid}`;
  return who.user ? `user ${who.user} (${ids})` : ids;
}

// The directories from the root down to `path`, excluded.
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.unshift(dir);
    if (dirname(dir) === dir) return out;
  }
}

/**
 * What keeps `who` from reading `script` or entering `cwd` (each directory on the way needs search
 * permission), or null when nothing does, or when a path cannot be examined (the worker's own error says
 * that).
 */
export function accessProblem(
  paths: { script: string; cwd: string; preload?: string },
  who: ResolvedRunAs,
  stat: (path: string) => Mode | null = statMode,
): string | null {
  const checks: [string, number, string][] = [
    ...ancestors(paths.cwd).map((d): [string, number, string] => [d, X, 'enter']),
    [paths.cwd, X, 'enter its working directory'],
    ...ancestors(paths.script).map((d): [string, number, string] => [d, X, 'enter']),
    [paths.script, R, 'read its script'],
    ...(paths.preload
      ? [
          ...ancestors(paths.preload).map((d): [string, number, string] => [d, X, 'enter']),
          [paths.preload, R, "read clusterd's preload"] as [string, number, string],
        ]
      : []),
  ];
  const seen = new Set<string>();
  for (const [path, want, what] of checks) {
    const key = `${path} ${want}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const s = stat(path);
    if (s === null) return null;
    if (!allowed(s, who, want)) {
      const verb = what === 'enter' ? `enter ${path}` : `${what} ${path}`;
      return `${whoIs(who)} cannot ${verb} (mode ${octal(s.mode)}, owner ${s.uid}:${s.gid})`;
    }
  }
  return null;
}

function statMode(path: string): Mode | null {
  try {
    const s = statSync(path);
    return { mode: s.mode, uid: s.uid, gid: s.gid };
  } catch {
    return null;
  }
}

/**
 * What keeps `who` from reading `file` itself (search permission on each directory on the way, read
 * permission on the file), or null. The supervisor (often root) reads an app's env files for it: a file
 * its workers' user could not read, such as a symbolic link to one of root's, must not reach them.
 */
export function readProblem(
  path: string,
  who: ResolvedRunAs,
  stat: (path: string) => Mode | null = statMode,
  real: (path: string) => string = realPath,
): string | null {
  // The directories of the file a symbolic link leads to are the ones the user would have to enter.
  const file = real(path);
  for (const dir of ancestors(file)) {
    const s = stat(dir);
    if (s !== null && !allowed(s, who, X))
      return `${whoIs(who)} cannot enter ${dir} (mode ${octal(s.mode)}, owner ${s.uid}:${s.gid})`;
  }
  const s = stat(file);
  if (s !== null && !allowed(s, who, R))
    return `${whoIs(who)} cannot read it (mode ${octal(s.mode)}, owner ${s.uid}:${s.gid})`;
  return null;
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
