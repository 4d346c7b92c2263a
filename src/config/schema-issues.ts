// Turns ajv's raw errors into issues a user can act on: one per problem, in plain words,
// with "did you mean" for misspelled keys and values.
import type { ErrorObject } from 'ajv/dist/2020.js';
import { ErrorCode } from '../errors.js';
import { removedKey } from './removed-keys.js';
import { getSchema, type JsonSchema } from './schema.js';
import { describeSecret, isSecretPointer } from './secret-values.js';
import { suggest } from './suggest.js';

// Where preflight.ts and the PM2 importer have always found it.
export { suggest };

export interface SchemaIssue {
  code: ErrorCode;
  /** JSON pointer into the config value. */
  pointer: string;
  message: string;
  hint?: string;
  /** Locate the key at `pointer` rather than its value (unknown keys). */
  atKey?: boolean;
  /** The problem is not at a place in the file (an unknown `--env`). */
  unplaced?: boolean;
}

// Messages keyed by where the failing keyword sits in the schema.
const ANY_OF_EXPECTED: Record<string, string> = {
  '$defs/instances': 'a positive integer or "max"',
  '$defs/watch': 'true, false or a watch object',
  '$defs/duration': 'a duration: milliseconds, or a string like "500ms", "5s", "1m", "2h"',
  '$defs/size': 'a size: bytes, or a string like "512KB", "10MB", "1GB"',
};
const TOKEN_HINT =
  'the token is never written in the config (it is checked in): put it in an environment variable and write "dashboard": { "token": { "env": "CLUSTERD_DASHBOARD_TOKEN" } }, or in a file only clusterd\'s user can read and write "dashboard": { "token": { "file": "/run/secrets/clusterd-dashboard" } }';
const PATTERN_MESSAGE: Record<string, string> = {
  '$defs/duration/anyOf/1': 'must be a duration like "500ms", "1.5s", "1m" or "2h" (units: ms, s, m, h)',
  '$defs/size/anyOf/1': 'must be a size like "512KB", "10MB" or "1GB" (units: B, KB, MB, GB)',
  '$defs/app/properties/name':
    'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
  '$defs/env/propertyNames':
    'environment variable names must not contain "=" or NUL characters, nor be "__proto__"',
  '$defs/environments/propertyNames':
    'environment names must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
  '$defs/logs/properties/timestamp':
    'must be a format on one line, without control characters (a newline would split every line of the log)',
};

// Messages keyed by the pattern itself, for patterns used in several places.
const PATTERN_BY_REGEX: Record<string, string> = {
  '^[^\\u0000]*$': 'must not contain NUL characters (the operating system cannot pass them on)',
  // instanceVar and incrementVar: a name a shell could export too.
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be a variable name (a letter or "_", then letters, digits and "_")',
};

let paths: WeakMap<object, string> | undefined;

// Where each schema object sits ("$defs/app/properties/name"); ajv hands errors the objects themselves.
function schemaPathOf(node: unknown): string | undefined {
  if (!paths) {
    const map = new WeakMap<object, string>();
    const walk = (value: unknown, path: string) => {
      if (value === null || typeof value !== 'object') return;
      map.set(value, path);
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}/${k}` : k);
    };
    walk(getSchema(), '');
    paths = map;
  }
  return node !== null && typeof node === 'object' ? paths.get(node) : undefined;
}

function resolveRef(schema: JsonSchema, node: Record<string, unknown>): Record<string, unknown> {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  return schema.$defs[ref.replace('#/$defs/', '')] ?? node;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function admits(types: unknown, actual: string): boolean {
  if (types === undefined) return true;
  const list = [types].flat() as string[];
  return list.includes(actual) || (actual === 'integer' && list.includes('number'));
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function listOr(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** A value as it appears in a message: JSON, shortened (a 1 MB value must not make a 1 MB message). */
export function shown(value: unknown): string {
  const text =
    value === undefined
      ? 'nothing'
      : typeof value === 'number' && !Number.isFinite(value)
        ? String(value) // JSON would say null
        : JSON.stringify(typeof value === 'string' && value.length > 40 ? value.slice(0, 40) : value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function gotValue(value: unknown): string {
  return `got ${jsonType(value) === 'object' ? 'an object' : jsonType(value) === 'array' ? 'an array' : shown(value)}`;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

// Drops the errors of anyOf branches the value was never meant for: `instances: 0` is a bad integer,
// not a bad "max"; a value no branch accepts gets one "must be ..." error. Errors are indexed by path,
// so thousands of anyOf errors cost no more than a sort.
function pruneAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const schema = getSchema();
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath);
    if (list) list.push(e);
    else byPath.set(e.instancePath, [e]);
  }
  const paths = [...byPath.keys()].sort();
  // The errors at `at` and below it: paths sharing a prefix are contiguous once sorted.
  const below = (at: string): ErrorObject[] => {
    const prefix = `${at}/`;
    let lo = 0;
    let hi = paths.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((paths[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out = [...(byPath.get(at) ?? [])];
    for (let i = lo; i < paths.length && (paths[i] as string).startsWith(prefix); i++) {
      for (const e of byPath.get(paths[i] as string) ?? []) out.push(e);
    }
    return out;
  };
  const dropped = new Set<ErrorObject>();
  const anyOfs = errors
    .filter((e) => e.keyword === 'anyOf')
    .sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
  for (const a of anyOfs) {
    const at = a.instancePath;
    const branches = (a.schema as Record<string, unknown>[]).map((b) => resolveRef(schema, b));
    let admitting = branches.filter((b) => admits(b.type, jsonType(a.data)));
    // Objects told apart by a key (`readiness: { http }` or `{ command }`): the branch whose required
    // keys the value has is the one it was meant for.
    if (admitting.length > 1 && jsonType(a.data) === 'object') {
      const data = a.data as object;
      const keyed = admitting.filter((b) => {
        const required = (b as { required?: unknown }).required;
        return (
          Array.isArray(required) && required.length > 0 && required.every((k) => Object.hasOwn(data, k))
        );
      });
      if (keyed.length) admitting = keyed;
    }
    if (admitting.length) {
      dropped.add(a);
      for (const e of byPath.get(at) ?? []) {
        if (e !== a && !admitting.includes(e.parentSchema as never)) dropped.add(e);
      }
    } else {
      for (const e of below(at)) if (e !== a) dropped.add(e);
    }
  }
  // propertyNames reports each bad name twice: once as the inner pattern error, once as itself.
  return errors.filter((e) => !dropped.has(e) && e.keyword !== 'propertyNames');
}

function translate(e: ErrorObject): SchemaIssue {
  const pointer = e.instancePath;
  const where = schemaPathOf(e.parentSchema) ?? '';
  const params = e.params as Record<string, unknown>;
  // An env value is described, never quoted: it may be a secret.
  const secret = isSecretPointer(pointer);
  const got = (value: unknown) => (secret ? `got ${describeSecret(value)}` : gotValue(value));
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const removed = removedKey(where, key);
      if (removed) {
        return {
          code: ErrorCode.CONFIG_REMOVED_KEY,
          pointer: `${pointer}/${escapePointer(key)}`,
          ...removed,
          atKey: true,
        };
      }
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const match = suggest(key, allowed);
      return {
        code: ErrorCode.CONFIG_UNKNOWN_KEY,
        pointer: `${pointer}/${escapePointer(key)}`,
        message: `unknown key ${shown(key)}`,
        hint: match ? `did you mean "${match}"?` : `allowed keys: ${allowed.join(', ')}`,
        atKey: true,
      };
    }
    case 'required':
      return {
        code: ErrorCode.CONFIG_MISSING_KEY,
        pointer,
        message: `missing required key "${String(params.missingProperty)}"`,
      };
    case 'type': {
      const types = String(params.type).split(',');
      // A command line written as one string: no shell will split it, so the config must.
      // Not when it holds quotes or shell syntax: splitting that at spaces would be a wrong argument vector.
      const line =
        /\/command$/.test(pointer) &&
        typeof e.data === 'string' &&
        !secret &&
        !/['"\\$`|;&<>*?(){}]/.test(e.data) &&
        e.data.length <= 200;
      return {
        code: ErrorCode.CONFIG_TYPE,
        pointer,
        message: `must be ${listOr(types.map((t) => ARTICLE[t] ?? t))}, ${got(e.data)}`,
        ...(pointer === '/health/dashboard/token' ? { hint: TOKEN_HINT } : {}),
        ...(line
          ? {
              hint: `write it as its arguments, one string each (no shell splits it): ${JSON.stringify((e.data as string).trim().split(/\s+/))}`,
            }
          : {}),
      };
    }
    case 'anyOf':
      if (pointer === '/health/dashboard')
        return {
          code: ErrorCode.CONFIG_TYPE,
          pointer,
          message: `must be true, false or an object ({ "actions": ..., "token": ... }), ${got(e.data)}`,
          hint: TOKEN_HINT,
        };
      return {
        code: ErrorCode.CONFIG_TYPE,
        pointer,
        message: `must be ${ANY_OF_EXPECTED[where] ?? 'a valid value'}, ${got(e.data)}`,
      };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const match = typeof e.data === 'string' && !secret ? suggest(e.data, allowed) : undefined;
      return {
        code: ErrorCode.CONFIG_ENUM,
        pointer,
        message: `must be ${listOr(allowed.map((v) => JSON.stringify(v)))}, ${got(e.data)}`,
        ...(match
          ? { hint: `did you mean "${match}"?` }
          : typeof e.data === 'string' && !secret && /^[0-9]{1,15}$/.test(e.data)
            ? { hint: `write numbers without quotes: ${e.data}` }
            : {}),
      };
    }
    case 'pattern': {
      const name = (e as { propertyName?: string }).propertyName;
      if (name !== undefined) {
        return {
          code: ErrorCode.CONFIG_FORMAT,
          pointer: `${pointer}/${escapePointer(name)}`,
          message: `invalid name ${shown(name)}: ${PATTERN_MESSAGE[where] ?? `must match ${String(params.pattern)}`}`,
          atKey: true,
        };
      }
      return {
        code: ErrorCode.CONFIG_FORMAT,
        pointer,
        message: `${PATTERN_MESSAGE[where] ?? PATTERN_BY_REGEX[String(params.pattern)] ?? `must match the pattern ${String(params.pattern)}`}, ${got(e.data)}`,
      };
    }
    case 'minItems':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message:
          pointer === '/apps'
            ? 'must list at least one app'
            : `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      };
    case 'maxItems':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message: `must have at most ${String(params.limit)} items${Array.isArray(e.data) ? `, got ${e.data.length}` : ''}`,
      };
    case 'maxProperties':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message: `must have at most ${String(params.limit)} keys`,
      };
    case 'minLength':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message:
          params.limit === 1
            ? 'must not be empty'
            : `must be at least ${String(params.limit)} characters long`,
      };
    case 'maxLength':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message: `must be at most ${String(params.limit)} characters long, got ${(e.data as string).length}`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        code: ErrorCode.CONFIG_RANGE,
        pointer,
        message: `must be ${String(params.comparison)} ${String(params.limit)}, ${got(e.data)}`,
      };
    case 'uniqueItems':
      return {
        code: ErrorCode.CONFIG_DUPLICATE_ITEM,
        pointer,
        message: `must not repeat items (items ${Math.min(Number(params.i), Number(params.j))} and ${Math.max(Number(params.i), Number(params.j))} are equal)`,
      };
    default:
      return { code: ErrorCode.CONFIG_FORMAT, pointer, message: e.message ?? `fails "${e.keyword}"` };
  }
}

/** Issues for the ajv errors of one validation, in document order. */
export function schemaIssues(errors: ErrorObject[]): SchemaIssue[] {
  return pruneAnyOf(errors).map(translate);
}
