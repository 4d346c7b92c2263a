// The dashboard's token, read once when clusterd starts from where the config says (never from the
// config itself): an environment variable, or a file. The file is opened first and checked on what was
// opened (fstat: no race between a check and the read). Symlinks are followed: Kubernetes mounts a
// Secret's keys as symlinks into its `..data` directory. What is checked instead is the file reached: a
// regular file, owned by clusterd's user or by root (a file someone else owns could be theirs to swap,
// and a token they know is a session they get), not writable by group or others, not readable by others.
// The token is never logged nor put in a message.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { TokenSource } from '../../config/dashboard.js';
import { ClusterdError, ErrorCode, ExitCode } from '../../errors.js';

export const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_BYTES = 4096;

function refuse(message: string): ClusterdError {
  return new ClusterdError(ErrorCode.HEALTH, `health.dashboard.token: ${message}`, ExitCode.CONFIG);
}

/** What is wrong with the token file as opened, or null. Pure (over its stat and our uid). */
export function tokenFileProblem(
  stat: Pick<Stats, 'mode' | 'uid' | 'isFile'>,
  uid: number | null,
): string | null {
  if (!stat.isFile()) return 'is not a regular file';
  if (uid !== null && stat.uid !== uid && stat.uid !== 0)
    return `belongs to uid ${stat.uid}, not to clusterd's user (${uid}) nor root`;
  const mode = stat.mode & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  if (mode & 0o022) return `is writable by group or others (mode ${octal}); chmod go-w it`;
  if (mode & 0o004)
    return `is readable by everyone (mode ${octal}); chmod 600 it (in Kubernetes, a Secret volume's defaultMode 0400 or 0440)`;
  return null;
}

/** What is wrong with a token's value, or null (the value itself is never part of the answer). */
export function tokenValueProblem(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH)
    return `is ${token.length} characters long, shorter than ${MIN_TOKEN_LENGTH} (make one with: openssl rand -hex 32)`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(token)) return 'holds a control character';
  return null;
}

function readFileToken(path: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in its place does not hang the start.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(`cannot open the file ${path} (${code ?? 'error'})`);
  }
  try {
    const problem = tokenFileProblem(fstatSync(fd), process.getuid?.() ?? null);
    if (problem) throw refuse(`the file ${path} ${problem}`);
    const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_TOKEN_BYTES) throw refuse(`the file ${path} is larger than ${MAX_TOKEN_BYTES} bytes`);
    const token = buffer.toString('utf8', 0, length).trim();
    const bad = tokenValueProblem(token);
    if (bad) throw refuse(`the token in ${path} ${bad}`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** The token, from the environment or the file; a clear error (EX_CONFIG) when it cannot be had. */
export function readToken(source: TokenSource, env: NodeJS.ProcessEnv): string {
  if ('file' in source) return readFileToken(source.file);
  const value = env[source.env];
  if (value === undefined || value.trim() === '')
    throw refuse(`the environment variable ${source.env} is not set (or empty)`);
  const token = value.trim();
  const bad = tokenValueProblem(token);
  if (bad) throw refuse(`the token in ${source.env} ${bad}`);
  return token;
}
