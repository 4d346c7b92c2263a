// Loads a JS or TS config module in a short-lived child process of its own and reads back its default
// export by structured clone. In the caller, Node caches every module a config imports: a re-import with
// a cache-busting query renews only the entry file (its imports stay stale) and leaks a module record per
// reload, and jiti loads .mjs/.cjs natively, so it does no better. A process per load is fresh all the way
// down, and what the module does (globals, process.env, timers, jiti's own weight) dies with it.
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ConfigError, type ConfigIssue, ErrorCode } from '../errors.js';
import type { Position } from './positions.js';

/** How long a config module may take to load before its process is killed. */
export const MODULE_LOAD_TIMEOUT_MS = 10_000;

/** What the child reports: one message, the last it sends. */
type Outcome =
  // `env`: with `envChanges`, the variables the module set in process.env (added or changed).
  | { kind: 'value'; value: unknown; env?: Record<string, string> }
  | { kind: 'no-default' }
  | { kind: 'unsettled' }
  | { kind: 'threw'; name?: string; message?: string; stack?: string; text?: string }
  | { kind: 'not-data'; pointer: string; what: string }
  // Not sent: the child ended without a report.
  | { kind: 'ended'; code: number | null; signal: NodeJS.Signals | null };

// The child, run with `node --input-type=module -e CHILD -- file format jitiUrl envChanges`. A thread reads fd 4, a pipe
// whose other end only the parent holds: when the parent dies, however it dies, the read ends and the
// thread kills the process, even while the module's code keeps the main thread busy. Without a top-level
// await, a module whose own one never settles lets the process reach 'beforeExit', which says so. `send`
// and `exit` are taken before the module runs, so a module that replaces them cannot stop the report.
const CHILD = String.raw`
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const WATCHDOG = "new (process.getBuiltinModule('node:net').Socket)({ fd: 4, writable: false }).on('end', () => process.kill(process.pid, 'SIGKILL')).on('error', () => {}).resume();";
new Worker(WATCHDOG, { eval: true }).on('error', () => {}).unref();
const send = process.send.bind(process);
const exit = () => process.exit(0);
const [file, format, jiti, envChanges] = process.argv.slice(1);
// The environment as the module found it, to tell what it set itself (dotenv's config(), assignments).
const before = envChanges ? { ...process.env } : null;
function changes() {
  const out = {};
  for (const [key, value] of Object.entries(process.env)) if (before[key] !== value) out[key] = value;
  return out;
}

function describe(error) {
  try {
    if (error instanceof Error) return { name: String(error.name), message: String(error.message), stack: String(error.stack ?? '') };
    return { text: String(error) };
  } catch {
    return { text: 'a value that cannot be shown' };
  }
}

const escape = (key) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const KINDS = [[Promise, 'a promise'], [WeakMap, 'a WeakMap'], [WeakSet, 'a WeakSet'], [WeakRef, 'a WeakRef']];

// The first value structured clone refuses, by its JSON pointer; V8's message when none is found.
function nonData(root, error) {
  try {
    const seen = new Set();
    const stack = [[root, '']];
    while (stack.length) {
      const [value, pointer] = stack.pop();
      if (typeof value === 'function') return { pointer, what: 'a function' };
      if (typeof value === 'symbol') return { pointer, what: 'a symbol' };
      if (typeof value !== 'object' || value === null || seen.has(value)) continue;
      seen.add(value);
      for (const [type, what] of KINDS) if (value instanceof type) return { pointer, what };
      for (const key of Object.keys(value).reverse()) stack.push([value[key], pointer + '/' + escape(key)]);
    }
  } catch {}
  const { message, text } = describe(error);
  return { pointer: '', what: message ?? text };
}

let reported = false;
function report(outcome) {
  if (reported) return;
  reported = true;
  try {
    send(outcome, exit);
  } catch (error) {
    send({ kind: 'not-data', ...nonData(outcome.value, error) }, exit);
  }
}

process.once('beforeExit', () => report({ kind: 'unsettled' }));
const url = pathToFileURL(file).href;
const load =
  format === 'ts'
    ? import(jiti).then(({ createJiti }) => createJiti(url, { moduleCache: false, fsCache: false }).import(file, { default: true }))
    : import(url).then((module) => module.default);
load.then(
  (value) =>
    report(
      value === undefined
        ? { kind: 'no-default' }
        : before
          ? { kind: 'value', value, env: changes() }
          : { kind: 'value', value },
    ),
  (error) => report({ kind: 'threw', ...describe(error) }),
);
`;

function problem(file: string, message: string, extra: Partial<ConfigIssue> = {}): ConfigIssue {
  return { code: ErrorCode.CONFIG_LOAD, file, pointer: '', message, ...extra };
}

// The position in the config file where a module failed, read off the error's stack.
function stackPosition(stack: string, file: string): Position | undefined {
  for (const name of [pathToFileURL(file).href, file]) {
    const at = stack.indexOf(name);
    if (at < 0) continue;
    const m = /^(?:\?[^:\s]*)?:(\d+)(?::(\d+))?/.exec(stack.slice(at + name.length));
    if (m) return { line: Number(m[1]), column: Number(m[2] ?? 1) };
  }
  return undefined;
}

function threw(file: string, outcome: Extract<Outcome, { kind: 'threw' }>): ConfigError {
  const reason = outcome.text ?? `${outcome.name}: ${(outcome.message ?? '').split('\n')[0]}`;
  // The child's error, rebuilt: its name, message and stack are all that crossed the process boundary.
  const cause = Object.assign(new Error(outcome.message ?? outcome.text), {
    name: outcome.name ?? 'Error',
    stack: outcome.stack ?? '',
  });
  const position = stackPosition(outcome.stack ?? '', file);
  return new ConfigError([problem(file, `the config module failed to load: ${reason.trim()}`, position)], {
    cause,
  });
}

function outcomeValue(file: string, outcome: Outcome): Loaded {
  switch (outcome.kind) {
    case 'value':
      return { value: outcome.value, env: outcome.env ?? {} };
    case 'no-default':
      throw new ConfigError([
        problem(file, 'the config module has no default export', {
          hint: 'write `export default defineConfig({ apps: [...] })`',
        }),
      ]);
    case 'unsettled':
      throw new ConfigError([
        problem(file, 'the config module never finished loading: it awaits a promise that nothing settles', {
          hint: 'look for a top-level await on a promise that is never resolved',
        }),
      ]);
    case 'threw':
      throw threw(file, outcome);
    case 'ended': {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
      throw new ConfigError([
        problem(file, `the config module's process ${how} before the module finished loading`, {
          hint: 'a config module must not end its process (process.exit(), process.kill())',
        }),
      ]);
    }
    case 'not-data':
      throw new ConfigError([
        problem(file, `the config's default export is not plain data: ${outcome.what}`, {
          pointer: outcome.pointer,
          hint: 'export objects, arrays, strings, numbers, booleans and null; compute values in the module and export the results',
        }),
      ]);
  }
}

const isOutcome = (message: unknown): message is Outcome =>
  typeof message === 'object' &&
  message !== null &&
  ['value', 'no-default', 'unsettled', 'threw', 'not-data'].includes(
    (message as { kind?: unknown }).kind as string,
  );

function timedOut(file: string, timeoutMs: number): ConfigError {
  return new ConfigError([
    problem(file, `the config module did not finish loading within ${timeoutMs / 1000} s, and was stopped`, {
      hint: 'look for a loop that never ends, or a server, timer or connection the module waits on',
    }),
  ]);
}

/** A module's default export, and the variables it set in its process.env (with `envChanges`). */
interface Loaded {
  value: unknown;
  env: Record<string, string>;
}

/** How `import pm2` runs an ecosystem file (import/pm2/environment.ts); a config is loaded without. */
export interface ModuleRun {
  /** The module's environment instead of ours. */
  env?: NodeJS.ProcessEnv;
  /** Report the variables the module set in process.env (their values stay in this process). */
  envChanges?: boolean;
  /** The module's own output is dropped instead of going to our stderr. */
  quiet?: boolean;
  timeoutMs?: number;
}

/**
 * Runs the config module `file` in a child process (the caller's process.env and working directory,
 * its stdout and stderr both on our stderr) and resolves with its default export. Throws a ConfigError when the
 * module throws, has no default export, exports something that is not data, or does not finish loading
 * within `timeoutMs`; the child is gone by then.
 */
export async function loadModule(
  file: string,
  format: 'js' | 'ts',
  timeoutMs = MODULE_LOAD_TIMEOUT_MS,
): Promise<unknown> {
  return (await runModule(file, format, { timeoutMs })).value;
}

/** loadModule with the settings of a `ModuleRun`; `env` holds what the module set, with `envChanges`. */
export function runModule(file: string, format: 'js' | 'ts', run: ModuleRun = {}): Promise<Loaded> {
  const timeoutMs = run.timeoutMs ?? MODULE_LOAD_TIMEOUT_MS;
  const args = ['--input-type=module', '-e', CHILD, '--', file, format];
  args.push(format === 'ts' ? import.meta.resolve('jiti') : '', run.envChanges ? '1' : '');
  return new Promise((resolve, reject) => {
    const output = run.quiet ? 'ignore' : 2;
    const child = spawn(process.execPath, args, {
      cwd: process.cwd(),
      env: run.env ?? process.env,
      // A module's console.log must not reach our stdout: `clusterd validate --json` prints there.
      stdio: ['ignore', output, output, 'ipc', 'pipe'],
      serialization: 'advanced',
    });
    let outcome: Outcome | undefined;
    let settled = false;
    // Once: resolves after the child has exited, or kills it and rejects.
    const settle = (result: () => Loaded) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        resolve(result());
      } catch (error) {
        child.kill('SIGKILL');
        reject(error);
      }
    };
    const refuse = (error: ConfigError) =>
      settle(() => {
        throw error;
      });
    const ended = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => outcomeValue(file, outcome ?? { kind: 'ended', code, signal }));
    const timer = setTimeout(() => refuse(timedOut(file, timeoutMs)), timeoutMs);
    child.on('message', (message) => {
      if (!isOutcome(message)) return;
      outcome = message;
      // The child has nothing left to do; exiting on its own would wait for its watchdog thread (~15 ms).
      child.kill('SIGKILL');
    });
    // The report arrives before 'exit'; 'close' also waits for the IPC channel to drain, in case not.
    child.on('exit', (code, signal) => {
      if (outcome) ended(code, signal);
    });
    child.on('close', ended);
    child.on('error', (error) =>
      refuse(
        new ConfigError(
          [problem(file, `could not start a process to load the config module: ${error.message}`)],
          { cause: error },
        ),
      ),
    );
  });
}
