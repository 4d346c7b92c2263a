// Reads a config file defensively: only a regular file, at most MAX_CONFIG_BYTES, never blocking. A FIFO
// would block a read forever and /dev/zero would never end; a 10 MB config is a mistake, not a config.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/** Config files larger than this are refused without being parsed. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A file system problem in words: why a path cannot be used. */
export class FileProblem extends Error {
  constructor(
    message: string,
    /** 'missing': the path does not exist; 'kind': not a regular file; 'size': too large; 'io': other. */
    readonly kind: 'missing' | 'kind' | 'size' | 'io',
  ) {
    super(message);
  }
}

/** What a file system error code means for the user. */
export function describeFsError(error: unknown): FileProblem {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return new FileProblem('does not exist', 'missing');
    case 'ENOTDIR':
      return new FileProblem('does not exist (a parent in the path is not a directory)', 'missing');
    case 'ELOOP':
      return new FileProblem('is a symbolic link loop (too many levels of symbolic links)', 'io');
    case 'ENAMETOOLONG':
      return new FileProblem('the path is too long for the file system', 'io');
    case 'EACCES':
    case 'EPERM':
      return new FileProblem('cannot be read: permission denied', 'io');
    case 'ERR_INVALID_ARG_VALUE':
      return new FileProblem('the path contains a NUL character', 'io');
    default:
      return new FileProblem(`cannot be read: ${code ?? (error as Error)?.message ?? String(error)}`, 'io');
  }
}

/** The kind of a file that is not a regular one, in words ("a directory", "a FIFO"). */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `statSync` that follows symbolic links and turns every failure into a FileProblem. */
export function statPath(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw describeFsError(error);
  }
}

function checkRegular(stats: Stats, noun: string): void {
  if (!stats.isFile()) throw new FileProblem(`is ${fileKind(stats)}, not a regular file`, 'kind');
  if (stats.size > MAX_CONFIG_BYTES) throw tooLarge(stats.size, noun);
}

const tooLarge = (size: number, noun: string) =>
  new FileProblem(
    `is ${size > 2 * MAX_CONFIG_BYTES ? `${(size / MAX_CONFIG_BYTES).toFixed(1)} MiB` : `${size} bytes`}; ${noun} are limited to 1 MiB (${MAX_CONFIG_BYTES} bytes)`,
    'size',
  );

/** Checks, without reading it, that `file` is a regular file of at most MAX_CONFIG_BYTES. */
export function checkConfigFile(file: string, noun = 'config files'): void {
  checkRegular(statPath(file), noun);
}

/**
 * The bytes of a regular file of at most MAX_CONFIG_BYTES; throws a FileProblem for anything else. `noun`
 * names such files in the message of one too large ("env files").
 */
export function readConfigBytes(file: string, noun = 'config files'): Buffer {
  // stat first, so a device is refused without being opened; O_NONBLOCK, so a FIFO put in the file's
  // place meanwhile cannot block the open; fstat, so what is read is what was checked.
  checkConfigFile(file, noun);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw describeFsError(error);
  }
  try {
    checkRegular(fstatSync(fd), noun);
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      // The file grew past the limit while being read.
      if (length > MAX_CONFIG_BYTES) throw tooLarge(length, noun);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    throw error instanceof FileProblem ? error : describeFsError(error);
  } finally {
    closeSync(fd);
  }
}
