// Node.js's module compile cache (module.enableCompileCache) for clusterd's own processes: the CLI, the
// root and each primary compile clusterd's ~200 modules from V8's code cache instead of from source on
// every start (measured in docs/benchmarks.md, "Cold start"). The cache holds code that will run, so it
// lives in a private directory of the user's (created 0700, used only if it passes the same checks as
// the control socket's directory: no symlink, ours, no group/other bits, safe ancestors), never in a
// shared /tmp where another local user could place entries first. It is an optimization only: anything
// in the way (no home, a read-only disk, a directory that fails the checks) means no cache, silently.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off (Node.js's own switch, honoured here too).
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { privateDirProblem } from './control/private-dir.js';

/** `$XDG_CACHE_HOME/clusterd/compile-cache`, else `~/.cache/clusterd/compile-cache`; null when disabled. */
export function compileCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  home: () => string = homedir,
): string | null {
  if (env.NODE_DISABLE_COMPILE_CACHE) return null;
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : null;
  try {
    return join(xdg ?? join(home(), '.cache'), 'clusterd', 'compile-cache');
  } catch {
    return null;
  }
}

/**
 * Enables the compile cache in `dir` for the modules this process loads from now on, if `dir` is (or
 * can be made) a private directory; returns the directory in use, or null.
 */
export function openCompileCache(dir: string | null = compileCacheDir()): string | null {
  inUse = enable(dir);
  return inUse;
}

let inUse: string | null = null;

/** The directory this process's compile cache is in (the one its primaries are given), or null. */
export const compileCacheInUse = (): string | null => inUse;

function enable(dir: string | null): string | null {
  if (!dir || typeof module.enableCompileCache !== 'function') return null;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (privateDirProblem(dir, process.getuid?.()) !== undefined) return null;
    const { status } = module.enableCompileCache(dir);
    const { ENABLED, ALREADY_ENABLED } = module.constants.compileCacheStatus;
    return status === ENABLED || status === ALREADY_ENABLED ? dir : null;
  } catch {
    return null;
  }
}

/** Writes what this process compiled so far to the cache now (a long-lived process may never exit cleanly). */
export function flushCompileCache(): void {
  try {
    module.flushCompileCache?.();
  } catch {}
}
