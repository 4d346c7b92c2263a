// `envFile`: `.env` files read with Node.js's own parser (`util.parseEnv`), at load (so that a missing
// file is a config error with the others) and again at every worker start (so that a changed file
// applies at the next reload or restart, with nothing watching it). Their values are secrets: no message
// here quotes one, only the file, the variable's name and what is wrong with the value.
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { clip } from './display.js';
import { FileProblem, readConfigBytes } from './read.js';
import { describeSecret } from './secret-values.js';

/** Why an env file cannot be used; the message names the file, never a value. */
export class EnvFileProblem extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    /** Which of the app's env files (0-based), for the JSON pointer of a config issue. */
    readonly index: number,
  ) {
    super(`env file ${clip(file)} ${problem}`);
  }
}

/** The env files an app's `envFile` names (one path or a list), as absolute paths from its cwd. */
export function envFilePaths(envFile: string | readonly string[] | undefined, cwd: string): string[] {
  if (envFile === undefined) return [];
  return (typeof envFile === 'string' ? [envFile] : envFile).map((path) => resolve(cwd, path));
}

/** The variables of `.env` text; a NUL (which no process environment can hold) is a problem. */
export function parseEnvText(text: string): Record<string, string> | string {
  const parsed = parseEnv(text);
  const out: Record<string, string> = {};
  for (const [key, value = ''] of Object.entries(parsed)) {
    if (key.includes('\0')) return 'has a variable name with a NUL character in it';
    if (value.includes('\0'))
      return `has a value that holds ${describeSecret(value)} for ${clip(key, 100)}; a process environment cannot hold a NUL`;
    out[key] = value;
  }
  return out;
}

/** One env file's variables: a regular file of at most 1 MiB, read in full without blocking. */
export function readEnvFile(file: string, index = 0): Record<string, string> {
  let bytes: Buffer;
  try {
    bytes = readConfigBytes(file, 'env files');
  } catch (error) {
    if (error instanceof FileProblem) throw new EnvFileProblem(file, error.message, index);
    throw error;
  }
  const vars = parseEnvText(bytes.toString('utf8'));
  if (typeof vars === 'string') throw new EnvFileProblem(file, vars, index);
  return vars;
}

/** The variables of the app's env files, read now, in order: a later file wins. */
export function readEnvFiles(files: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  files.forEach((file, i) => {
    Object.assign(out, readEnvFile(file, i));
  });
  return out;
}
