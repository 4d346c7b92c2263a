// Where a running clusterd can be found: one private directory per user, one socket per config.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';

export { ensurePrivateDir, notDirectory } from './private-dir.js';

/** A Unix socket path longer than this (sun_path is 108 bytes with its NUL) cannot be bound. */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface RuntimeDir {
  dir: string;
  /** Where it came from, named in messages so that the user knows what to change. */
  from: 'RUNTIME_DIRECTORY' | 'XDG_RUNTIME_DIR' | 'root' | 'tmp';
}

/**
 * The runtime directory, in this order: `$RUNTIME_DIRECTORY` (systemd's `RuntimeDirectory=`, its first
 * entry), `/run/clusterd` for root, `$XDG_RUNTIME_DIR/clusterd` for other users, and only then
 * `<tmpdir>/clusterd-<uid>`. Root ignores `XDG_RUNTIME_DIR`: `su` and `sudo -E` keep another user's.
 */
export function runtimeDir(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): RuntimeDir {
  const systemd = env.RUNTIME_DIRECTORY?.split(':')[0];
  if (systemd) return { dir: systemd, from: 'RUNTIME_DIRECTORY' };
  if (uid === 0) return { dir: '/run/clusterd', from: 'root' };
  if (env.XDG_RUNTIME_DIR) return { dir: join(env.XDG_RUNTIME_DIR, 'clusterd'), from: 'XDG_RUNTIME_DIR' };
  return { dir: join(tmpdir(), `clusterd-${uid ?? 'user'}`), from: 'tmp' };
}

/** What to tell a user whose runtime directory cannot be used. */
export function runtimeDirHint(from: RuntimeDir['from']): string {
  return from === 'RUNTIME_DIRECTORY' || from === 'XDG_RUNTIME_DIR' ? from : 'RUNTIME_DIRECTORY';
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
  return join(runtimeDir(env).dir, `${configId(configFile)}.sock`);
}

/** The lock that makes one supervisor per config: next to its socket. */
export function lockPath(socket: string): string {
  return socket.replace(/\.sock$/, '.lock');
}

/** Refuses a socket path the kernel would refuse (or, worse, truncate on some systems). */
export function checkSocketPathLength(socket: string, from: RuntimeDir['from']): void {
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new ClusterdError(
      ErrorCode.CONTROL,
      `the control socket path ${socket} is ${bytes} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows; point ${runtimeDirHint(from)} at a shorter directory`,
      ExitCode.FAILURE,
    );
  }
}
