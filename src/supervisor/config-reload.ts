// The supervisor's config reloads, one at a time with at most one more queued (lifecycle/coalescer.ts):
// each reads the file (or takes a config `up` read and checked already), and an invalid one changes
// nothing; a valid one is diffed against the config in force (config-diff.ts), applied app by app
// (apply-changes.ts) and becomes the config in force, and what it set going is kept for `reloaded` to
// wait on. Apart from supervisor.ts, which decides when a reload may begin and what the root is doing
// meanwhile (supervisor-step.ts): this is only how one is carried out, with the supervisor injected.
import type { ResolvedConfig } from '../config/resolved.js';
import { ErrorCode, errorMessage } from '../errors.js';
import { Coalescer } from '../lifecycle/coalescer.js';
import { applyChanges, type ChangeTarget, type ConfigApplied, readNextConfig } from './apply-changes.js';
import { diffApps } from './config-diff.js';

/** A config reload: the config read already (`up`) or null to read the file, and a deploy's canary choice. */
export type ConfigRequest = { next: ResolvedConfig | null; canary?: boolean };

/** What a config reload needs of the supervisor. */
export interface ReloadedSupervisor extends Omit<ChangeTarget, 'canary'> {
  /** The config in force. */
  config(): ResolvedConfig;
  /** Puts `next` in force. */
  adopt(next: ResolvedConfig): void;
  /** The config file as it is now; throws a ConfigError if invalid. */
  readConfig(): Promise<ResolvedConfig>;
  /** True once a stop of everything has begun: a reload then changes nothing. */
  stopping(): boolean;
}

export class ConfigReloads {
  private readonly queue: Coalescer<ConfigRequest, ConfigApplied | null>;
  /** What the last config reload set going (rolls, scales, restarts): `reloaded` waits for it. */
  private work: Promise<unknown> = Promise.resolve();

  constructor(private readonly supervisor: ReloadedSupervisor) {
    // One config reload more for those asked during one: the latest file, and a deploy's canary choice.
    const merge = (queued: ConfigRequest, next: ConfigRequest): ConfigRequest => ({
      next: next.next,
      ...((next.canary ?? queued.canary) === undefined ? {} : { canary: next.canary ?? queued.canary }),
    });
    this.queue = new Coalescer((given, finish) => {
      this.apply(given.next, given.canary).then(finish, (error: unknown) => {
        supervisor.log.error(
          { config: supervisor.config().file, code: ErrorCode.INTERNAL, err: error },
          `internal error in a config reload: ${errorMessage(error)}; still running the previous config`,
        );
        finish(null);
      });
    }, merge);
  }

  /** What the last config reload set going; settles once all of it has. */
  get applied(): Promise<unknown> {
    return this.work;
  }

  /** Runs `request` (once the one under way is over); resolves with what it did, never rejects. */
  request(request: ConfigRequest): Promise<ConfigApplied | null> {
    return new Promise<ConfigApplied | null>((resolve) => this.queue.request(request, resolve));
  }

  private async apply(given: ResolvedConfig | null, canary?: boolean): Promise<ConfigApplied | null> {
    const { supervisor } = this;
    const file = supervisor.config().file;
    const next = given ?? (await readNextConfig(supervisor.log, file, () => supervisor.readConfig()));
    if ('ok' in next) return next;
    if (supervisor.stopping()) return null;
    const config = supervisor.config();
    // The health server was set up at start (`--health` may override it): not moved under its probes.
    if (JSON.stringify(next.health) !== JSON.stringify(config.health))
      supervisor.log.warn(
        { config: config.file },
        'health changed in the config file: it applies when clusterd is restarted; the health server keeps its address',
      );
    this.work = Promise.resolve();
    const { summary, work, applied } = applyChanges(
      {
        log: supervisor.log,
        settings: (app) => supervisor.settings(app),
        runner: (name) => supervisor.runner(name),
        add: (app) => supervisor.add(app),
        retire: (runner) => supervisor.retire(runner),
        restartApps: (name) => supervisor.restartApps(name),
        ...(canary === undefined ? {} : { canary }),
      },
      diffApps(
        config.apps.map((a) => supervisor.settings(a)),
        next.apps.map((a) => supervisor.settings(a)),
      ),
    );
    supervisor.adopt(next);
    this.work = Promise.allSettled(work);
    supervisor.log.info(
      { config: next.file, changes: summary },
      `config reloaded: ${summary.join('; ') || 'nothing changed'}`,
    );
    return { ok: true, changes: applied };
  }
}
