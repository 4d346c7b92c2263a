// How a PM2 app or a package.json script really starts, followed down to the Node.js file that serves:
// `npm start` -> package.json's "start" -> `cross-env NODE_ENV=production next start` -> next's bin
// (node_modules/next/dist/bin/next, which serves from its own process) with args ['start']. A CLI that
// spawns the server as a child (`nest start` runs `node dist/main`, `nuxt start` runs
// .output/server/index.mjs) maps to that child's file instead: run as the CLI, a worker would be a CLI
// whose server escapes the cluster. Pure: the project is asked through `LaunchContext`.
import { posix } from 'node:path';
import { resolveBin } from './bins.js';
import { nodeOptions, shellWords } from './command.js';
import { fail, isObject, type Launch, type LaunchContext, type LaunchResult } from './launch-result.js';

export type { Launch, LaunchContext, LaunchResult } from './launch-result.js';

/** Programs that run a file in Node.js with a loader, as the Node.js options that do the same. */
export const LOADERS: Readonly<Record<string, readonly string[]>> = {
  tsx: ['--import', 'tsx'],
  'ts-node': ['--require', 'ts-node/register'],
  'ts-node-transpile-only': ['--require', 'ts-node/register/transpile-only'],
  'ts-node-esm': ['--loader', 'ts-node/esm'],
  'babel-node': ['--require', '@babel/register'],
};

// Development restarters: the file they run is the app; clusterd start --watch does their job.
const WATCHERS: Readonly<Record<string, readonly string[]>> = {
  nodemon: [],
  'node-dev': [],
  'ts-node-dev': LOADERS['ts-node'] as readonly string[],
  tsnd: LOADERS['ts-node'] as readonly string[],
};

const RUNNERS = new Set(['npm', 'yarn', 'pnpm']);
const NPX = new Set(['npx', 'pnpx', 'bunx']);
const NPM_SCRIPT_COMMANDS: Record<string, string> = {
  start: 'start',
  restart: 'restart',
  test: 'test',
  t: 'test',
};
const RUN = new Set(['run', 'run-script', 'rum', 'urn']);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const SHELL_SYNTAX = /[|;<>()`$]|&(?!&)/;
/** package.json scripts that call one another: a loop or a deep chain gives up here. */
const MAX_DEPTH = 6;

const base = (program: string) =>
  program
    .split('/')
    .pop()
    ?.replace(/\.(cmd|js|exe)$/, '') ?? '';
export const isNodeProgram = (word: string) => /(^|\/)(node|nodejs)(\.exe)?$/.test(word);

/** The package manager a word names (npm, /usr/bin/npm, npm.cmd), or null. */
export function packageRunner(word: string): string | null {
  const name = base(word);
  return RUNNERS.has(name) ? name : null;
}

/** Which package.json script `runner args` runs, and the arguments it passes on; null if none. */
export function scriptTarget(
  runner: string,
  args: readonly string[],
): { name: string; extra: string[] } | null {
  const words = args.filter((w) => !/^--(silent|quiet|loglevel=.*|prefix=.*)$/.test(w) && w !== '-s');
  const [first, second, ...rest] = words;
  if (first === undefined) return null;
  const passOn = (list: string[]) => (list[0] === '--' ? list.slice(1) : list);
  if (RUN.has(first)) return second === undefined ? null : { name: second, extra: passOn(rest) };
  const extra = passOn(second === undefined ? rest : [second, ...rest]);
  if (runner === 'npm') {
    const name = NPM_SCRIPT_COMMANDS[first];
    return name ? { name, extra } : null;
  }
  // yarn <script> and pnpm <script> run a script of that name (or, failing that, a bin: see below).
  return first.startsWith('-') ? null : { name: first, extra };
}

interface Step {
  env: Record<string, string>;
  words: string[];
}

// `A && B && C`: the steps, each with its variable assignments; null with a reason for other shell syntax.
function steps(line: string): Step[] | string {
  const unquoted = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
  if (SHELL_SYNTAX.test(unquoted.replace(/&&/g, '')))
    return 'it is a shell command line (pipes, redirections, expansions or several commands)';
  const parts: string[] = [];
  let rest = line;
  for (let at = nextAnd(rest); at >= 0; at = nextAnd(rest)) {
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 2);
  }
  parts.push(rest);
  if (parts.length > 1 && parts.some((part) => part.trim() === ''))
    return 'it has "&&" without a command on one side (a shell syntax error)';
  const out: Step[] = [];
  for (const part of parts) {
    const words = shellWords(part);
    if (words === null) return 'it has an unclosed quote';
    const env: Record<string, string> = {};
    let i = 0;
    for (; i < words.length; i += 1) {
      const word = words[i] as string;
      const assignment = ASSIGNMENT.exec(word);
      if (assignment) env[assignment[1] as string] = assignment[2] as string;
      else if (!['cross-env', 'env', 'exec', 'dotenv-flow'].includes(word)) break;
    }
    out.push({ env, words: words.slice(i) });
  }
  return out;
}

// The index of the next `&&` outside quotes, or -1.
function nextAnd(text: string): number {
  let quote = '';
  for (let i = 0; i < text.length - 1; i += 1) {
    const c = text.charAt(i);
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '&' && text.charAt(i + 1) === '&') return i;
  }
  return -1;
}

/**
 * Resolves a command line (a package.json script, or a PM2 script with spaces that PM2 runs with bash)
 * to the Node.js file it serves from. `A && B` runs as B when A only prepares (a build, a migration):
 * said in a note; `cd dir && ...` moves the working directory.
 */
export function resolveLine(line: string, ctx: LaunchContext, depth = 0): LaunchResult {
  const parsed = steps(line);
  if (typeof parsed === 'string') return fail(parsed);
  const last = parsed.at(-1);
  if (!last || last.words.length === 0) return fail('it runs no program');
  let cwd = '';
  const before: string[] = [];
  for (const step of parsed.slice(0, -1)) {
    if (step.words[0] === 'cd') {
      const dir = step.words.length === 2 ? (step.words[1] as string) : '';
      if (dir === '' || /^[~-]/.test(dir))
        return fail(
          `"${step.words.join(' ')}" changes to a directory that depends on the shell (home, previous)`,
        );
      cwd = chdir(cwd, dir);
    } else if (step.words.length) before.push(step.words.join(' '));
  }
  const inner = cwd ? within(ctx, cwd) : ctx;
  const result = resolveWords(last.words, last.env, inner, depth);
  if (!result.ok) return result;
  const notes = [...result.launch.notes];
  if (before.length)
    notes.push(
      `${before.map((b) => `"${b}"`).join(' and ')} ran first under PM2: run ${before.length > 1 ? 'them' : 'it'} yourself before clusterd start (a build belongs to the deploy, not to every worker's start)`,
    );
  const moved = cwd ? chdir(cwd, result.launch.cwd ?? '.') : result.launch.cwd;
  return { ok: true, launch: { ...result.launch, notes, ...(moved && moved !== '.' ? { cwd: moved } : {}) } };
}

/** Where `cd to` from `from` goes: an absolute directory replaces the one before. */
export const chdir = (from: string, to: string) =>
  posix.isAbsolute(to) ? posix.normalize(to) : posix.join(from, to);

// The project seen from a subdirectory (or, after `cd /abs`, from another directory: its bins are not
// the project's, so none is known there).
function within(ctx: LaunchContext, dir: string): LaunchContext {
  const up = (file: string) => chdir(dir, file);
  return {
    isFile: (file) => ctx.isFile(up(file)),
    readJson: (file) => ctx.readJson(up(file)),
    binTarget: (bin) => {
      const found = posix.isAbsolute(dir) ? null : ctx.binTarget(bin);
      return found === null ? null : posix.relative(dir, found);
    },
  };
}

const withEnv = (launch: Launch, env: Record<string, string>): Launch =>
  Object.keys(env).length
    ? { ...launch, command: { ...launch.command, env: { ...env, ...launch.command.env } } }
    : launch;

/** Resolves a program and its arguments (already split into words, variables taken off) to a Node.js file. */
export function resolveWords(
  words: readonly string[],
  env: Record<string, string>,
  ctx: LaunchContext,
  depth = 0,
): LaunchResult {
  if (depth > MAX_DEPTH) return fail('its package.json scripts call each other too deep (a loop?)');
  const [program, ...args] = words;
  if (program === undefined) return fail('it runs no program');
  const name = base(program);
  const result = resolveProgram(program, name, args, ctx, depth);
  return result.ok ? { ok: true, launch: withEnv(result.launch, env) } : result;
}

function resolveProgram(
  program: string,
  name: string,
  args: string[],
  ctx: LaunchContext,
  depth: number,
): LaunchResult {
  if (isNodeProgram(program)) return nodeLaunch(args, [], []);
  // `bash -c "npm start"`: the command line bash runs.
  if (/^(ba|da|z)?sh$/.test(name) && args[0] === '-c' && args[1] !== undefined)
    return resolveLine(args[1], ctx, depth + 1);
  const loader = LOADERS[name];
  if (loader) {
    if (args[0] === 'watch')
      return fail(`"${name} watch" restarts on changes; clusterd start --watch does that`);
    return nodeLaunch(args, loader, []);
  }
  const watcher = WATCHERS[name];
  if (watcher) return watched(name, args, watcher);
  if (NPX.has(name)) return resolveWords(dropFlags(args), {}, ctx, depth + 1);
  const runner = packageRunner(program);
  if (runner) return runScript(runner, args, ctx, depth);
  if (name === 'pm2' || name === 'pm2-runtime' || name === 'pm2-dev')
    return fail(`it runs PM2 itself ("${name}")`);
  return resolveBin(name, args, ctx);
}

// npx's own options before the bin (npx --yes tsx ...).
const dropFlags = (args: string[]) => {
  let i = 0;
  while (
    i < args.length &&
    /^(-y|--yes|--no-install|--no|-q|--quiet|--prefer-offline)$/.test(args[i] as string)
  )
    i += 1;
  return args.slice(i);
};

// `node [options] file args`, with a loader's options first.
function nodeLaunch(args: string[], loader: readonly string[], notes: string[]): LaunchResult {
  const parsed = nodeOptions(args);
  if (!parsed.ok) return fail(parsed.reason);
  const { nodeArgs, script, rest } = parsed;
  return {
    ok: true,
    launch: { command: { env: {}, nodeArgs: [...loader, ...nodeArgs], script, args: rest }, notes },
  };
}

function watched(name: string, args: string[], loader: readonly string[]): LaunchResult {
  // nodemon's own options take a value: --watch dir, --ext ts, --exec cmd, ...
  const rest: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i] as string;
    if (word === '--exec' || word === '-x') return fail(`"${name} --exec" runs a command of its own`);
    if (
      /^(-w|--watch|-e|--ext|-i|--ignore|--delay|-d|--signal|--config|--respawn|--ignore-watch)$/.test(word)
    ) {
      i += 1;
      continue;
    }
    if (word.startsWith('-') && rest.length === 0) continue;
    rest.push(word);
  }
  if (rest.length === 0) return fail(`"${name}" without a file runs what its own config says`);
  const ts = /\.[mc]?ts$/.test(rest[0] as string) && loader.length === 0 && name === 'nodemon';
  const note = `${name} restarts the app on file changes: clusterd start --watch does that (a rolling reload)`;
  return nodeLaunch(rest, ts ? (LOADERS['ts-node'] as readonly string[]) : loader, [note]);
}

function runScript(runner: string, args: string[], ctx: LaunchContext, depth: number): LaunchResult {
  if (runner !== 'npm' && (args[0] === 'exec' || args[0] === 'dlx'))
    return resolveWords(args.slice(1), {}, ctx, depth + 1);
  if (runner === 'npm' && args[0] === 'exec')
    return resolveWords(
      dropFlags(args.slice(1)).filter((w) => w !== '--'),
      {},
      ctx,
      depth + 1,
    );
  return runPackageScript(runner, args, ctx, depth);
}

/** The package.json script `runner args` runs (`npm start`, `yarn run serve`), followed to its file. */
export function runPackageScript(
  runner: string,
  args: readonly string[],
  ctx: LaunchContext,
  depth = 0,
): LaunchResult & { line?: string } {
  const shown = [runner, ...args].join(' ');
  const target = scriptTarget(runner, args);
  if (!target) return fail(`"${shown}" runs no package.json script`);
  const pkg = ctx.readJson('package.json');
  if (!isObject(pkg)) return fail(`"${shown}" needs a package.json, and there is none`);
  return packageScriptLaunch(pkg, target, runner, shown, ctx, depth);
}

/** The Node.js file a package.json script (`target`) runs, with notes on what does not carry over. */
export function packageScriptLaunch(
  pkg: Record<string, unknown>,
  target: { name: string; extra: readonly string[] },
  runner: string,
  shown: string,
  ctx: LaunchContext,
  depth = 0,
): LaunchResult & { line?: string } {
  const scripts = isObject(pkg.scripts) ? pkg.scripts : {};
  let line = scripts[target.name];
  // npm's default start script, when package.json has none.
  if (line === undefined && target.name === 'start' && runner === 'npm' && ctx.isFile('server.js'))
    line = 'node server.js';
  if (typeof line !== 'string') {
    // `yarn next start` runs a bin when there is no script of that name.
    if (runner !== 'npm' && line === undefined && ctx.binTarget(target.name) !== null)
      return resolveBin(target.name, [...target.extra], ctx);
    return fail(`"${shown}": package.json has no "${target.name}" script`);
  }
  const result = resolveLine(
    target.extra.length ? `${line} ${quoteAll(target.extra)}` : line,
    ctx,
    depth + 1,
  );
  if (!result.ok)
    return { ...result, reason: `package.json's "${target.name}" script "${line}": ${result.reason}` };
  const hooks = [`pre${target.name}`, `post${target.name}`].filter(
    (hook) => typeof scripts[hook] === 'string',
  );
  const notes = [...result.launch.notes];
  if (hooks.length)
    notes.push(`its ${hooks.join(' and ')} script${hooks.length > 1 ? 's do' : ' does'} not run`);
  return { ok: true, launch: { ...result.launch, notes }, line };
}

const quoteAll = (words: readonly string[]) =>
  words.map((w) => (/^[\w./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
