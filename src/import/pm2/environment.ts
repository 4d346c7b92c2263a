// Where an ecosystem file's values came from. PM2 runs the file with the shell's environment, so
// `env: { ...process.env }` or `process.env.DB_PASS` (after dotenv's `config()`) put that shell's
// variables into the app; a clusterd config is checked in, and no such value may be written into it.
//
// The file never sees the importer's real values. It runs three times: twice with every variable of the
// environment present but holding a marker (`__CLUSTERD_ENV_<nonce>_a_7__`, a different one per run), and
// once with an empty environment. A value that holds a marker, or differs between the two marker runs,
// came from the environment; the marker says which variable. Variables of a `.env` file beside the
// ecosystem file are given markers too (dotenv does not override a variable that is set), and the loader
// reports what the module set in process.env itself (a dotenv that overrides, an assignment): a value
// equal to one of those, or holding a long one, came from there. The empty run gives each option's value
// with the variables unset. This module holds the pure comparison; read.ts runs the file.
import { isDeepStrictEqual } from 'node:util';

/** The variables a marker run sets, and how to read a marker back. */
export interface Markers {
  nonce: string;
  /** Index in a marker -> the variable's name. */
  keys: readonly string[];
  /** Names from the importer's environment (the rest came from a `.env` file). */
  real: ReadonlySet<string>;
}

export type Run = 'a' | 'b';

const marker = (nonce: string, run: Run, index: number) => `__CLUSTERD_ENV_${nonce}_${run}_${index}__`;

// Node's own variables (NODE_OPTIONS with a marker would stop node from starting; NODE_V8_COVERAGE would
// write files under it) are left out of every run, so the file sees them unset. NODE_ENV is the app's.
const RUNTIME = /^(?:NODE_(?!ENV$)|UV_|OPENSSL_|SSL_CERT_)/;

/** Which variables the marker runs set: the importer's environment's and the `.env` file's names. */
export function markerKeys(real: NodeJS.ProcessEnv, dotenv: readonly string[], nonce: string): Markers {
  const names = Object.keys(real).filter((k) => real[k] !== undefined && !RUNTIME.test(k));
  const keys = [...new Set([...names, ...dotenv.filter((k) => !RUNTIME.test(k))])];
  return { nonce, keys, real: new Set(names) };
}

/** The environment of a marker run: every variable holds its marker, and nothing else. */
export function markerEnv(markers: Markers, run: Run): Record<string, string> {
  const env: Record<string, string> = {};
  markers.keys.forEach((key, i) => {
    // PATH stays a list of the usual directories (a file that runs `git` still can), the marker first.
    env[key] =
      key === 'PATH'
        ? `${marker(markers.nonce, run, i)}:/usr/local/bin:/usr/bin:/bin`
        : marker(markers.nonce, run, i);
  });
  return env;
}

/** The shortest part of a `.env` value that an error message may not hold (V8 quotes a prefix). */
const PART = 6;

/**
 * The message of an error the file threw in a marker run, fit to show: markers as the variables they
 * stand for, and null when it holds part of a value of a `.env` file (`values`: [variable, value]),
 * which a file that loads it over the markers (dotenv's override) sees and may quote.
 */
export function shownMessage(
  text: string,
  markers: Markers,
  values: readonly (readonly [string, string])[],
): { text: string; holds?: string } {
  const pattern = new RegExp(`__CLUSTERD_ENV_${markers.nonce}_[ab]_(\\d+)__`, 'g');
  const named = text.replace(pattern, (_, i: string) => `<$${markers.keys[Number(i)] ?? '?'}>`);
  const held = values.find(([, value]) => holdsPart(named, value));
  return held ? { text: named, holds: held[0] } : { text: named };
}

function holdsPart(text: string, value: string): boolean {
  if (value.length < PART) return false;
  for (let i = 0; i + PART <= value.length; i += 1) if (text.includes(value.slice(i, i + PART))) return true;
  return false;
}

/** Every string in `value`, at any depth. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** Values a module set in process.env, or of its `.env` file: equal, or held when long enough to tell. */
const LONG = 8;

/** Where a value came from: the variables whose markers it holds, or another source it matched. */
export interface Origin {
  /** Variables read (by their markers); empty when the runs only differed. */
  variables: string[];
  /** From a `.env` file or what the module set in process.env itself. */
  fromFile: boolean;
}

export interface Evidence {
  markers: Markers;
  /** Values the module set in process.env itself, and those of the `.env` file it loaded. */
  known: readonly string[];
}

/** Where the value of an option came from, given its value in both marker runs; null: the file's own. */
export function originOf(a: unknown, b: unknown, evidence: Evidence): Origin | null {
  const { nonce, keys } = evidence.markers;
  const pattern = new RegExp(`__CLUSTERD_ENV_${nonce}_a_(\\d+)__`, 'g');
  const variables = new Set<string>();
  let fromFile = false;
  for (const text of strings(a)) {
    for (const m of text.matchAll(pattern)) variables.add(keys[Number(m[1])] ?? '?');
    if (evidence.known.some((v) => v !== '' && (text === v || (v.length >= LONG && text.includes(v)))))
      fromFile = true;
  }
  if (variables.size || fromFile || !isDeepStrictEqual(a, b)) return { variables: [...variables], fromFile };
  return null;
}

/**
 * Whether a key (an option's or a variable's name) came from the environment: it holds a marker or a
 * long value the module set. Such a key is left out and never shown, as a value would be.
 */
export function keyFromEnvironment(key: string, evidence: Evidence): boolean {
  const known = evidence.known.filter((v) => v.length >= LONG);
  return originOf(key, key, { markers: evidence.markers, known }) !== null;
}

const NAMED_BY_ENV =
  'a name read from the environment (or a .env file) when the file ran; left out, and not shown';

/** What became of one option or variable of an app: a verdict for it, never with its value. */
export interface EnvNote {
  option: string;
  target: string;
  note: string;
}

export interface Sanitized {
  app: Record<string, unknown>;
  notes: EnvNote[];
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);
const ENV_OPTION = /^env(?:_.+)?$/;
const NAMES_SHOWN = 8;

function names(list: readonly string[]): string {
  const shown = list.slice(0, NAMES_SHOWN).join(', ');
  return list.length > NAMES_SHOWN ? `${shown} and ${list.length - NAMES_SHOWN} more` : shown;
}

// One variable of `env` or `env_<name>` that came from outside the file: why it is left out.
function variableNote(key: string, origin: Origin, markers: Markers, dotenv: string | null): string {
  const fromDotenv = origin.fromFile || origin.variables.some((v) => !markers.real.has(v));
  if (fromDotenv && dotenv) return `from ${dotenv}, which the app now reads through envFile`;
  if (fromDotenv)
    return 'set in process.env by the file itself when it ran (a file it loads); left out: put it in a .env file named by envFile';
  const others = origin.variables.filter((v) => v !== key);
  const read = others.length ? ` (${names(others)})` : '';
  return `read from the environment${read} when the file ran (process.env); left to the environment clusterd starts with, which its workers inherit`;
}

function sanitizeEnv(
  option: string,
  a: Plain,
  b: unknown,
  empty: unknown,
  evidence: Evidence,
  dotenv: string | null,
): { env: Plain; notes: EnvNote[] } {
  const env: Plain = {};
  const notes: EnvNote[] = [];
  const inherited: string[] = [];
  for (const [key, value] of Object.entries(a)) {
    if (keyFromEnvironment(key, evidence)) {
      notes.push({ option: `${option}.(a variable)`, target: '', note: NAMED_BY_ENV });
      continue;
    }
    const origin = originOf(value, isPlain(b) ? b[key] : undefined, evidence);
    if (!origin) {
      env[key] = value;
      continue;
    }
    // A variable of its own name, which the file does not set without an environment: a spread.
    const spread =
      origin.variables.length === 1 &&
      origin.variables[0] === key &&
      evidence.markers.real.has(key) &&
      !(isPlain(empty) && Object.hasOwn(empty, key));
    if (spread) inherited.push(key);
    else
      notes.push({
        option: `${option}.${key}`,
        target: '',
        note: variableNote(key, origin, evidence.markers, dotenv),
      });
  }
  if (inherited.length)
    notes.unshift({
      option,
      target: option === 'env' ? 'env' : `environments.${option.slice('env_'.length)}`,
      note: `spreads process.env: ${inherited.length} inherited variable${inherited.length === 1 ? '' : 's'} left out (${names(inherited)}); the workers inherit the environment clusterd starts with, which is not a lost setting`,
    });
  return { env, notes };
}

/**
 * One app as the config may hold it: values from the environment left out (env variables) or taken
 * from the run with an empty environment (other options), with a note for each. `empty` is null when
 * the file could not run without an environment; `emptyKnown` are the values the module set in that run.
 */
export function sanitizeApp(
  a: Plain,
  b: Plain,
  empty: Plain | null,
  evidence: Evidence,
  emptyKnown: readonly string[],
  dotenv: string | null,
): Sanitized {
  const app: Plain = {};
  const notes: EnvNote[] = [];
  for (const [option, value] of Object.entries(a)) {
    if (keyFromEnvironment(option, evidence)) {
      notes.push({ option: '(an option)', target: '', note: NAMED_BY_ENV });
      continue;
    }
    if (ENV_OPTION.test(option) && isPlain(value)) {
      const env = sanitizeEnv(option, value, b[option], empty?.[option], evidence, dotenv);
      app[option] = env.env;
      notes.push(...env.notes);
      continue;
    }
    const origin = originOf(value, b[option], evidence);
    if (!origin) {
      app[option] = value;
      continue;
    }
    const from = origin.variables.length
      ? `read from the environment when the file ran (${names(origin.variables)})`
      : origin.fromFile
        ? 'set from a .env file or process.env by the file when it ran'
        : 'depends on the environment the file runs with';
    const unset = empty?.[option];
    const clean =
      empty !== null &&
      unset !== undefined &&
      originOf(unset, unset, { markers: evidence.markers, known: emptyKnown }) === null;
    if (clean) {
      app[option] = unset;
      notes.push({
        option,
        target: '',
        note: `${from}; written as the file gives it with the variable unset`,
      });
    } else
      notes.push({
        option,
        target: '',
        note: `${from}; left out: the file gives no value of its own without it, so set it in the config`,
      });
  }
  return { app, notes };
}
