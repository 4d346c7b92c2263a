// Environment variables: env, the env_<name> overlays `pm2 start --env <name>` selects (clusterd's
// environments, selected by `clusterd start --env <name>`), port, and PM2's env filters and counters.
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
  const increment = m.take('increment_var');
  if (increment)
    m.unsupported(
      increment,
      'clusterd counts workers in NODE_APP_INSTANCE (0, 1, ...): compute the value from it, for example a port',
    );
}
