// A config reload's changes, app by app (config-diff.ts decides them): new apps start, removed ones
// stop, a changed `instances` scales, other changes roll the app, a balancing family change restarts it.
// A fault in applying one app's change is that app's alone: the others are applied all the same.
import { formatIssue } from '../config/format-issues.js';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import type { UpChange } from '../control/protocol.js';
import { ConfigError, type ConfigIssue, ErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Outcome } from '../protocol.js';
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
  restartApps(name: string): Promise<Outcome[]>;
  /** A deploy's canary choice for the rolls (`up --canary`, `--no-canary`); absent: each app's settings. */
  canary?: boolean;
}

/** One app's change, and its outcomes once it is done. */
export interface AppApplied {
  app: string;
  change: UpChange;
  /** The settings that changed (rolled, restarted). */
  changed?: string[];
  /** The worker count, when the change scaled it. */
  instances?: { from: number; to: number };
  /**
   * Every outcome of the change once it is done (a roll: the reload's, and the scale's if `instances`
   * changed too). None when nothing could be done now: the app is stopped or restarting, and its next
   * start takes the new settings.
   */
  done: Promise<Outcome[]>;
}

/** What a config reload did: the file was invalid (nothing changed), or each app's change. */
export type ConfigApplied =
  | { ok: false; issues: readonly ConfigIssue[] }
  | { ok: true; changes: AppApplied[] };

const removed: Outcome = { ok: true, result: {} };

/** Starts each change; returns what it did, in words and app by app, and the work still under way. */
export function applyChanges(
  target: ChangeTarget,
  changes: readonly AppChange[],
): { summary: string[]; work: Promise<unknown>[]; applied: AppApplied[] } {
  const summary: string[] = [];
  const work: Promise<unknown>[] = [];
  const applied: AppApplied[] = [];
  for (const change of changes) {
    const name = change.action === 'remove' || change.action === 'keep' ? change.name : change.app.name;
    const runner = target.runner(name);
    const record = (entry: Omit<AppApplied, 'app'>, pending?: Promise<unknown>) => {
      applied.push({ app: name, ...entry });
      if (pending) work.push(pending);
    };
    const apply = () => {
      switch (change.action) {
        case 'add': {
          const started = target.add(change.app).started;
          record({ change: 'added', done: started.then((o) => [o]) });
          summary.push(`+${name}`);
          return;
        }
        case 'remove':
          if (runner) {
            const stopped = target.retire(runner);
            record({ change: 'removed', done: stopped.then(() => [removed]) }, stopped);
          }
          summary.push(`-${name}`);
          return;
        case 'scale':
          if (runner) {
            const scaled = runner.scale(change.to, true);
            const instances = { from: change.from, to: change.to };
            record({ change: 'scaled', instances, done: scaled.then((o) => [o]) }, scaled);
          }
          summary.push(`${name} ${change.from}->${change.to} workers`);
          return;
        case 'roll':
          if (runner) {
            const from = runner.app.instances;
            const instancesChanged = change.changed.includes('instances');
            const rolled = runner.update(target.settings(change.app), instancesChanged, target.canary);
            const instances = instancesChanged ? { instances: { from, to: change.app.instances } } : {};
            record({ change: 'rolled', changed: change.changed, ...instances, done: rolled }, rolled);
          }
          summary.push(`${name} rolled (${change.changed.join(', ')})`);
          return;
        case 'restart': {
          if (!runner) return;
          // Stopped, then started anew: its ports are closed meanwhile, which the log says.
          runner.keep(target.settings(change.app), change.changed.includes('instances'));
          target.log.warn(
            { app: name, changed: change.changed },
            `app ${name} is restarted, not reloaded: ${change.why}; it refuses connections until it is up again`,
          );
          const restarted = target.restartApps(name);
          record({ change: 'restarted', changed: change.changed, done: restarted }, restarted);
          summary.push(`${name} restarted (${change.changed.join(', ')})`);
          return;
        }
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
  return { summary, work, applied };
}

/** The config file as it is now; an invalid one is logged and answered, and changes nothing. */
export async function readNextConfig(
  log: Logger,
  file: string,
  read: () => Promise<ResolvedConfig>,
): Promise<ResolvedConfig | ConfigApplied> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error(
      { config: file, errors: error.issues },
      `config reload failed, still running the previous config:\n${error.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    return { ok: false, issues: error.issues };
  }
}
