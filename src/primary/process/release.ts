// What one fork of a worker runs: the app's `script` and `cwd` with their symbolic links resolved at that
// moment, not when the config was loaded. The usual zero-downtime deploy layout points `current` at
// `releases/N` and switches the link; the reload after the switch must start workers of the new release,
// and the old ones keep running the files they started with. Resolved once per fork and handed to the
// fork as real paths, so what is reported (status, the worker's `starting` event) is what the worker
// runs, even if the link changes again a moment later.
import { realpathSync } from 'node:fs';
import type { ResolvedApp } from '../../config/resolved.js';

export interface Release {
  /** Real path of the entry file the worker runs. */
  readonly script: string;
  /** Real path of its working directory. */
  readonly cwd: string;
}

// A path that cannot be resolved (removed meanwhile, a dangling link) is passed as it is: the worker's own
// error ("Cannot find module ...") then says what is wrong, as a failed start.
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function resolveRelease(app: Pick<ResolvedApp, 'script' | 'cwd'>): Release {
  return { script: real(app.script), cwd: real(app.cwd) };
}
