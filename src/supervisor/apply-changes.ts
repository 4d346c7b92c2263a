// A config reload's changes, app by app (config-diff.ts decides them): new apps start, removed ones
// stop, a changed `instances` scales, other changes roll the app, a balancing family change restarts it.
// A fault in applying one app's change is that app's alone: the others are applied all the same.
import type { ResolvedApp } from '../config/resolved.js';
import { ErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AppRunner } from './app-runner.js';
import type { AppChange } from './config-diff.js';

/** What applying the changes needs of the supervisor. */
export interface ChangeTarget {
  readonly log: Logger;
  /** The settings an app runs with (`--watch` turns watching on). */
  settings(app: ResolvedApp): ResolvedApp;
  runner(name: string): AppRunner | undefined;
  add(app: ResolvedApp): AppRunner;
  retire(runner: AppRunner): Promise<void>;
  restartApps(name: string): Promise<unknown>;
}

/** Starts each change; returns what it did, in words, and the work still under way. */
export function applyChanges(
  target: ChangeTarget,
  changes: readonly AppChange[],
): { summary: string[]; work: Promise<unknown>[] } {
  const summary: string[] = [];
  const work: Promise<unknown>[] = [];
  for (const change of changes) {
    const name = change.action === 'remove' || change.action === 'keep' ? change.name : change.app.name;
    const runner = target.runner(name);
    const apply = () => {
      switch (change.action) {
        case 'add':
          target.add(change.app);
          summary.push(`+${name}`);
          return;
        case 'remove':
          if (runner) work.push(target.retire(runner));
          summary.push(`-${name}`);
          return;
        case 'scale':
          if (runner) work.push(runner.scale(change.to, true));
          summary.push(`${name} ${change.from}->${change.to} workers`);
          return;
        case 'roll':
          if (runner)
            work.push(runner.update(target.settings(change.app), change.changed.includes('instances')));
          summary.push(`${name} rolled (${change.changed.join(', ')})`);
          return;
        case 'restart':
          if (!runner) return;
          // Stopped, then started anew: its ports are closed meanwhile, which the log says.
          runner.keep(target.settings(change.app), change.changed.includes('instances'));
          target.log.warn(
            { app: name, changed: change.changed },
            `app ${name} is restarted, not reloaded: ${change.why}; it refuses connections until it is up again`,
          );
          work.push(target.restartApps(name));
          summary.push(`${name} restarted (${change.changed.join(', ')})`);
          return;
        case 'keep':
          return;
      }
    };
    if (runner) runner.contain('a config reload', apply);
    else {
      try {
        apply();
      } catch (error) {
        target.log.error(
          { app: name, code: ErrorCode.INTERNAL, err: error },
          `internal error adding app ${name} in a config reload: ${errorMessage(error)}`,
        );
      }
    }
  }
  return { summary, work };
}
