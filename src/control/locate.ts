// Which running clusterd a command is about: the one of the config the search finds in the directory, or
// that --config names.
import { connect } from 'node:net';
import { findConfigFile } from '../config/search-places.js';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { socketPath } from './paths.js';

/**
 * Whether someone listens on the socket: a refused connection (or none there) says nobody does, as the
 * root itself decides when it finds a socket left behind (control/server.ts).
 */
export function listening(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    const timer = setTimeout(() => finish(true), 1_000);
    const finish = (alive: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      done(alive);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(!(error.code === 'ECONNREFUSED' || error.code === 'ENOENT')),
    );
  });
}

/**
 * The control socket of the clusterd running the config in `cwd` (or at `config`, a file or a directory
 * to search), and that config's path. Throws CONFIG_NOT_FOUND when there is none to find.
 */
export async function locateSocket(
  cwd: string,
  config?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: string; socket: string }> {
  const file = findConfigFile(cwd, config);
  if (file) return { config: file, socket: socketPath(file, env) };
  throw new ClusterdError(
    ErrorCode.CONFIG_NOT_FOUND,
    `${config ? `${config}: no such config file` : 'no config file in this directory'}; run from the project or pass --config PATH`,
    ExitCode.NO_INPUT,
  );
}
