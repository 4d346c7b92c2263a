// Where a running clusterd can be found: one private directory per user, one socket per config.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
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
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stats = statSync(dir);
  const uid = process.getuid?.();
  if ((uid !== undefined && stats.uid !== uid) || (stats.mode & 0o077) !== 0) {
    throw new ClusterdError(
      ErrorCode.CONTROL,
      `${dir} must be a directory owned by you with mode 0700 (it is ${(stats.mode & 0o777).toString(8)}, owner ${stats.uid}); fix or remove it`,
      ExitCode.FAILURE,
    );
  }
}
