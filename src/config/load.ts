// Finds and reads a config file: the search places in order, then our own guarded reading and parsers, for
// positions and clear errors. (Not cosmiconfig: its "meta config" runs .config/config.js from the working
// directory whatever the config's format, it reads a file before any check, and it merges `$import`s.)
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, ErrorCode } from '../errors.js';
import { indexJson, jsonTooDeep } from './json-source.js';
import { loadModule } from './load-module.js';
import { MAX_DEPTH, type Position, positionOf, type SourceMap } from './positions.js';
import { describeFsError, FileProblem, readConfigBytes } from './read.js';
import { NAME, searchConfigDir } from './search-places.js';

export type ConfigFormat = 'json' | 'yaml' | 'js' | 'ts';

export interface LoadedConfigFile {
  /** Absolute path. */
  file: string;
  format: ConfigFormat;
  /** The config value (for package.json, its `clusterd` key). */
  data: unknown;
  /** Pointer segments from the file's root to the config value (`["clusterd"]` in package.json). */
  prefix: readonly string[];
  /** Positions of values, for JSON and YAML files. */
  map?: SourceMap;
}

const EXTENSIONS: Record<string, ConfigFormat> = {
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '': 'yaml',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
};

export { SEARCH_PLACES } from './search-places.js';

function issue(
  file: string,
  code: ErrorCode,
  message: string,
  position?: Position,
  hint?: string,
): ConfigIssue {
  return { code, file, pointer: '', message, ...position, ...(hint ? { hint } : {}) };
}

const fail = (...args: Parameters<typeof issue>) => new ConfigError([issue(...args)]);

function fileProblem(file: string, problem: FileProblem): ConfigError {
  const code = {
    missing: ErrorCode.CONFIG_NOT_FOUND,
    kind: ErrorCode.CONFIG_LOAD,
    size: ErrorCode.CONFIG_TOO_LARGE,
    io: ErrorCode.CONFIG_LOAD,
  }[problem.kind];
  return fail(file, code, `the config file ${problem.message}`);
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readConfigBytes(file);
  } catch (error) {
    throw error instanceof FileProblem ? fileProblem(file, error) : error;
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw fail(file, ErrorCode.CONFIG_PARSE, 'the file is UTF-16 text', undefined, 'save it as UTF-8');
  }
  let text: string;
  try {
    // A UTF-8 byte order mark is dropped.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw fail(
      file,
      ErrorCode.CONFIG_PARSE,
      'the file is not valid UTF-8 text',
      undefined,
      'save it as UTF-8',
    );
  }
  // YAML forbids NUL, JSON allows it only escaped, and V8's JSON.parse stops at a trailing one.
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    throw fail(
      file,
      ErrorCode.CONFIG_PARSE,
      'the file contains a NUL character: a config is text',
      positionOf(text, nul),
      'is it UTF-16 or a binary file? save it as UTF-8 text',
    );
  }
  if (text.trim() === '') throw fail(file, ErrorCode.CONFIG_PARSE, 'the config file is empty');
  return text;
}

interface Parsed {
  data: unknown;
  map?: SourceMap;
}

function loadJson(file: string, text: string): Parsed {
  const deep = jsonTooDeep(text);
  if (deep !== undefined) {
    const message = `invalid JSON: collections are nested more than ${MAX_DEPTH} levels deep`;
    throw fail(file, ErrorCode.CONFIG_PARSE, message, positionOf(text, deep));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const offset = /at position (\d+)/.exec(message)?.[1];
    const position = positionOf(text, offset === undefined ? text.length : Number(offset));
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    throw fail(file, ErrorCode.CONFIG_PARSE, `invalid JSON: ${reason.slice(0, 200)}`, position);
  }
  const { map, duplicates } = indexJson(text);
  if (duplicates.length) {
    throw new ConfigError(
      duplicates.map((position) =>
        issue(
          file,
          ErrorCode.CONFIG_DUPLICATE_KEY,
          'duplicate key: a key may appear once per object',
          position,
        ),
      ),
    );
  }
  return { data, map };
}

async function loadYaml(file: string, text: string): Promise<Parsed> {
  const { parseYaml } = await import('./source.js');
  const parsed = parseYaml(text);
  if (parsed.errors.length) {
    throw new ConfigError(
      parsed.errors.map((e) =>
        e.duplicateKey
          ? issue(
              file,
              ErrorCode.CONFIG_DUPLICATE_KEY,
              'duplicate key: a key may appear once per mapping',
              e.position,
            )
          : issue(file, ErrorCode.CONFIG_PARSE, `invalid YAML: ${e.message}`, e.position),
      ),
    );
  }
  return { data: parsed.value, map: parsed.map };
}

function notFound(file: string, message: string, hint?: string): ConfigError {
  return fail(file, ErrorCode.CONFIG_NOT_FOUND, message, undefined, hint);
}

// The file `path` names, or the one found in the directory it names (default: the working directory).
function locate(options: { path?: string; cwd: string }): { file: string; explicit: boolean } {
  const target = resolve(options.cwd, options.path ?? '.');
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch (error) {
    const problem = describeFsError(error);
    if (problem.kind === 'missing') throw notFound(target, 'no such file or directory');
    throw fileProblem(target, problem);
  }
  if (!isDirectory) return { file: target, explicit: true };
  const file = searchConfigDir(target);
  if (file) return { file, explicit: false };
  throw notFound(
    target,
    'no config file in this directory',
    'create cluster.config.json (or .yaml, .js, .ts), or pass the path: clusterd validate path/to/config.json',
  );
}

/**
 * Loads the config at `path` (a file, or a directory to search), or searches the working directory.
 * Throws a ConfigError for a missing, unreadable or unparsable file.
 */
export async function loadConfigFile(options: {
  path?: string;
  cwd: string;
  /** Bound on a JS or TS config module's load (default: MODULE_LOAD_TIMEOUT_MS). */
  moduleTimeoutMs?: number;
}): Promise<LoadedConfigFile> {
  const { file, explicit } = locate(options);
  const isPackage = basename(file) === 'package.json';
  const format = isPackage ? 'json' : EXTENSIONS[extname(file)];
  if (format === undefined) {
    throw fail(
      file,
      ErrorCode.CONFIG_LOAD,
      `unsupported config file type "${extname(file)}"`,
      undefined,
      `use one of ${Object.keys(EXTENSIONS).filter(Boolean).join(', ')}`,
    );
  }
  // Every format is read first: the checks (regular file, size, text) hold for JS and TS configs too.
  const text = readText(file);
  const { data, map } =
    format === 'json'
      ? loadJson(file, text)
      : format === 'yaml'
        ? await loadYaml(file, text)
        : { data: await loadModule(file, format, options.moduleTimeoutMs) };
  if (!isPackage) return { file, format, data, prefix: [], ...(map ? { map } : {}) };
  const pkg = data as Record<string, unknown> | null;
  if (!(typeof pkg === 'object' && pkg !== null && Object.hasOwn(pkg, NAME))) {
    throw explicit
      ? notFound(file, `has no "${NAME}" key`, `add "${NAME}": { "apps": [...] }`)
      : notFound(file, 'no config file in this directory');
  }
  return { file, format, data: pkg[NAME], prefix: [NAME], ...(map ? { map } : {}) };
}
