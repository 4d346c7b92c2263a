// The config pipeline: find and read the file, validate it against the schema, resolve it.
import { ConfigError, type ConfigIssue } from '../errors.js';
import { oversizeIssues } from './limits.js';
import { type LoadedConfigFile, loadConfigFile } from './load.js';
import { normalizeConfig } from './normalize.js';
import { preflightIssues } from './preflight.js';
import type { ResolvedConfig } from './resolved.js';
import { schemaErrors } from './schema.js';
import { type SchemaIssue, schemaIssues } from './schema-issues.js';
import type { ClusterdConfig } from './types.generated.js';

export interface LoadConfigOptions {
  /** A config file, or a directory to search; default: search the working directory. */
  path?: string;
  /** Directory relative paths and the search start from (default: process.cwd()). */
  cwd?: string;
  /** The `--env` whose overlays to merge. */
  environment?: string | null;
  /** CPUs `instances: "max"` stands for (default: what this process may use). */
  cpus?: () => number;
}

const unescapeSegment = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

function appName(data: unknown, pointer: string): string | undefined {
  const index = /^\/apps\/(\d+)/.exec(pointer)?.[1];
  const apps = (data as { apps?: unknown } | null)?.apps;
  const name =
    index !== undefined && Array.isArray(apps)
      ? (apps[Number(index)] as { name?: unknown })?.name
      : undefined;
  // Only a name that could be valid labels an issue: a 1 MB name must not be printed on every line.
  return typeof name === 'string' && name.length <= 64 ? name : undefined;
}

function located(loaded: LoadedConfigFile, issues: SchemaIssue[]): ConfigIssue[] {
  const out = issues.map(({ atKey, unplaced, pointer, ...rest }): ConfigIssue => {
    const app = appName(loaded.data, pointer);
    const path = [...loaded.prefix, ...(pointer ? pointer.slice(1).split('/').map(unescapeSegment) : [])];
    const position = unplaced ? undefined : loaded.map?.locate(path, atKey);
    const fullPointer = loaded.prefix.length ? `/${loaded.prefix.join('/')}${pointer}` : pointer;
    return { ...rest, file: loaded.file, pointer: fullPointer, ...(app ? { app } : {}), ...position };
  });
  // Document order, so the list reads top to bottom like the file.
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Loads, validates and resolves a config. Throws a ConfigError listing every problem found. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const loaded = await loadConfigFile({ cwd, ...(options.path === undefined ? {} : { path: options.path }) });
  return resolveConfigData(loaded, options);
}

/**
 * Validates and resolves config data already read (what loadConfig does once the file is parsed), for
 * a config that exists only in memory so far, such as one `clusterd import` is about to write.
 */
export function resolveConfigData(
  loaded: LoadedConfigFile,
  options: Pick<LoadConfigOptions, 'environment' | 'cpus'> = {},
): ResolvedConfig {
  const environment = options.environment ?? null;
  const oversize = oversizeIssues(loaded.data);
  if (oversize.length) throw new ConfigError(located(loaded, oversize));
  const errors = schemaErrors(loaded.data);
  if (errors.length) {
    const issues = [
      ...schemaIssues(errors),
      ...preflightIssues(loaded.data, { file: loaded.file, environment }),
    ];
    throw new ConfigError(located(loaded, issues));
  }
  const { config, issues } = normalizeConfig(loaded.data as ClusterdConfig, {
    file: loaded.file,
    environment,
    ...(options.cpus ? { cpus: options.cpus } : {}),
  });
  if (!config) throw new ConfigError(located(loaded, issues));
  return config;
}

export type { ConfigFormat, LoadedConfigFile } from './load.js';
export { SEARCH_PLACES } from './load.js';
export type { ResolvedApp, ResolvedConfig } from './resolved.js';
