// The variables each slot gets besides NODE_APP_INSTANCE and CLUSTERD_WORKER_ID: `instanceVar` (PM2's
// `instance_var`, the slot number) and `incrementVar` (PM2's `increment_var`: a variable of the app whose
// integer value each worker or instance gets plus its slot number). incrementVar's rules decide at load
// (every slot of `instances`) and at each start (primary/process/env.ts: the slot starting, a scale up's
// included, with the env files read again). Its value may be a secret like any env value: no message
// here quotes it.
import { ErrorCode } from '../errors.js';
import { EnvFileProblem, readEnvFiles } from './env-file.js';
import type { Report } from './run-as.js';

/**
 * Names clusterd or Node.js gives a meaning to: a count there would break the worker (NODE_OPTIONS=3000)
 * or be overwritten (NODE_APP_INSTANCE, CLUSTERD_*, a program's socket-activation variables).
 */
export const RESERVED_INCREMENT_VAR =
  /^(PATH|HOME|NODE_OPTIONS|NODE_APP_INSTANCE|CLUSTERD_.*|LISTEN_(FDS|PID|FDNAMES))$/;

/** A decimal integer as written by people and by String(n): digits, an optional "-", no leading zero. */
const INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** A variable whose name says it holds a TCP port: `PORT`, `HTTP_PORT`, `metrics_port`. */
const PORT_NAME = /(^|_)PORT$/i;

export interface IncrementProblem {
  code: (typeof ErrorCode)['CONFIG_MISSING_KEY' | 'CONFIG_FORMAT' | 'CONFIG_RANGE'];
  /** Names the variable, never its value. */
  message: string;
}

/**
 * The app's own value of the variable: its `env` (with the `--env` overlay merged) over its env files;
 * undefined when neither sets it or `env` removes it (null). The supervisor's environment does not count:
 * `validate` must say the same in any shell, and under systemd as at a terminal.
 */
export function ownValue(
  name: string,
  env: Readonly<Record<string, string | null>>,
  fileVars: Readonly<Record<string, string>>,
): string | undefined {
  if (Object.hasOwn(env, name)) return env[name] ?? undefined;
  return Object.hasOwn(fileVars, name) ? fileVars[name] : undefined;
}

/** What the values of slots 0 to `slots` - 1 would be, or why they cannot be. */
export function incrementValues(
  name: string,
  value: string | undefined,
  slots: number,
): { base: number; problem: null } | { base: null; problem: IncrementProblem } {
  const fail = (code: IncrementProblem['code'], message: string) => ({
    base: null,
    problem: { code, message },
  });
  if (value === undefined)
    return fail(
      ErrorCode.CONFIG_MISSING_KEY,
      `${name} is not set in the app's env, its environments or its env files; set slot 0's value there (clusterd's own environment does not count)`,
    );
  const base = INTEGER.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(base))
    return fail(
      ErrorCode.CONFIG_FORMAT,
      Number.isNaN(base)
        ? `the app's ${name} is not an integer (decimal digits, an optional "-", no leading zero)`
        : `the app's ${name} is not a safe integer (at most ${Number.MAX_SAFE_INTEGER} in size)`,
    );
  // Grouped: base + slots would round first, past 2 ** 53.
  const last = base + (slots - 1);
  if (PORT_NAME.test(name) && (base < 1 || last > 65535))
    return fail(
      ErrorCode.CONFIG_RANGE,
      `${name} names a port: the app's ${name} plus each slot number (0 to ${slots - 1}) must be a TCP port, 1 to 65535`,
    );
  if (!Number.isSafeInteger(last))
    return fail(
      ErrorCode.CONFIG_RANGE,
      `the app's ${name} plus each slot number (0 to ${slots - 1}) must stay at most ${Number.MAX_SAFE_INTEGER}`,
    );
  return { base, problem: null };
}

/**
 * The variable's value for one slot, from the app's value now (its env files were just read): throws
 * when it is no longer usable (an env file edited since the load, a scale up past the bound), which fails
 * that start with the reason, as an unreadable env file does.
 */
export function incrementedValue(name: string, value: string | undefined, slot: number): string {
  const result = incrementValues(name, value, slot + 1);
  if (result.problem) throw new Error(`incrementVar ${name}: ${result.problem.message}`);
  return String(result.base + slot);
}

/** The names Node.js or clusterd gives a meaning to, refused for `instanceVar`. */
const RESERVED_INSTANCE_VAR = /^(PATH|HOME|NODE_OPTIONS|NODE_APP_INSTANCE|CLUSTERD_.*)$/;

export interface SlotVarsContext {
  index: number;
  env: Readonly<Record<string, string | null>>;
  envFiles: readonly string[];
  instances: number;
  /** Whether the app sets the key itself (else it comes from `defaults`). */
  own: (key: 'incrementVar') => boolean;
  /** The pointer of the layer the key came from (the app's or `defaults`'). */
  origin: (key: 'instanceVar' | 'incrementVar') => string;
  report: Report;
}

/** An app's `instanceVar` and `incrementVar`, checked at load. */
export function resolveSlotVars(
  settings: { instanceVar: string | null; incrementVar: string | null },
  context: SlotVarsContext,
): { instanceVar: string | null; incrementVar: string | null } {
  const { instanceVar } = settings;
  // A worker number there would break the worker (NODE_OPTIONS=0 stops node from starting) or be
  // overwritten (CLUSTERD_*).
  if (instanceVar !== null && RESERVED_INSTANCE_VAR.test(instanceVar))
    context.report(
      ErrorCode.CONFIG_RANGE,
      context.origin('instanceVar'),
      `"${instanceVar}" is a variable clusterd or Node.js gives a meaning to, not one for the worker number`,
      instanceVar === 'NODE_APP_INSTANCE' || instanceVar.startsWith('CLUSTERD_')
        ? 'clusterd sets NODE_APP_INSTANCE and CLUSTERD_WORKER_ID itself: remove instanceVar'
        : 'name a variable of the app, such as INSTANCE_ID',
    );
  return { instanceVar, incrementVar: incrementVar(settings.incrementVar, instanceVar, context) };
}

// The name, and the app's value (from `env` and the env files, read now) for every slot of `instances`.
// A problem with this app's value points at the app, so that each app inheriting the key from
// `defaults` is named in an issue of its own.
function incrementVar(name: string | null, instanceVar: string | null, context: SlotVarsContext) {
  if (name === null) return null;
  const { index, report } = context;
  if (RESERVED_INCREMENT_VAR.test(name) || name === instanceVar) {
    report(
      ErrorCode.CONFIG_RANGE,
      context.origin('incrementVar'),
      name === instanceVar
        ? `"${name}" is instanceVar too, which sets it to the slot number`
        : `"${name}" is a variable clusterd or Node.js gives a meaning to, not one to count up per worker`,
      name === instanceVar ? 'remove one of them' : 'name a variable of the app, such as PORT',
    );
    return name;
  }
  let fileVars: Record<string, string>;
  try {
    fileVars = readEnvFiles(context.envFiles);
  } catch (error) {
    // The file's problem is reported by preflight.ts, with its place in the config.
    if (error instanceof EnvFileProblem) return name;
    throw error;
  }
  const { problem } = incrementValues(name, ownValue(name, context.env, fileVars), context.instances);
  if (problem) {
    const own = context.own('incrementVar');
    const pointer = own ? `/apps/${index}/incrementVar` : `/apps/${index}`;
    report(problem.code, pointer, `incrementVar ${name}${own ? '' : ' (from defaults)'}: ${problem.message}`);
  }
  return name;
}
