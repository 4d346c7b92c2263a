// Where a config is looked for, in order (cosmiconfig's search places; documented in configuration.md).
// Kept apart from load.ts so the control commands can find the config file without loading a parser.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NAME = 'clusterd';

export const SEARCH_PLACES = [
  ...['json', 'yaml', 'yml', 'js', 'mjs', 'cjs', 'ts', 'mts', 'cts'].map((ext) => `cluster.config.${ext}`),
  ...['', '.json', '.yaml', '.yml', '.js', '.mjs', '.cjs', '.ts'].map((ext) => `.${NAME}rc${ext}`),
  'package.json',
];

function hasPackageKey(file: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return typeof pkg === 'object' && pkg !== null && Object.hasOwn(pkg, NAME);
  } catch {
    return false;
  }
}

/** The config file `path` names (a file, or a directory to search), or the one in `cwd`; undefined if none. */
export function findConfigFile(cwd: string, path?: string): string | undefined {
  const target = resolve(cwd, path ?? '.');
  const stats = statSync(target, { throwIfNoEntry: false });
  if (!stats) return undefined;
  if (stats.isFile()) return target;
  for (const place of SEARCH_PLACES) {
    const file = join(target, place);
    if (existsSync(file) && (place !== 'package.json' || hasPackageKey(file))) return file;
  }
  return undefined;
}
