// The checks of a config that need only names and paths (files exist, names unique, the --env is
// defined): safe on any value, valid or not, so they run even when the schema failed elsewhere and one
// pass reports every problem.
import type { Stats } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode } from '../errors.js';
import { clip } from './display.js';
import { EnvFileProblem, envFilePaths, readEnvFile } from './env-file.js';
import { FileProblem, fileKind, statPath } from './read.js';
import type { SchemaIssue } from './schema-issues.js';
import { shown, suggest } from './schema-issues.js';

export type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export const appCwd = (file: string, app: { cwd?: unknown }) =>
  resolve(file, '..', typeof app.cwd === 'string' ? app.cwd : '.');

// A path the file system can be asked about; the schema reports the others (NUL characters).
const usablePath = (value: unknown): value is string =>
  typeof value === 'string' && value !== '' && !value.includes('\0');

// What is at `path`, or why it cannot be known (a symlink loop, a name too long, no permission).
function inspect(path: string): Stats | FileProblem {
  try {
    return statPath(path);
  } catch (error) {
    if (error instanceof FileProblem) return error;
    throw error;
  }
}

// An app's env files (its own `envFile`, else the one of `defaults`) can be read and parsed now; they
// are read again at every worker start. Messages name the file, never a value.
function envFileIssues(app: Plain, i: number, cwd: string, defaults: unknown): SchemaIssue[] {
  const own = app.envFile !== undefined;
  const envFile = own ? app.envFile : isPlain(defaults) ? defaults.envFile : undefined;
  const list = typeof envFile === 'string' ? [envFile] : Array.isArray(envFile) ? envFile : [];
  // The schema reports what is not a usable path.
  if (!list.every(usablePath)) return [];
  const base = own ? `/apps/${i}/envFile` : '/defaults/envFile';
  const issues: SchemaIssue[] = [];
  envFilePaths(list, cwd).forEach((path, n) => {
    try {
      readEnvFile(path, n);
    } catch (error) {
      if (!(error instanceof EnvFileProblem)) throw error;
      issues.push({
        code: ErrorCode.CONFIG_ENV_FILE,
        pointer: typeof envFile === 'string' ? base : `${base}/${n}`,
        message: `${error.problem}: ${clip(path)}`,
        hint: `env files are relative to the app's cwd (${clip(cwd)})`,
      });
    }
  });
  return issues;
}

// Checks that need only names and paths; they run even when the schema failed elsewhere, so one
// pass reports every problem.
function pathIssues(apps: unknown[], file: string, defaults: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  apps.forEach((app, i) => {
    if (!isPlain(app)) return;
    if (typeof app.cwd === 'string' && app.cwd.includes('\0')) return;
    const cwd = appCwd(file, app);
    if (typeof app.cwd === 'string') {
      const dir = inspect(cwd);
      if (dir instanceof FileProblem || !dir.isDirectory()) {
        const problem = dir instanceof FileProblem ? dir.message : `is not a directory but ${fileKind(dir)}`;
        issues.push({
          code: ErrorCode.CONFIG_CWD_NOT_FOUND,
          pointer: `/apps/${i}/cwd`,
          message: `${problem}: ${clip(cwd)}`,
        });
        return;
      }
    }
    issues.push(...envFileIssues(app, i, cwd, defaults));
    if (!usablePath(app.script)) return;
    const script = resolve(cwd, app.script);
    const stats = inspect(script);
    if (stats instanceof FileProblem || !stats.isFile()) {
      // A directory, a FIFO (it would block the worker's loader) or a device is not a script.
      const problem = stats instanceof FileProblem ? stats.message : `is not a file but ${fileKind(stats)}`;
      issues.push({
        code: ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
        pointer: `/apps/${i}/script`,
        message: `${problem}: ${clip(script)}`,
        hint: `paths are relative to the ${typeof app.cwd === 'string' ? "app's cwd" : "config file's directory"}`,
      });
    }
  });
  return issues;
}

function duplicateNames(apps: unknown[]): SchemaIssue[] {
  const seen = new Map<string, number>();
  const issues: SchemaIssue[] = [];
  apps.forEach((app, i) => {
    if (!isPlain(app) || typeof app.name !== 'string') return;
    const key = app.name.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else {
      issues.push({
        code: ErrorCode.CONFIG_DUPLICATE_APP,
        pointer: `/apps/${i}/name`,
        message: `app name ${shown(app.name)} is already used by apps[${first}] (names are compared ignoring case)`,
      });
    }
  });
  return issues;
}

function unknownEnvironment(layers: Plain[], environment: string): SchemaIssue[] {
  const known = new Set(layers.flatMap((s) => (isPlain(s.environments) ? Object.keys(s.environments) : [])));
  if (known.has(environment)) return [];
  const match = suggest(environment, [...known]);
  return [
    {
      code: ErrorCode.CONFIG_UNKNOWN_ENVIRONMENT,
      pointer: '',
      message: `environment ${shown(environment)} is not defined in the config`,
      unplaced: true,
      hint: match
        ? `did you mean "${match}"?`
        : known.size
          ? `defined environments: ${clip([...known].join(', '))}`
          : 'define it under "environments" in an app or in "defaults"',
    },
  ];
}

/** The checks beyond the schema that are safe on any value, valid or not. */
export function preflightIssues(
  data: unknown,
  options: { file: string; environment?: string | null },
): SchemaIssue[] {
  const apps: unknown[] = isPlain(data) && Array.isArray(data.apps) ? data.apps : [];
  const issues = [
    ...duplicateNames(apps),
    ...pathIssues(apps, options.file, isPlain(data) ? data.defaults : undefined),
  ];
  if (options.environment != null && isPlain(data)) {
    const layers = [data.defaults, ...apps].filter(isPlain);
    issues.push(...unknownEnvironment(layers, options.environment));
  }
  return issues;
}
