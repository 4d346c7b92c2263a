// Where a running clusterd can be found: one private directory per user, one socket per config.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';

/** The per-user runtime directory: $XDG_RUNTIME_DIR/clusterd, else <tmpdir>/clusterd-<uid>. Mode 0700. */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR;
  return base ? join(base, 'clusterd') : join(tmpdir(), `clusterd-${userInfo().uid}`);
}

/** Where `start --detach` writes logs: $XDG_STATE_HOME/clusterd/logs, else ~/.local/state/clusterd/logs. */
export function logsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'clusterd', 'logs');
}

/** A short stable name for a config file, from its real path: two projects never share a socket. */
export function configId(configFile: string): string {
  return createHash('sha256').update(realpathSync(configFile)).digest('hex').slice(0, 16);
}

export function socketPath(configFile: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDir(env), `${configId(configFile)}.sock`);
}

/** Creates `dir` (mode 0700) or checks that an existing one is ours and private. */
export function ensurePrivateDir(dir: string, code: ErrorCode = ErrorCode.CONTROL): void {
  let stats: Stats;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    stats = statSync(dir);
  } catch (error) {
    // ENOTDIR, EACCES, EROFS, ENOSPC: one line that says which directory, not a stack trace.
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ClusterdError(
      code,
      `cannot create ${dir} (${reason}: ${notDirectory(dir) ?? (error as Error).message}); fix it, or point ${code === ErrorCode.CONTROL ? 'XDG_RUNTIME_DIR' : 'XDG_STATE_HOME'} elsewhere`,
      ExitCode.FAILURE,
      { cause: error },
    );
  }
  const uid = process.getuid?.();
  if ((uid !== undefined && stats.uid !== uid) || (stats.mode & 0o077) !== 0) {
    throw new ClusterdError(
      code,
      `${dir} must be a directory owned by you with mode 0700 (it is ${(stats.mode & 0o777).toString(8)}, owner ${stats.uid}); fix or remove it`,
      ExitCode.FAILURE,
    );
  }
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
