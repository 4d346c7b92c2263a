// Finds and reads a config file: cosmiconfig for discovery, our own loaders for positions and clear errors.
import { readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig } from 'cosmiconfig';
import { ConfigError, type ConfigIssue, ErrorCode } from '../errors.js';
import { NAME, SEARCH_PLACES } from './search-places.js';
import { type Position, parseYaml, positionOf, type SourceMap } from './source.js';

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

// cosmiconfig merges in files named by a top-level `$import` key before we see the config;
// loaders return the value inside this box so nothing bypasses validation. (package.json is unboxed
// by cosmiconfig's `packageProp`; its `clusterd` key is read here, after loading.)
interface Box {
  value: unknown;
}

function issue(
  file: string,
  code: ErrorCode,
  message: string,
  position?: Position,
  hint?: string,
): ConfigIssue {
  return { code, file, pointer: '', message, ...position, ...(hint ? { hint } : {}) };
}

function readUtf8(file: string): string {
  const bytes = readFileSync(file);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ConfigError([issue(file, ErrorCode.CONFIG_PARSE, 'the file is not valid UTF-8 text')]);
  }
}

function loadJson(file: string, maps: Map<string, SourceMap>): Box {
  const text = readUtf8(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const offset = /at position (\d+)/.exec(message)?.[1];
    const position = positionOf(text, offset === undefined ? text.length : Number(offset));
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError([issue(file, ErrorCode.CONFIG_PARSE, `invalid JSON: ${reason}`, position)]);
  }
  // JSON.parse keeps the last of duplicate keys silently; the YAML parser finds them, with positions.
  const parsed = parseYaml(text);
  const duplicates = parsed.errors.filter((e) => e.duplicateKey);
  if (duplicates.length) {
    throw new ConfigError(
      duplicates.map((d) =>
        issue(
          file,
          ErrorCode.CONFIG_DUPLICATE_KEY,
          'duplicate key: a key may appear once per object',
          d.position,
        ),
      ),
    );
  }
  maps.set(file, parsed.map);
  return { value };
}

function loadYaml(file: string, maps: Map<string, SourceMap>): Box {
  const parsed = parseYaml(readUtf8(file));
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
  maps.set(file, parsed.map);
  return { value: parsed.value };
}

// The position in the config file where a module failed, read off the error's stack.
function stackPosition(error: unknown, file: string): Position | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  for (const name of [pathToFileURL(file).href, file]) {
    const at = stack.indexOf(name);
    if (at < 0) continue;
    const m = /^(?:\?[^:\s]*)?:(\d+)(?::(\d+))?/.exec(stack.slice(at + name.length));
    if (m) return { line: Number(m[1]), column: Number(m[2] ?? 1) };
  }
  return undefined;
}

async function loadModule(file: string, format: 'js' | 'ts'): Promise<Box> {
  let module: Record<string, unknown>;
  try {
    if (format === 'ts') {
      // jiti (a TypeScript transpiler) loads only for TS configs: it would weigh on every supervisor.
      const { createJiti } = await import('jiti');
      const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false });
      module = { default: await jiti.import(file, { default: true }) };
    } else {
      // The mtime in the URL makes a changed file load anew (live config reload); an unchanged one is reused.
      const url = `${pathToFileURL(file).href}?mtime=${statSync(file).mtimeMs}`;
      module = (await import(url)) as Record<string, unknown>;
    }
  } catch (error) {
    const reason = (
      error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)
    ).trim();
    const position = stackPosition(error, file);
    throw new ConfigError(
      [issue(file, ErrorCode.CONFIG_LOAD, `the config module failed to load: ${reason}`, position)],
      {
        cause: error,
      },
    );
  }
  if (module.default === undefined) {
    throw new ConfigError([
      issue(
        file,
        ErrorCode.CONFIG_LOAD,
        'the config module has no default export',
        undefined,
        'write `export default defineConfig({ apps: [...] })`',
      ),
    ]);
  }
  return { value: module.default };
}

function notFound(file: string, message: string, hint?: string): ConfigError {
  return new ConfigError([issue(file, ErrorCode.CONFIG_NOT_FOUND, message, undefined, hint)]);
}

/**
 * Loads the config at `path` (a file, or a directory to search), or searches the working directory.
 * Throws a ConfigError for a missing, unreadable or unparsable file.
 */
export async function loadConfigFile(options: { path?: string; cwd: string }): Promise<LoadedConfigFile> {
  const maps = new Map<string, SourceMap>();
  const explorer = cosmiconfig(NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'none',
    ignoreEmptySearchPlaces: false,
    cache: false,
    packageProp: ['value'],
    loaders: {
      '.json': (file) => loadJson(file, maps),
      '.yaml': (file) => loadYaml(file, maps),
      '.yml': (file) => loadYaml(file, maps),
      noExt: (file) => loadYaml(file, maps),
      '.js': (file) => loadModule(file, 'js'),
      '.mjs': (file) => loadModule(file, 'js'),
      '.cjs': (file) => loadModule(file, 'js'),
      '.ts': (file) => loadModule(file, 'ts'),
      '.mts': (file) => loadModule(file, 'ts'),
      '.cts': (file) => loadModule(file, 'ts'),
    },
  });

  let searchDir = options.cwd;
  let explicit: string | undefined;
  if (options.path !== undefined) {
    const target = resolve(options.cwd, options.path);
    const stats = statSync(target, { throwIfNoEntry: false });
    if (!stats) throw notFound(target, 'no such file or directory');
    if (stats.isDirectory()) searchDir = target;
    else explicit = target;
  }
  if (explicit && !(extname(explicit) in EXTENSIONS) && basename(explicit) !== 'package.json') {
    throw new ConfigError([
      issue(
        explicit,
        ErrorCode.CONFIG_LOAD,
        `unsupported config file type "${extname(explicit)}"`,
        undefined,
        `use one of ${Object.keys(EXTENSIONS).filter(Boolean).join(', ')}`,
      ),
    ]);
  }

  let result: Awaited<ReturnType<typeof explorer.load>>;
  try {
    result = explicit ? await explorer.load(explicit) : await explorer.search(searchDir);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const file = (error as { filepath?: string }).filepath ?? explicit ?? searchDir;
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError([issue(file, ErrorCode.CONFIG_LOAD, `cannot read the config: ${message}`)], {
      cause: error,
    });
  }

  const where = explicit ?? searchDir;
  const isPackage = !!result && basename(result.filepath) === 'package.json';
  const pkg = isPackage ? (result?.config as Record<string, unknown> | null) : undefined;
  if (!result || (isPackage && !(typeof pkg === 'object' && pkg !== null && Object.hasOwn(pkg, NAME)))) {
    if (explicit) {
      throw notFound(explicit, `has no "${NAME}" key`, `add "${NAME}": { "apps": [...] }`);
    }
    throw notFound(
      where,
      'no config file in this directory',
      'create cluster.config.json (or .yaml, .js, .ts), or pass the path: clusterd validate path/to/config.json',
    );
  }
  const file = result.filepath;
  if (result.isEmpty)
    throw new ConfigError([issue(file, ErrorCode.CONFIG_PARSE, 'the config file is empty')]);
  const format = EXTENSIONS[extname(file)] ?? 'json';
  const data = isPackage ? pkg?.[NAME] : (result.config as Box).value;
  const map = maps.get(file);
  return { file, format, data, prefix: isPackage ? [NAME] : [], ...(map ? { map } : {}) };
}
