// Reads a PM2 ecosystem file in the forms PM2 takes (lib/API.js _startJson, lib/Common.js parseConfig):
// a JS module (`module.exports` or `export default`: it runs, as PM2 runs it), JSON, YAML; the apps under
// `apps` (or `pm2`), a bare array of apps, or a single app. PM2 evaluates a .json file as JavaScript (its
// own examples use unquoted keys and comments): one that is not strict JSON is run the same way. A file
// that runs never sees the importer's environment: see environment.ts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { readEnvFile } from '../../config/env-file.js';
import { type LoadedConfigFile, loadConfigFile } from '../../config/load.js';
import { runModule } from '../../config/load-module.js';
import { FileProblem, readConfigBytes } from '../../config/read.js';
import { ConfigError, type ConfigIssue, ErrorCode } from '../../errors.js';
import { type DuplicateKey, lastKeyWins } from './duplicates.js';
import {
  type EnvNote,
  type Markers,
  markerEnv,
  markerKeys,
  sanitizeApp,
  shownMessage,
} from './environment.js';

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
  /** For each app, what was left out or changed because it came from the environment (a JS file). */
  notes: EnvNote[][];
  /** The `.env` file the ecosystem file loaded into process.env (dotenv), absolute; null: none. */
  dotenv: string | null;
}

/** The export of a file that ran (three times: environment.ts), or the data of one that did not. */
interface Probed {
  a: unknown;
  b: unknown;
  empty: unknown | null;
  known: string[];
  emptyKnown: string[];
  markers: ReturnType<typeof markerKeys> | null;
  dotenv: string | null;
  /** Keys a .json file repeats (lastKeyWins). */
  duplicates?: DuplicateKey[];
}

const plainData = (data: unknown): Probed => ({
  a: data,
  b: data,
  empty: data,
  known: [],
  emptyKnown: [],
  markers: null,
  dotenv: null,
});

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
async function evaluateJson(file: string): Promise<Probed> {
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
    return await probe(module, dirname(file));
  } catch (error) {
    throw renamed(error, 'not JSON, nor the JavaScript PM2 reads a .json file as', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

// The `.env` files dotenv's config() would load: beside the ecosystem file, and in the directory the
// import runs in (dotenv's default). Their variables get markers too; their values are never shown.
function dotenvCandidates(dir: string): { file: string; vars: Record<string, string> }[] {
  const files = [...new Set([join(dir, '.env'), join(process.cwd(), '.env')])];
  return files.flatMap((file) => {
    try {
      return [{ file, vars: readEnvFile(file) }];
    } catch {
      return [];
    }
  });
}

// Runs the module with marker environments and an empty one (environment.ts); its own output is
// dropped, as it could print what it read.
async function probe(module: string, dir: string): Promise<Probed> {
  const candidates = dotenvCandidates(dir);
  const markers = markerKeys(
    process.env,
    candidates.flatMap((c) => Object.keys(c.vars)),
    randomBytes(6).toString('hex'),
  );
  const run = (env: NodeJS.ProcessEnv) => runModule(module, 'js', { env, envChanges: true, quiet: true });
  let a: Awaited<ReturnType<typeof run>>;
  let b: typeof a;
  try {
    a = await run(markerEnv(markers, 'a'));
    b = await run(markerEnv(markers, 'b'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw markerRunFailed(error, markers, candidates);
  }
  const empty = await run({}).catch(() => null);
  // The .env file the module loaded: every variable of it set, to its value, when nothing was set before.
  const loaded = empty
    ? candidates.find(
        (c) => Object.keys(c.vars).length > 0 && Object.entries(c.vars).every(([k, v]) => empty.env[k] === v),
      )
    : undefined;
  const dotenvValues = loaded ? Object.values(loaded.vars) : [];
  return {
    a: a.value,
    b: b.value,
    empty: empty?.value ?? null,
    known: [...Object.values(a.env), ...Object.values(b.env), ...dotenvValues],
    emptyKnown: [...Object.values(empty?.env ?? {}), ...dotenvValues],
    markers,
    dotenv: loaded?.file ?? null,
  };
}

// A marker run that failed, said without any value of a `.env` file (environment.ts shownMessage).
function markerRunFailed(
  error: ConfigError,
  markers: Markers,
  candidates: { file: string; vars: Record<string, string> }[],
): ConfigError {
  const values = candidates.flatMap((c) =>
    Object.entries(c.vars).map(([key, value]) => [`${key} in ${c.file}`, value] as const),
  );
  let hidden = false;
  const hint =
    'clusterd runs the file with placeholder values for the variables of the environment, so that none is written into the config';
  const issues = error.issues.map((issue) => {
    const shown = shownMessage(issue.message, markers, values);
    const hintShown = issue.hint ? shownMessage(issue.hint, markers, values) : null;
    hidden ||= shown.holds !== undefined || hintShown?.holds !== undefined;
    const message =
      shown.holds === undefined
        ? shown.text
        : `the config module failed to load, with an error message that holds part of the value of ${shown.holds} (not shown)`;
    const own = hintShown && hintShown.holds === undefined ? `${hintShown.text}; ` : '';
    return { ...issue, message, hint: `${own}${hint}` };
  });
  // The child's error (its message and stack) stays behind when it held a value.
  return new ConfigError(issues, hidden ? {} : { cause: error });
}

async function readData(file: string, format: 'js' | 'json' | 'yaml'): Promise<Probed> {
  if (extname(file) === '.json5') return evaluateJson(file);
  if (format === 'js') {
    try {
      readConfigBytes(file);
    } catch (error) {
      if (!(error instanceof FileProblem)) throw error;
      const code = error.kind === 'missing' ? ErrorCode.CONFIG_NOT_FOUND : ErrorCode.CONFIG_LOAD;
      throw problem(file, `the file ${error.message}`, { code });
    }
    try {
      return await probe(file, dirname(file));
    } catch (error) {
      throw loadFailed(error, file);
    }
  }
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
      if (read) return { ...plainData(read.data), duplicates: read.duplicates };
    }
    if (
      format === 'json' &&
      first?.code === ErrorCode.CONFIG_PARSE &&
      first.message.startsWith('invalid JSON')
    )
      return evaluateJson(file);
    throw loadFailed(error, file);
  }
  return plainData(loaded.data);
}

function loadFailed(error: unknown, file: string): unknown {
  const first = error instanceof ConfigError ? error.issues[0] : undefined;
  if (first?.message === 'the config module has no default export')
    return problem(file, 'the ecosystem file exports nothing', {
      code: ErrorCode.CONFIG_LOAD,
      hint: 'PM2 reads module.exports = { apps: [...] } (or export default { apps: [...] })',
    });
  return renamed(error, 'the ecosystem file failed to load');
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

function appsOf(file: string, data: unknown): Pick<Ecosystem, 'apps' | 'extra'> {
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
  const probed = await readData(file, format);
  const duplicates = probed.duplicates?.length ? { duplicates: probed.duplicates } : {};
  if (format === 'yaml')
    return { file, dir: dirname(file), ...appsOf(file, mergeKeys(probed.a)), notes: [], dotenv: null };
  return { file, dir: dirname(file), ...sanitized(file, probed), ...duplicates };
}

// The apps with what came from the environment left out or replaced (environment.ts), and why.
function sanitized(file: string, probed: Probed): Omit<Ecosystem, 'file' | 'dir'> {
  const a = appsOf(file, probed.a);
  if (!probed.markers) return { ...a, notes: a.apps.map(() => []), dotenv: null };
  const b = appsOf(file, probed.b);
  if (b.apps.length !== a.apps.length)
    throw problem(file, 'the number of apps depends on the values of environment variables', {
      code: ErrorCode.CONFIG_LOAD,
      hint: 'a checked-in config lists its apps; declare them without reading process.env',
    });
  let empty: Record<string, unknown>[] | null = null;
  try {
    if (probed.empty !== null) empty = appsOf(file, probed.empty).apps;
  } catch {}
  if (empty?.length !== a.apps.length) empty = null;
  const evidence = { markers: probed.markers, known: probed.known };
  // The .env file as the notes name it: from the ecosystem file's directory.
  const shown = probed.dotenv ? relative(dirname(file), probed.dotenv) : null;
  const apps = a.apps.map((app, i) =>
    sanitizeApp(app, b.apps[i] ?? {}, empty?.[i] ?? null, evidence, probed.emptyKnown, shown),
  );
  return {
    apps: apps.map((s) => s.app),
    extra: a.extra,
    notes: apps.map((s) => s.notes),
    dotenv: probed.dotenv,
  };
}
