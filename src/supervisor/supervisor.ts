// The root supervisor: one per config. It runs one primary per app, never forks workers and never
// accepts connections, and decides how the whole thing ends.
import { constants } from 'node:os';
import type { ResolvedConfig } from '../config/resolved.js';
import { ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { LogFormat } from '../protocol.js';
import { AppRunner } from './app-runner.js';

export type StopKind = 'graceful' | 'immediate';

export class Supervisor {
  readonly apps: AppRunner[];
  private stopRequested: { kind: StopKind; signal?: NodeJS.Signals } | null = null;

  constructor(
    readonly config: ResolvedConfig,
    private readonly log: Logger,
    logFormat: LogFormat,
  ) {
    this.apps = config.apps.map((app) => new AppRunner(app, log, logFormat));
  }

  /** Starts every app; resolves with the exit code once nothing is left running. */
  async run(): Promise<number> {
    for (const app of this.apps) app.start();
    await Promise.all(this.apps.map((a) => a.done));
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
