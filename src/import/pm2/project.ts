// What the importer asks of the app's project on disk: what a path is, a package.json, whether a file
// is a binary. Every answer is a plain value; a path that cannot be read counts as missing.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { readConfigBytes } from '../../config/read.js';
import type { LaunchContext } from './launch.js';

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
  return headBytes(file, 512)?.includes(0) ?? false;
}

// The first `size` bytes of a regular file, or null for anything else. Opened without blocking and
// checked after the open: a FIFO (or a device) where a file was expected would block a read forever.
function headBytes(file: string, size: number): Buffer | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    if (!fstatSync(fd).isFile()) return null;
    const head = Buffer.alloc(size);
    return head.subarray(0, readSync(fd, head, 0, size, 0));
  } catch {
    return null;
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

// A bin's JavaScript file: npm and yarn link node_modules/.bin/<bin> to it; pnpm writes a shell script
// that runs `node "$basedir/../<package>/<file>"`.
function binFile(link: string, hops = 0): string | null {
  // One link at a time, not realpath: node_modules/next/dist/bin/next stays valid across upgrades where
  // pnpm's store path (node_modules/.pnpm/next@15.1.0/...) does not.
  let target = link;
  try {
    if (lstatSync(link).isSymbolicLink()) target = resolve(dirname(link), readlinkSync(link));
  } catch {
    return null;
  }
  if (target !== link && hops < 8 && isLink(target)) return binFile(target, hops + 1);
  const head = readHead(target);
  if (head === null) return null;
  if (/^#!.*\bnode\b/.test(head) || /\.(c|m)?js$/.test(target)) return target;
  const shim = /"\$basedir\/(\.\.\/[^"]+)"/.exec(head);
  if (shim && hops < 8) return binFile(join(dirname(link), shim[1] as string), hops + 1);
  return null;
}

const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

/** The first 2 KiB of a regular text file (no NUL), or null. */
export function readHead(file: string): string | null {
  const head = headBytes(file, 2048);
  return head === null || head.includes(0) ? null : head.toString('utf8');
}

/** JSON with comments and trailing commas, as tsc reads tsconfig.json; throws as JSON.parse does. */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charAt(i);
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text.charAt(j) !== '"') j += text.charAt(j) === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text.charAt(i + 1) === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end - 1;
    } else if (c === '/' && text.charAt(i + 1) === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      out += ' ';
    } else if (c !== ',' || !TRAILING.test(text.slice(i + 1, i + 4097))) out += c;
  }
  return JSON.parse(out);
}

// What follows a trailing comma: blanks and comments up to a closing bracket.
const TRAILING = /^(?:\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*[}\]]/;

/** The project in `dir` as launch.ts asks about it, read from disk. */
export function projectContext(dir: string): LaunchContext {
  return {
    isFile: (file) => pathKind(resolve(dir, file)) === 'file',
    readJson: (file) => {
      try {
        const text = readConfigBytes(resolve(dir, file)).toString('utf8');
        // tsconfig.json is JSON with comments (tsc --init writes them); npm reads package.json strictly.
        return basename(file) === 'package.json' ? JSON.parse(text) : parseJsonc(text);
      } catch {
        return null;
      }
    },
    binTarget: (bin) => {
      // node_modules/.bin here or in a directory above (a workspace's hoisted dependencies).
      for (let at = resolve(dir); ; at = dirname(at)) {
        const link = join(at, 'node_modules', '.bin', bin);
        if (pathKind(link) === 'file') {
          const file = binFile(link);
          return file === null ? null : relative(resolve(dir), file);
        }
        if (dirname(at) === at) return null;
      }
    },
  };
}
