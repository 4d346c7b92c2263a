// Where a config is looked for, in order (documented in configuration.md).
// Kept apart from load.ts so the control commands can find the config file without loading a parser.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfigBytes } from './read.js';

export const NAME = 'clusterd';

export const SEARCH_PLACES = [
  ...['json', 'yaml', 'yml', 'js', 'mjs', 'cjs', 'ts', 'mts', 'cts'].map((ext) => `cluster.config.${ext}`),
  ...['', '.json', '.yaml', '.yml', '.js', '.mjs', '.cjs', '.ts'].map((ext) => `.${NAME}rc${ext}`),
  'package.json',
];

// Read with the same guards as a config: a package.json that is a FIFO must not hang `clusterd status`.
function hasPackageKey(file: string): boolean {
  try {
    const pkg = JSON.parse(readConfigBytes(file).toString('utf8')) as Record<string, unknown>;
    return typeof pkg === 'object' && pkg !== null && Object.hasOwn(pkg, NAME);
  } catch {
    return false;
  }
}

// What is at `path`: a directory, something else (a file, a FIFO, a symlink loop...), or nothing.
function entry(path: string): 'directory' | 'other' | undefined {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : 'other';
  }
}

/** The config files in `dir` the search would find, in SEARCH_PLACES order (first: the one it uses). */
export function* configFilesIn(dir: string): Generator<string> {
  for (const place of SEARCH_PLACES) {
    const file = join(dir, place);
    // Anything but a directory is a candidate: a FIFO or a symlink loop named cluster.config.json is
    // refused when it is read, not skipped in favour of the next place.
    if (entry(file) === 'other' && (place !== 'package.json' || hasPackageKey(file))) yield file;
  }
}

/** The first config file in `dir`, in SEARCH_PLACES order; undefined if none. */
export function searchConfigDir(dir: string): string | undefined {
  for (const file of configFilesIn(dir)) return file;
  return undefined;
}

/** The config file `path` names (a file, or a directory to search), or the one in `cwd`; undefined if none. */
export function findConfigFile(cwd: string, path?: string): string | undefined {
  const target = resolve(cwd, path ?? '.');
  const kind = entry(target);
  if (kind === undefined) return undefined;
  return kind === 'directory' ? searchConfigDir(target) : target;
}
