// What the importer asks of the app's project on disk: what a path is, a package.json, whether a file
// is a binary. Every answer is a plain value; a path that cannot be read counts as missing.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigBytes } from '../../config/read.js';

export type PathKind = 'file' | 'directory' | 'missing' | 'other';

export function pathKind(path: string): PathKind {
  try {
    const stats = statSync(path);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

export interface PackageJson {
  name?: unknown;
  main?: unknown;
  scripts?: Record<string, unknown>;
}

/** The package.json of `dir`, or null when there is none (or it is not JSON). */
export function readPackageJson(dir: string): PackageJson | null {
  try {
    const data = JSON.parse(readConfigBytes(join(dir, 'package.json')).toString('utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : null;
  } catch {
    return null;
  }
}

// PM2 runs a script without a known extension through its interpreter "none" when it is a binary.
export function looksBinary(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).includes(0);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The file Node.js runs for a directory given as its script: package.json `main`, else index.js. */
export function directoryEntry(dir: string): string | null {
  return packageEntry(readPackageJson(dir)?.main, (file) => pathKind(join(dir, file)) === 'file');
}

/** The file Node.js runs for a package whose `main` is `main` (`isFile`: relative to the package); pure. */
export function packageEntry(main: unknown, isFile: (file: string) => boolean): string | null {
  return [...mainCandidates(main), 'index.js', 'index.cjs'].find(isFile) ?? null;
}

/** The files a package's `main` may name, in the order Node.js tries them. */
export const mainCandidates = (main: unknown): string[] =>
  typeof main === 'string' ? [main, `${main}.js`, join(main, 'index.js')] : [];
