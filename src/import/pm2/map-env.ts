// Environment variables: env, the env_<name> overlays `pm2 start --env <name>` selects (clusterd's
// environments, selected by `clusterd start --env <name>`), port, and PM2's env filters and counters
// (instance_var, increment_var).
import { availableCpus } from '../../config/cpus.js';
import { incrementValues, RESERVED_INCREMENT_VAR } from '../../config/slot-vars.js';
import type { Env } from '../../config/types.generated.js';
import type { Found } from './catalogue.js';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

const VARIABLE = /^(?!__proto__$)[^=\0]+$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** clusterd's bound on the number of environments per app (the schema's). */
const MAX_ENVIRONMENTS = 64;

/** PM2's variables as clusterd's: objects as JSON (as PM2 passes them), bad names left out. */
export function envVariables(value: Record<string, unknown>): {
  env: Env;
  stringified: string[];
  refused: string[];
} {
  const env: Env = {};
  const stringified: string[] = [];
  const refused: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (!VARIABLE.test(key) || (typeof v === 'string' && v.includes('\0'))) refused.push(key);
    else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) env[key] = v as Env[string];
    else if (v !== undefined) {
      stringified.push(key);
      env[key] = JSON.stringify(v) ?? String(v);
    }
  }
  return { env, stringified, refused };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// One env object; undefined when it cannot be read, with the verdict given.
function readEnv(m: AppMapping, found: Found, target: string, note: string): Env | undefined {
  if (!isObject(found.value)) {
    m.unsupported(found, `${shownValue(found.value)} is not an object of variables`);
    return undefined;
  }
  const { env, stringified, refused } = envVariables(found.value);
  const notes = [note];
  if (stringified.length) notes.push(`${stringified.join(', ')} written as JSON, as PM2 passes them`);
  if (refused.length) {
    m.unsupported(
      found,
      `${refused.join(', ')}: not variable names (no "=" or NUL); the rest became ${target}`,
    );
  } else if (stringified.length) m.changed(found, target, notes.filter(Boolean).join('; '));
  else m.mapped(found, target, note);
  return env;
}

function mapEnvironments(m: AppMapping) {
  for (const found of m.environments()) {
    const name = found.key.slice('env_'.length);
    const count = Object.keys(m.draft.environments ?? {}).length;
    if (!ENVIRONMENT.test(name) || count >= MAX_ENVIRONMENTS) {
      m.unsupported(
        found,
        count >= MAX_ENVIRONMENTS
          ? `clusterd takes at most ${MAX_ENVIRONMENTS} environments per app`
          : `"${name}" is not an environment name clusterd takes (letters, digits, ".", "_", "-")`,
      );
      continue;
    }
    const note = `selected with clusterd start --env ${name}, as with pm2 start --env ${name}`;
    const env = readEnv(m, found, `environments.${name}`, note);
    if (env) m.draft.environments = { ...m.draft.environments, [name]: env };
  }
}

/** Maps env, env_<name>, port, filter_env, instance_var and increment_var. */
export function mapEnv(m: AppMapping): void {
  const found = m.take('env');
  const fromCommand = m.draft.env ?? {};
  const env = found ? readEnv(m, found, 'env', '') : undefined;
  const merged: Env = { ...env, ...fromCommand };
  const port = m.take('port');
  if (port && (typeof port.value === 'number' || typeof port.value === 'string')) {
    merged.PORT = port.value;
    m.mapped(port, 'env.PORT', 'as PM2 sets it');
  } else if (port) m.unsupported(port, `${shownValue(port.value)} is not a port`);
  if (Object.keys(merged).length) m.draft.env = merged;
  mapEnvironments(m);

  const filter = m.take('filter_env');
  if (filter && (filter.value === false || (Array.isArray(filter.value) && filter.value.length === 0)))
    m.mapped(filter, '', 'off');
  else if (filter)
    m.unsupported(
      filter,
      "workers get clusterd's own environment; name the variables to remove in env, with the value null",
    );
  const instanceVar = m.take('instance_var');
  if (instanceVar?.value === 'NODE_APP_INSTANCE' || instanceVar?.value === 'CLUSTERD_WORKER_ID')
    m.mapped(instanceVar, '', `clusterd sets ${instanceVar.value} to the worker number too`);
  else if (typeof instanceVar?.value === 'string' && instanceVar.value.startsWith('CLUSTERD_'))
    m.unsupported(
      instanceVar,
      `clusterd sets ${instanceVar.value} itself, over the worker number: pick another name (the worker number is in NODE_APP_INSTANCE)`,
    );
  else if (typeof instanceVar?.value === 'string' && /^(PATH|HOME|NODE_OPTIONS)$/.test(instanceVar.value))
    m.unsupported(
      instanceVar,
      `${instanceVar.value} holding the worker number would break the worker (clusterd refuses it): the worker number is in NODE_APP_INSTANCE`,
    );
  else if (
    typeof instanceVar?.value === 'string' &&
    /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(instanceVar.value)
  ) {
    m.draft.instanceVar = instanceVar.value;
    m.mapped(instanceVar, 'instanceVar', 'the worker number (0, 1, ...), as PM2 sets it');
  } else if (instanceVar)
    m.unsupported(
      instanceVar,
      `${shownValue(instanceVar.value)} is not a variable name: the worker number is in NODE_APP_INSTANCE`,
    );
  mapIncrementVar(m);
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

// PM2 (lib/God.js, injectVariables) gives each process `Number(value) || 0` plus its number, `value`
// from the app's env merged over the environment `pm2 start` ran in (lib/Common.js), so 0 when it is
// unset or not a number. clusterd counts from the app's own env: the value is written as PM2 counts
// from it, in env and in each environment that sets it, or the option is unsupported.
function mapIncrementVar(m: AppMapping): void {
  const found = m.take('increment_var');
  if (!found) return;
  const name = found.value;
  if (typeof name !== 'string' || !VARIABLE_NAME.test(name)) {
    m.unsupported(
      found,
      `${shownValue(name)} is not a variable name (a letter or "_", then letters, digits and "_")`,
    );
    return;
  }
  if (RESERVED_INCREMENT_VAR.test(name) || name === m.draft.instanceVar) {
    const why =
      name === m.draft.instanceVar ? 'instance_var too' : 'a variable clusterd or Node.js gives a meaning to';
    m.unsupported(
      found,
      `${name} is ${why}: count up another variable (the worker number is in NODE_APP_INSTANCE)`,
    );
    return;
  }
  const env = m.draft.env ?? {};
  if (!Object.hasOwn(env, name)) {
    m.unsupported(
      found,
      `${name} is not set in the app's env: PM2 counts up from its value in the environment pm2 start ran in, or from 0 where it is unset; set ${name} in env (or an env file) and incrementVar "${name}" counts up from it`,
    );
    return;
  }
  const layers: [string, Env][] = [['env', env]];
  for (const [environment, overlay] of Object.entries(m.draft.environments ?? {}))
    if (Object.hasOwn(overlay, name)) layers.push([`environments.${environment}`, overlay]);
  const rewrites: { where: string; layer: Env; counted: number }[] = [];
  for (const [where, layer] of layers) {
    const value = layer[name];
    const counted = Number(value) || 0;
    const read = String(value) === String(counted) ? '' : ` (PM2 reads it as ${counted})`;
    const problem = Number.isSafeInteger(counted)
      ? incrementValues(name, String(counted), importedInstances(m)).problem?.message
      : 'not a whole number: PM2 counts up from it in fractions, clusterd from an integer';
    if (problem) {
      m.unsupported(found, `${where}.${name}${Number.isSafeInteger(counted) ? read : ''}: ${problem}`);
      return;
    }
    if (read) rewrites.push({ where: `${where}.${name}`, layer, counted });
  }
  for (const { layer, counted } of rewrites) layer[name] = counted;
  m.draft.incrementVar = name;
  const note = `each instance gets ${name} plus its number (0, 1, ...), as PM2 counts; a slot added by clusterd scale gets its own`;
  if (rewrites.length)
    m.changed(
      found,
      'incrementVar',
      `${note}; ${rewrites.map((r) => r.where).join(', ')} written as the number PM2 reads (Number(value), 0 for one that is not a number)`,
    );
  else m.mapped(found, 'incrementVar', note);
}

// The instances the config will run, for the bound on the values: "max" as this machine counts it.
function importedInstances(m: AppMapping): number {
  const { instances } = m.draft;
  return instances === undefined ? 1 : instances === 'max' ? availableCpus() : instances;
}
