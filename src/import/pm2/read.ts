// Reads a PM2 ecosystem file in the forms PM2 takes (lib/API.js _startJson, lib/Common.js parseConfig):
// a JS module (`module.exports` or `export default`: it runs, as PM2 runs it), JSON, YAML; the apps under
// `apps` (or `pm2`), a bare array of apps, or a single app. PM2 evaluates a .json file as JavaScript (its
// own examples use unquoted keys and comments): one that is not strict JSON is run the same way.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { type LoadedConfigFile, loadConfigFile } from '../../config/load.js';
import { loadModule } from '../../config/load-module.js';
import { FileProblem, readConfigBytes } from '../../config/read.js';
import { ConfigError, type ConfigIssue, ErrorCode } from '../../errors.js';
import { type DuplicateKey, lastKeyWins } from './duplicates.js';

export interface Ecosystem {
  /** Absolute path of the ecosystem file. */
  file: string;
  /** Its directory: relative paths in it are taken from there. */
  dir: string;
  /** The apps, each a plain object. */
  apps: Record<string, unknown>[];
  /** Keys beside the apps (deploy, static, ...). */
  extra: Record<string, unknown>;
  /** Keys a .json file repeats in one object (the last one wins, as in PM2). */
  duplicates?: DuplicateKey[];
}

const FORMATS: Record<string, 'js' | 'json' | 'yaml'> = {
  '.js': 'js',
  '.cjs': 'js',
  '.mjs': 'js',
  '.json': 'json',
  '.json5': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};

const problem = (file: string, message: string, extra: Partial<ConfigIssue> = {}) =>
  new ConfigError([{ code: ErrorCode.IMPORT, file, pointer: '', message, ...extra }]);

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// `(<text>)` evaluated as PM2 does (vm.runInThisContext), here in the config loader's child process; the
// text keeps its lines, so an error's line number is the file's.
async function evaluateJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = readConfigBytes(file).toString('utf8');
  } catch (error) {
    if (!(error instanceof FileProblem)) throw error;
    const code = error.kind === 'missing' ? ErrorCode.CONFIG_NOT_FOUND : ErrorCode.CONFIG_LOAD;
    throw problem(file, `the file ${error.message}`, { code });
  }
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-import-'));
  const module = join(dir, 'ecosystem.cjs');
  try {
    writeFileSync(module, `module.exports = (${text}\n);\n`);
    return await loadModule(module, 'js');
  } catch (error) {
    throw renamed(error, 'not JSON, nor the JavaScript PM2 reads a .json file as', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A .json file's data read with its repeated keys, the last winning.
class Duplicated {
  constructor(
    readonly data: unknown,
    readonly duplicates: DuplicateKey[],
  ) {}
}

// The loader's "the config module failed to load: ..." said of the ecosystem file.
function renamed(error: unknown, what: string, file?: string): unknown {
  if (!(error instanceof ConfigError)) return error;
  const issues = error.issues.map((issue) => ({
    ...issue,
    file: file ?? issue.file,
    message: issue.message.replace('the config module failed to load', what),
  }));
  return new ConfigError(issues, { cause: error });
}

async function readData(file: string, format: 'js' | 'json' | 'yaml'): Promise<unknown> {
  if (extname(file) === '.json5') return evaluateJson(file);
  let loaded: LoadedConfigFile;
  try {
    loaded = await loadConfigFile({ path: file, cwd: process.cwd() });
  } catch (error) {
    const first = error instanceof ConfigError ? error.issues[0] : undefined;
    if (
      format === 'json' &&
      error instanceof ConfigError &&
      error.issues.every((issue) => issue.code === ErrorCode.CONFIG_DUPLICATE_KEY)
    ) {
      const read = lastKeyWins(readConfigBytes(file).toString('utf8'));
      if (read) return new Duplicated(read.data, read.duplicates);
    }
    if (
      format === 'json' &&
      first?.code === ErrorCode.CONFIG_PARSE &&
      first.message.startsWith('invalid JSON')
    )
      return evaluateJson(file);
    if (first?.message === 'the config module has no default export')
      throw problem(file, 'the ecosystem file exports nothing', {
        code: ErrorCode.CONFIG_LOAD,
        hint: 'PM2 reads module.exports = { apps: [...] } (or export default { apps: [...] })',
      });
    throw renamed(error, 'the ecosystem file failed to load');
  }
  return loaded.data;
}

// YAML merge keys (`<<: *defaults`), which PM2's js-yaml applies and clusterd's core-schema parser keeps
// as a plain key: the merged mappings under the keys of the mapping itself, the first merged winning.
export function mergeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mergeKeys);
  if (!isPlain(value)) return value;
  const own = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mergeKeys(v)]));
  if (!Object.hasOwn(own, '<<')) return own;
  const { '<<': merged, ...rest } = own;
  const sources = (Array.isArray(merged) ? merged : [merged]).filter(isPlain);
  return Object.assign({}, ...sources.reverse(), rest);
}

function appsOf(file: string, data: unknown): Omit<Ecosystem, 'file' | 'dir'> {
  let apps: unknown = data;
  let extra: Record<string, unknown> = {};
  if (isPlain(data) && (Object.hasOwn(data, 'apps') || Object.hasOwn(data, 'pm2'))) {
    const key = Object.hasOwn(data, 'apps') ? 'apps' : 'pm2';
    ({ [key]: apps, ...extra } = data);
  }
  const list = Array.isArray(apps) ? apps : [apps];
  // One object is one app (PM2 takes it so) when it looks like one.
  const single =
    !Array.isArray(apps) &&
    !(isPlain(apps) && ['script', 'exec', 'cmd', 'command', 'name'].some((k) => k in apps));
  if (list.length === 0 || single)
    throw problem(
      file,
      'no apps: a PM2 ecosystem file declares { apps: [...] }, an array of apps, or one app',
    );
  const bad = list.findIndex((app) => !isPlain(app));
  if (bad >= 0) throw problem(file, 'a PM2 app is an object of options', { pointer: `/apps/${bad}` });
  return { apps: list as Record<string, unknown>[], extra };
}

/** Reads the ecosystem file at `path`. Throws a ConfigError for a file PM2 could not read either. */
export async function readEcosystem(path: string): Promise<Ecosystem> {
  const file = resolve(path);
  const format = FORMATS[extname(file)];
  if (!format)
    throw problem(file, `"${extname(file) || file}" is not a type of PM2 ecosystem file`, {
      code: ErrorCode.CONFIG_LOAD,
      hint: `PM2 reads ${Object.keys(FORMATS).join(', ')} files`,
    });
  let data = await readData(file, format);
  const duplicates = data instanceof Duplicated ? data.duplicates : [];
  if (data instanceof Duplicated) data = data.data;
  if (format === 'yaml') data = mergeKeys(data);
  return { file, dir: dirname(file), ...appsOf(file, data), ...(duplicates.length ? { duplicates } : {}) };
}
