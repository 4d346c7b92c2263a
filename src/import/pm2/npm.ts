// `script: "npm", args: "start"` (or `run <name>`, and the same with yarn and pnpm): PM2 runs the
// package manager, which runs a package.json script through a shell. clusterd runs a Node.js file
// itself, so the script is followed (launch.ts) to the file that serves.

import type { NodeCommand } from './command.js';
import { type LaunchContext, type LaunchResult, packageScriptLaunch, runPackageScript } from './launch.js';
import type { PackageJson } from './project.js';

export { packageRunner, scriptTarget } from './launch.js';

export type ResolvedScript =
  | { ok: true; command: NodeCommand; line: string; notes: string[]; cwd?: string }
  | { ok: false; reason: string; notNode?: boolean };

/** The Node.js command `runner args` ends up running in the project `ctx` sees, or why it does not run one. */
export function resolvePackageScript(
  ctx: LaunchContext,
  runner: string,
  args: readonly string[],
): ResolvedScript {
  return asResolved(runPackageScript(runner, args, ctx));
}

// launch.ts's result in the shape callers of a package script read: the command, its line and notes.
function asResolved(result: LaunchResult & { line?: string }): ResolvedScript {
  if (!result.ok) return result;
  const { command, notes, cwd } = result.launch;
  return { ok: true, command, line: result.line ?? '', notes, ...(cwd ? { cwd } : {}) };
}

export interface ScriptContext extends Partial<Omit<LaunchContext, 'isFile'>> {
  /** The package manager that runs the script (npm has a default start script). */
  runner: string;
  /** The command as the user wrote it (`npm start`), for messages. */
  shown: string;
  /** Whether a file exists, relative to package.json's directory. */
  isFile: (file: string) => boolean;
}

/**
 * The Node.js command the package.json script `target` runs, or why it does not run one. Pure:
 * `clusterd init` reads a project's start script with it too.
 */
export function packageScript(
  pkg: PackageJson,
  target: { name: string; extra: readonly string[] },
  { runner, shown, isFile, readJson, binTarget }: ScriptContext,
): ResolvedScript {
  const ctx: LaunchContext = {
    isFile,
    readJson: readJson ?? ((file) => (file === 'package.json' ? pkg : null)),
    binTarget: binTarget ?? (() => null),
  };
  return asResolved(packageScriptLaunch(pkg as Record<string, unknown>, target, runner, shown, ctx));
}
