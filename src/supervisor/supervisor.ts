// The root supervisor: one per config. It runs one primary per app, never forks workers and never
// accepts connections, applies config changes app by app, and decides how the whole thing ends.
import { constants } from 'node:os';
import { formatIssue } from '../cli/format.js';
import { loadConfig } from '../config/index.js';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import { ConfigError, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { LogFormat } from '../protocol.js';
import { AppRunner } from './app-runner.js';
import { diffApps } from './config-diff.js';

export type StopKind = 'graceful' | 'immediate';

export interface SupervisorOptions {
  /** `start --watch`: watch every app, whatever its config says. */
  watchAll?: boolean;
}

export class Supervisor {
  readonly apps: AppRunner[] = [];
  private stopRequested: { kind: StopKind; signal?: NodeJS.Signals } | null = null;
  private finished: (() => void) | null = null;
  private reloadingConfig: Promise<void> | null = null;
  private configAgain = false;

  constructor(
    public config: ResolvedConfig,
    private readonly log: Logger,
    private readonly logFormat: LogFormat,
    private readonly options: SupervisorOptions = {},
  ) {}

  private settings(app: ResolvedApp): ResolvedApp {
    return this.options.watchAll ? { ...app, watch: { ...app.watch, enabled: true } } : app;
  }

  private add(app: ResolvedApp): AppRunner {
    const runner = new AppRunner(this.settings(app), this.log, this.logFormat);
    this.apps.push(runner);
    void runner.done.then(() => this.checkFinished());
    runner.start();
    return runner;
  }

  private checkFinished(): void {
    if (this.apps.every((a) => a.settled)) this.finished?.();
  }

  /** Starts every app; resolves with the exit code once nothing is left running. */
  async run(): Promise<number> {
    const finished = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    for (const app of this.config.apps) this.add(app);
    await finished;
    const errored = this.apps.filter((a) => a.state === 'errored').map((a) => a.app.name);
    if (this.stopRequested?.kind === 'immediate') {
      const signal = this.stopRequested.signal;
      return signal ? 128 + (constants.signals[signal] ?? 0) : ExitCode.FAILURE;
    }
    if (this.stopRequested) return ExitCode.OK;
    if (errored.length) {
      this.log.error({ errored }, `nothing left running; errored: ${errored.join(', ')}`);
      return ExitCode.APP_ERRORED;
    }
    this.log.info('nothing left running: every app exited cleanly');
    return ExitCode.OK;
  }

  /**
   * Re-reads the config file and applies the difference: new apps start, removed ones stop gracefully,
   * a changed `instances` scales, any other change rolls the app's workers, the rest is not touched.
   * An invalid config is logged and changes nothing. Calls made during one are queued, once.
   */
  reloadConfig(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    if (this.reloadingConfig) {
      this.configAgain = true;
      return this.reloadingConfig;
    }
    this.reloadingConfig = this.applyConfig().finally(() => {
      this.reloadingConfig = null;
      if (this.configAgain) {
        this.configAgain = false;
        void this.reloadConfig();
      }
    });
    return this.reloadingConfig;
  }

  private async applyConfig(): Promise<void> {
    let next: ResolvedConfig;
    try {
      next = await loadConfig({ path: this.config.file, environment: this.config.environment });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.log.error(
        { config: this.config.file, errors: error.issues },
        `config reload failed, still running the previous config:\n${error.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      );
      return;
    }
    const summary: string[] = [];
    for (const change of diffApps(
      this.config.apps.map((a) => this.settings(a)),
      next.apps.map((a) => this.settings(a)),
    )) {
      const runner = this.apps.find(
        (a) =>
          a.app.name ===
            (change.action === 'remove' || change.action === 'keep' ? change.name : change.app.name) &&
          !a.leavingConfig,
      );
      switch (change.action) {
        case 'add':
          this.add(change.app);
          summary.push(`+${change.app.name}`);
          break;
        case 'remove':
          if (runner) {
            runner.leavingConfig = true;
            void runner.stop();
          }
          summary.push(`-${change.name}`);
          break;
        case 'scale':
          runner?.scale(change.to);
          summary.push(`${change.app.name} ${change.from}->${change.to} workers`);
          break;
        case 'roll':
          runner?.update(change.app);
          summary.push(`${change.app.name} rolled (${change.changed.join(', ')})`);
          break;
        case 'keep':
          break;
      }
    }
    this.config = next;
    this.log.info(
      { config: next.file, changes: summary },
      `config reloaded: ${summary.join('; ') || 'nothing changed'}`,
    );
  }

  /** Rolling reload of every app. */
  reload(): void {
    if (this.stopRequested) return;
    for (const app of this.apps) app.reload();
  }

  /** Graceful stop of every app. */
  stop(signal?: NodeJS.Signals): void {
    if (this.stopRequested) return;
    this.stopRequested = { kind: 'graceful', ...(signal ? { signal } : {}) };
    for (const app of this.apps) void app.stop();
  }

  /** Immediate stop: every worker is SIGKILLed. */
  kill(signal?: NodeJS.Signals): void {
    this.stopRequested = { kind: 'immediate', ...(signal ? { signal } : {}) };
    for (const app of this.apps) void app.kill();
  }
}
