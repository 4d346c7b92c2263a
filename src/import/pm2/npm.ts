// `script: "npm", args: "start"` (or `run <name>`, and the same with yarn and pnpm): PM2 runs the
// package manager, which runs a package.json script through a shell. clusterd runs a Node.js file
// itself, so the script is read: when it runs a Node.js file, that file is the app.
import { join } from 'node:path';
import { type Loaders, type NodeCommand, parseNodeCommand } from './command.js';
import { type PackageJson, pathKind, readPackageJson } from './project.js';

const RUNNERS = new Set(['npm', 'yarn', 'pnpm']);
// npm's own commands that run the package.json script of the same name.
const NPM_SCRIPT_COMMANDS: Record<string, string> = {
  start: 'start',
  restart: 'restart',
  test: 'test',
  t: 'test',
};
const RUN = new Set(['run', 'run-script', 'rum', 'urn']);

/** The package manager a script names (npm, /usr/bin/npm, npm.cmd), or null. */
export function packageRunner(script: string): string | null {
  const base =
    script
      .split('/')
      .pop()
      ?.replace(/\.(cmd|js)$/, '') ?? '';
  return RUNNERS.has(base) ? base : null;
}

/** Which package.json script `runner args` runs, and the arguments it passes on; null if none. */
export function scriptTarget(
  runner: string,
  args: readonly string[],
): { name: string; extra: string[] } | null {
  const [first, second, ...rest] = args;
  if (first === undefined) return null;
  const passOn = (words: string[]) => (words[0] === '--' ? words.slice(1) : words);
  if (RUN.has(first)) return second === undefined ? null : { name: second, extra: passOn(rest) };
  const extra = passOn(second === undefined ? rest : [second, ...rest]);
  if (runner === 'npm') {
    const name = NPM_SCRIPT_COMMANDS[first];
    return name ? { name, extra } : null;
  }
  // yarn <script> and pnpm <script> run a script of that name.
  return first.startsWith('-') ? null : { name: first, extra };
}

export type ResolvedScript =
  | { ok: true; command: NodeCommand; line: string; notes: string[] }
  | { ok: false; reason: string };

/** The Node.js command `runner args` ends up running in `dir`, or why it does not run one. */
export function resolvePackageScript(dir: string, runner: string, args: readonly string[]): ResolvedScript {
  const target = scriptTarget(runner, args);
  const shown = [runner, ...args].join(' ');
  if (!target) return { ok: false, reason: `"${shown}" runs no package.json script` };
  const pkg = readPackageJson(dir);
  if (!pkg) return { ok: false, reason: `"${shown}" needs a package.json, and ${dir} has none` };
  return packageScript(pkg, target, {
    runner,
    shown,
    isFile: (file) => pathKind(join(dir, file)) === 'file',
  });
}

export interface ScriptContext {
  /** The package manager that runs the script (npm has a default start script). */
  runner: string;
  /** The command as the user wrote it (`npm start`), for messages. */
  shown: string;
  /** Whether a file exists, relative to package.json's directory. */
  isFile: (file: string) => boolean;
  /** Loaders that count as node (command.ts); none by default. */
  loaders?: Loaders;
}

/**
 * The Node.js command the package.json script `target` runs, or why it does not run one. Pure:
 * `clusterd init` reads a project's start script with it too.
 */
export function packageScript(
  pkg: PackageJson,
  target: { name: string; extra: readonly string[] },
  { runner, shown, isFile, loaders }: ScriptContext,
): ResolvedScript {
  const scripts = pkg.scripts ?? {};
  let line = scripts[target.name];
  // npm's default start script, when package.json has none.
  if (line === undefined && target.name === 'start' && runner === 'npm' && isFile('server.js'))
    line = 'node server.js';
  if (typeof line !== 'string')
    return { ok: false, reason: `"${shown}": package.json has no "${target.name}" script` };
  const parsed = parseNodeCommand(line, loaders);
  if (!parsed.ok)
    return { ok: false, reason: `package.json's "${target.name}" script "${line}": ${parsed.reason}` };
  const notes: string[] = [];
  const hooks = [`pre${target.name}`, `post${target.name}`].filter(
    (hook) => typeof scripts[hook] === 'string',
  );
  if (hooks.length)
    notes.push(`its ${hooks.join(' and ')} script${hooks.length > 1 ? 's do' : ' does'} not run`);
  const command = { ...parsed.command, args: [...parsed.command.args, ...target.extra] };
  return { ok: true, command, line, notes };
}
