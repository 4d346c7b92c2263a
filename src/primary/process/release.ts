// What a worker runs: the app's `script` and `cwd` with their symbolic links resolved when its settings
// reached the primary (the app's start, a deploy: `pinRelease`), not when the config was loaded nor at
// each fork. The usual zero-downtime deploy layout points `current` at `releases/N` and switches the link;
// the reload after the switch must start workers of the new release, the old ones keep running the files
// they started with, and one of them that crashes and restarts, during a canary or after a failed
// reload, must run the old release again, not the new one the link points at. Handed to the fork as real
// paths, so what is reported (status, the worker's `starting` event) is what the worker runs.
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

/** The release settings run: the one pinned, else the links resolved now. */
export function resolveRelease(app: Pick<ResolvedApp, 'script' | 'cwd' | 'release'>): Release {
  return app.release ?? { script: real(app.script), cwd: real(app.cwd) };
}

/** The settings with their release resolved now, for every worker started on them. */
export function pinRelease(app: ResolvedApp): ResolvedApp {
  const { release: _, ...settings } = app;
  return { ...settings, release: resolveRelease(settings) };
}
