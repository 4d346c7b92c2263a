// Which running clusterd a command is about: the one of the config the search finds in the directory (or
// that --config names), or, when the directory holds no config under the searched names, the one
// clusterd running a config file of that directory under another name (`npm start` runs
// cluster.config.example.json). Several such: the user must say which.
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, extname, join, resolve } from 'node:path';
import { displayPath } from '../config/display.js';
import { findConfigFile } from '../config/search-places.js';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { socketPath } from './paths.js';
import { verifySocket } from './private-dir.js';

/** The extensions a config file may have (config/load.ts reads these). */
export const CONFIG_EXTENSIONS: ReadonlySet<string> = new Set([
  '.json',
  '.yaml',
  '.yml',
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.mts',
  '.cts',
]);

/** The names of a directory listing that could be config files, by their extension; pure. */
export function configCandidates(names: readonly string[]): string[] {
  return names.filter((name) => CONFIG_EXTENSIONS.has(extname(name).toLowerCase())).sort();
}

/**
 * The config of the one clusterd running among `running` (config files of `dir` whose clusterd
 * answers); undefined for none; throws when there are several, naming them. Pure.
 */
export function chooseRunning(
  dir: string,
  running: readonly string[],
  cwd: string = process.cwd(),
): string | undefined {
  if (running.length <= 1) return running[0];
  const names = running.map((file) => basename(file)).join(', ');
  throw new ClusterdError(
    ErrorCode.SEVERAL_RUNNING,
    `clusterd runs for ${running.length} config files in ${dir === cwd ? 'this directory' : displayPath(dir, cwd)} (${names}); pass --config PATH to say which`,
    ExitCode.FAILURE,
  );
}

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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The config files of `dir` whose clusterd is running (its socket there, ours, and listening). */
export async function runningIn(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const sockets: { file: string; path: string }[] = [];
  for (const name of configCandidates(names)) {
    const file = join(dir, name);
    let socket: string;
    try {
      socket = socketPath(file, env);
    } catch {
      continue; // gone meanwhile, or a dangling link
    }
    // A socket that is not ours, or a runtime directory that is not private, is refused loudly here too.
    const path = verifySocket(socket);
    if (path !== undefined) sockets.push({ file, path });
  }
  const alive = await Promise.all(sockets.map(({ path }) => listening(path)));
  return sockets.filter((_, i) => alive[i]).map(({ file }) => file);
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
  const dir = resolve(cwd, config ?? '.');
  const running = isDirectory(dir) ? chooseRunning(dir, await runningIn(dir, env), cwd) : undefined;
  if (running) return { config: running, socket: socketPath(running, env) };
  throw new ClusterdError(
    ErrorCode.CONFIG_NOT_FOUND,
    `${config ? `${config}: no such config file` : 'no config file in this directory'}; run from the project or pass --config PATH`,
    ExitCode.NO_INPUT,
  );
}
