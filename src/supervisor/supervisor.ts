// The root supervisor: one per config. It runs one primary per app, never forks workers and never
// accepts connections, applies config changes app by app, and decides how the whole thing ends.
import { constants } from 'node:os';
import { formatIssue } from '../config/format-issues.js';
import { loadConfig } from '../config/index.js';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import type { AppStatus, Status } from '../control/protocol.js';
import { ConfigError, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { LogFormat } from '../protocol.js';
import { AppRunner } from './app-runner.js';
import { diffApps } from './config-diff.js';

export type StopKind = 'graceful' | 'immediate';

export interface SupervisorOptions {
  /** `start --watch`: watch every app, whatever its config says. */
  watchAll?: boolean;
  /** Where the apps' output goes (default: this process's stdout/stderr). */
  output?: { out: NodeJS.WritableStream; err: NodeJS.WritableStream };
}

export class Supervisor {
  readonly apps: AppRunner[] = [];
  private stopRequested: { kind: StopKind; signal?: NodeJS.Signals } | null = null;
  private finished: (() => void) | null = null;
  private reloadingConfig: Promise<void> | null = null;
  private configAgain = false;
  /** Restarts in progress: their old runner has settled, the new one is not added yet. */
  private busy = 0;
  private readonly startedAt = Date.now();

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
    const runner = new AppRunner(this.settings(app), this.log, this.logFormat, this.options.output);
    this.apps.push(runner);
    void runner.done.then(() => this.checkFinished());
    runner.start();
    return runner;
  }

  // Ends `run` once nothing is left running, except that apps stopped by command keep the supervisor up
  // (so `clusterd start <app>` can bring them back) until it is told to stop.
  private checkFinished(): void {
    if (this.busy > 0 || !this.apps.every((a) => a.settled)) return;
    if (!this.stopRequested && this.apps.some((a) => a.stoppedByCommand)) return;
    this.finished?.();
  }

  /** The running app called `name` (not one on its way out). */
  runner(name: string): AppRunner | undefined {
    return this.apps.find((a) => a.app.name === name && !a.leavingConfig);
  }

  private select(name: string | undefined): AppRunner[] {
    if (name === undefined) return this.apps.filter((a) => !a.leavingConfig);
    const runner = this.runner(name);
    if (!runner) {
      const known = this.apps.filter((a) => !a.leavingConfig).map((a) => a.app.name);
      throw new Error(`no app named "${name}" (apps: ${known.join(', ')})`);
    }
    return [runner];
  }

  /** The state of every app and worker, with CPU and memory of each worker. */
  async status(): Promise<Status> {
    const { default: pidusage } = await import('pidusage');
    const usage = async (pid: number | null) => {
      if (pid === null) return null;
      try {
        return await pidusage(pid);
      } catch {
        return null;
      }
    };
    const apps: AppStatus[] = await Promise.all(
      this.apps
        .filter((a) => !a.leavingConfig)
        .map(async (a) => ({
          name: a.app.name,
          state: a.state,
          instances: a.app.instances,
          primary: a.primaryPid,
          workers: await Promise.all(
            [...a.workers.entries()]
              .filter(([, w]) => w.state !== 'stopped' && w.state !== 'crashed')
              .sort(([x], [y]) => x - y)
              .map(async ([id, w]) => {
                const u = await usage(w.pid);
                return {
                  id,
                  pid: w.pid,
                  state: w.state,
                  restarts: w.restarts,
                  uptime: Date.now() - w.since,
                  cpu: u ? Math.round(u.cpu * 10) / 10 : null,
                  memory: u ? u.memory : null,
                };
              }),
          ),
        })),
    );
    return {
      pid: process.pid,
      config: this.config.file,
      environment: this.config.environment,
      uptime: Date.now() - this.startedAt,
      apps,
    };
  }

  /** Rolling reload of one app or all; resolves with each app's outcome. */
  async reloadApps(name?: string) {
    const runners = this.select(name);
    return Promise.all(runners.map(async (r) => ({ app: r.app.name, ...(await r.reload()) })));
  }

  /** Hard restart: stop the app's primary and all its workers, then start it anew. */
  async restartApps(name?: string): Promise<string[]> {
    const runners = this.select(name);
    this.busy += 1;
    try {
      await Promise.all(
        runners.map(async (old) => {
          old.leavingConfig = true;
          await old.stop();
          this.apps.splice(this.apps.indexOf(old), 1);
          this.add(old.app);
        }),
      );
    } finally {
      this.busy -= 1;
    }
    return runners.map((r) => r.app.name);
  }

  /** `N`, `+N` or `-N` workers for one app. */
  async scaleApp(name: string, spec: string): Promise<{ app: string; from: number; to: number }> {
    const [runner] = this.select(name);
    if (!runner) throw new Error(`no app named "${name}"`);
    const match = /^([+-]?)(\d+)$/.exec(spec);
    if (!match) throw new Error(`instances must be N, +N or -N, got "${spec}"`);
    const from = runner.app.instances;
    const n = Number(match[2]);
    const to = match[1] === '+' ? from + n : match[1] === '-' ? from - n : n;
    if (to < 1 || to > 1024) throw new Error(`instances must stay between 1 and 1024, got ${to}`);
    await runner.scale(to);
    return { app: name, from, to };
  }

  /** Graceful stop of one app (the supervisor keeps running), or of all (same as shutdown). */
  async stopApps(name?: string): Promise<string[]> {
    if (name === undefined) {
      this.stop();
      return this.apps.map((a) => a.app.name);
    }
    const [runner] = this.select(name);
    if (runner) {
      runner.stoppedByCommand = true;
      await runner.stop();
    }
    return [name];
  }

  /** Starts an app that `clusterd stop <app>` stopped, with its current settings. */
  startApp(name: string): string {
    const [runner] = this.select(name);
    if (!runner?.settled) throw new Error(`app "${name}" is ${runner?.state ?? 'unknown'}, not stopped`);
    this.apps.splice(this.apps.indexOf(runner), 1);
    this.add(runner.app);
    return name;
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
          void runner?.scale(change.to);
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
    for (const app of this.apps) void app.reload();
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
