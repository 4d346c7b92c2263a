// The root supervisor: one per config. It runs one primary per app, never forks workers and never
// accepts connections, applies config changes app by app, and decides how the whole thing ends. A fault
// in the handling of one app is contained to that app (see AppRunner); a config reload that fails for
// any reason changes nothing and never takes the root down. Here are its lifecycle (supervisor-step.ts's
// effects carried out) and its commands; which runners there are is app-runners.ts's, and how a config
// reload is carried out config-reload.ts's.

import { EventEmitter } from 'node:events';
import { loadConfig } from '../config/index.js';
import type { ResolvedConfig } from '../config/resolved.js';
import type { Status } from '../control/protocol.js';
import { ClusterdError, ErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { failed, type LogFormat, type OpResults } from '../protocol.js';
import type { AppRunner } from './app-runner.js';
import { AppRunners, type RunnerOptions } from './app-runners.js';
import type { ConfigApplied } from './apply-changes.js';
import { canaryRefusalOf } from './canary-refusal.js';
import { ConfigReloads, type ConfigRequest } from './config-reload.js';
import { FLEET_WINDOW_MS, Fleet } from './fleet.js';
import { scaleCount } from './scale-count.js';
import { statusOf } from './status.js';
import { stopEveryApp } from './stop-apps.js';
import {
  type AppOutcome,
  acceptsReload,
  exitCodeOf,
  initialSupervisor,
  type ReloadKind,
  type StopKind,
  type SupervisorEffect,
  type SupervisorEvent,
  type SupervisorEvents,
  type SupervisorSnapshot,
  supervisorStep,
} from './supervisor-step.js';

export type { AppOutcome, ReloadKind, StopKind, SupervisorEvents };

/** `--watch`, where the apps' output goes, fake primaries for the tests, who else hears the reports. */
export type SupervisorOptions = RunnerOptions;

export class Supervisor {
  /** The runners: of each app by name, those still running, those stopped by command. */
  private readonly runners: AppRunners;
  /** The supervisor's own lifecycle (supervisor-step.ts); written by `dispatch` only. */
  private s: SupervisorSnapshot = initialSupervisor;
  /** The shutdown.delay timers of a stop under way. */
  private readonly delays = new Set<() => void>();
  private finished: (() => void) | null = null;
  /** Config reloads: a config already read and checked (`up`), or null to read the file. */
  private readonly configReloads: ConfigReloads;
  /** Restarts in progress: their old runner has settled, the new one is not added yet. */
  private busy = 0;
  private readonly startedAt = Date.now();
  /** Lifecycle events (`SupervisorEvents`); a listener that throws is logged, never the supervisor's fault. */
  readonly lifecycle = new EventEmitter<SupervisorEvents>();
  /** Samples of every app each second while a live view watches (`monitor`, the dashboard). */
  readonly fleet = new Fleet({
    sample: () => this.status(FLEET_WINDOW_MS),
    timer: (ms, fn) => {
      const t = setTimeout(fn, ms).unref();
      return () => clearTimeout(t);
    },
    now: Date.now,
  });

  constructor(
    public config: ResolvedConfig,
    private readonly log: Logger,
    logFormat: LogFormat,
    options: SupervisorOptions = {},
  ) {
    this.runners = new AppRunners(log, logFormat, options, () => this.checkFinished());
    this.configReloads = new ConfigReloads({
      log,
      config: () => this.config,
      adopt: (next) => {
        this.config = next;
      },
      readConfig: () => this.readConfig(),
      stopping: () => this.s.stop !== null,
      settings: (app) => this.runners.settings(app),
      runner: (name) => this.runners.get(name),
      add: (app) => this.runners.add(app),
      retire: (runner) => this.runners.retire(runner),
      restartApps: (name) => this.restartApps(name),
    });
  }

  // Steps the supervisor's machine and carries out its effects.
  private dispatch(event: SupervisorEvent): void {
    const { snapshot, effects } = supervisorStep(this.s, event);
    this.s = snapshot;
    for (const effect of effects) this.carryOut(effect);
  }

  private carryOut(effect: SupervisorEffect): void {
    switch (effect.type) {
      case 'emit':
        if (effect.event === 'ready') this.emit('ready', { failed: effect.failed });
        else if (effect.event === 'stopping') this.emit('stopping', effect.kind);
        else this.emit(effect.event, effect.kind);
        return;
      case 'stop apps':
        for (const cancel of stopEveryApp(
          this.runners.running,
          (r) => this.runners.isStoppedByCommand(r),
          this.runners.effects,
          this.log,
        ))
          this.delays.add(cancel);
        this.checkFinished();
        return;
      case 'kill apps':
        for (const cancel of this.delays) cancel();
        this.delays.clear();
        for (const runner of this.runners.running) void runner.kill();
        return;
      case 'finish':
        // After the answers already on their way (a `clusterd restart` of the last app, which errored).
        setImmediate(() => this.finished?.());
        return;
    }
  }

  private emit<K extends keyof SupervisorEvents>(event: K, ...args: SupervisorEvents[K]): void {
    try {
      (this.lifecycle.emit as (event: K, ...args: SupervisorEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error(
        { code: ErrorCode.INTERNAL, err: error },
        `internal error in a ${event} listener: ${errorMessage(error)}`,
      );
    }
  }

  // Ends `run` once nothing is left running, except that apps stopped by command keep the supervisor up
  // (so `clusterd start <app>` can bring them back) until it is told to stop.
  private checkFinished(): void {
    if (this.busy > 0 || !this.runners.settled) return;
    this.dispatch({ type: 'apps ended', held: this.runners.held });
  }

  /** The runners of the config's apps. */
  get apps(): AppRunner[] {
    return this.runners.apps;
  }

  /** The running app called `name`. */
  runner(name: string): AppRunner | undefined {
    return this.runners.get(name);
  }

  /** True once a stop of everything has begun (readiness turns 503 then, before any drain). */
  get stopping(): boolean {
    return this.s.stop !== null;
  }

  /** Stopped by `clusterd stop <app>`: the operator took it out. */
  isStoppedByCommand(runner: AppRunner): boolean {
    return this.runners.isStoppedByCommand(runner);
  }

  /** The runners a command is about: one app, or all. */
  select(name: string | undefined): AppRunner[] {
    return this.runners.select(name);
  }

  /** The state of every app and worker, with CPU and memory of each worker. */
  status(windowMs?: number): Promise<Status> {
    return statusOf(this.apps, this.config, this.startedAt, windowMs);
  }

  /**
   * Rolling reload of one app or all; resolves with each app's outcome. `canary` true or false decides
   * the canary phase for this reload (an app that cannot have one is refused: `reload --canary`).
   */
  reloadApps(name?: string, canary?: boolean): Promise<AppOutcome<OpResults['reload']>[]> {
    return Promise.all(
      this.runners.targets(name).map(async (r) => {
        // Named, an app that cannot have a canary is refused; among all, it is reloaded without one.
        const refusal = canary && name !== undefined ? canaryRefusalOf(r.app) : null;
        if (refusal) return { app: r.app.name, ...failed(ErrorCode.USAGE, `reload --canary: ${refusal}`) };
        return { app: r.app.name, ...(await r.reload(canary)) };
      }),
    );
  }

  /** Hard restart: stop the app's primary and all its workers, then start it anew; resolves once it runs. */
  async restartApps(name?: string): Promise<AppOutcome<OpResults['start']>[]> {
    const runners = this.runners.targets(name);
    this.busy += 1;
    try {
      return await Promise.all(runners.map((old) => this.restart(old)));
    } finally {
      this.busy -= 1;
      this.checkFinished();
    }
  }

  private async restart(old: AppRunner): Promise<AppOutcome<OpResults['start']>> {
    const name = old.app.name;
    this.runners.resumed(old);
    // The old runner stays the app's until the new one replaces it: a config reload meanwhile updates
    // its settings (kept for the new start), and one that removes the app cancels the restart.
    await old.stop();
    if (this.s.stop) return { app: name, ...failed(ErrorCode.APP_STOPPING, 'the supervisor is stopping') };
    if (this.runners.get(name) !== old)
      return { app: name, ...failed(ErrorCode.CONFLICT, 'the app left the config meanwhile') };
    this.runners.forget(old);
    const runner = this.runners.add(old.app, old);
    return { app: name, ...(await runner.started) };
  }

  /** The worker count `N`, `+N` or `-N` asks of one app; throws if it is not a count clusterd runs. */
  scaleTarget(name: string, spec: string): number {
    const [runner] = this.select(name);
    if (!runner) throw this.runners.unknown(name);
    return scaleCount(runner.app.instances, spec);
  }

  /** Runs `to` workers of one app; resolves once the new ones serve (or the removed ones have stopped). */
  async scaleApp(name: string, to: number): Promise<AppOutcome<OpResults['scale']>> {
    const [runner] = this.select(name);
    if (!runner) throw this.runners.unknown(name);
    return { app: name, ...(await runner.scale(to)) };
  }

  /** Graceful stop of one app (the supervisor keeps running), or of all (same as shutdown). */
  async stopApps(name?: string): Promise<string[]> {
    if (name === undefined) {
      const names = this.apps.map((a) => a.app.name);
      this.stop();
      return names;
    }
    const [runner] = this.select(name);
    if (runner) {
      this.runners.stoppedBy(runner);
      await runner.stop();
    }
    return [name];
  }

  /**
   * Starts an app that `clusterd stop <app>` stopped (or that errored), with its current settings. Throws
   * at once if it is not stopped; the returned function starts it and resolves once it runs.
   */
  startApp(name: string): () => Promise<AppOutcome<OpResults['start']>> {
    const [runner] = this.select(name);
    if (!runner?.settled)
      throw new ClusterdError(
        ErrorCode.CONFLICT,
        `app "${name}" is ${runner?.state ?? 'unknown'}, not stopped`,
      );
    return async () => {
      if (!runner.settled || this.runners.get(name) !== runner)
        return { app: name, ...failed(ErrorCode.CONFLICT, 'the app was started meanwhile') };
      this.runners.resumed(runner);
      this.runners.forget(runner);
      const started = this.runners.add(runner.app, runner);
      return { app: name, ...(await started.started) };
    };
  }

  // The first start of every app. Not in run(): an async function's frame lives as long as it waits, and
  // the first runners kept there for the root's life held every restart's recent output since (each
  // runner's output points to its successor's; found by bench/soak.ts --snapshots).
  private startAll(): void {
    const first = this.config.apps.map((app) => this.runners.add(app));
    void Promise.all(first.map(async (r) => ({ app: r.app.name, ...(await r.started) }))).then((outcomes) => {
      this.dispatch({ type: 'started', failed: outcomes.filter((o) => !o.ok) });
    });
  }

  /** Starts every app; resolves with the exit code once nothing is left running. */
  async run(): Promise<number> {
    const finished = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    this.startAll();
    await finished;
    const errored = this.apps.filter((a) => a.state === 'errored').map((a) => a.app.name);
    if (!this.s.stop && errored.length)
      this.log.error({ errored }, `nothing left running; errored: ${errored.join(', ')}`);
    else if (!this.s.stop) this.log.info('nothing left running: every app exited cleanly');
    return exitCodeOf(this.s, errored);
  }

  /**
   * Re-reads the config file (or takes `next`, read and checked already) and applies the difference: new
   * apps start, removed ones stop gracefully, a changed `instances` scales, any other change rolls the
   * app's workers. An invalid config is logged and changes nothing. Asked for during one, it runs once
   * more after it (with the file as it is then). Resolves once the changes are under way, with each
   * app's (null if the supervisor stopped meanwhile); never rejects.
   */
  reloadConfig(next: ResolvedConfig | null = null, canary?: boolean): Promise<ConfigApplied | null> {
    if (!acceptsReload(this.s)) return Promise.resolve(null);
    this.dispatch({ type: 'reload asked', kind: 'config' });
    const request: ConfigRequest = { next, ...(canary === undefined ? {} : { canary }) };
    const done = this.configReloads.request(request);
    void done
      .then(() => this.configReloads.applied)
      .then(() => this.dispatch({ type: 'reload done', kind: 'config' }));
    return done;
  }

  /** The config file as it is now, with the running environment; throws a ConfigError if invalid. */
  readConfig(): Promise<ResolvedConfig> {
    return loadConfig({ path: this.config.file, environment: this.config.environment });
  }

  /** Rolling reload of every app. */
  reload(): void {
    if (!acceptsReload(this.s)) return;
    this.dispatch({ type: 'reload asked', kind: 'apps' });
    void Promise.all(this.apps.map((app) => app.reload())).then(() =>
      this.dispatch({ type: 'reload done', kind: 'apps' }),
    );
  }

  /**
   * Graceful stop of every app. An app with `shutdown.delay` keeps serving (unready: `stopping` is true
   * from now) for that long before it drains, so that load balancers stop sending to it first.
   */
  stop(signal?: NodeJS.Signals): void {
    this.dispatch({ type: 'stop asked', signal: signal ?? null });
  }

  /** Immediate stop: every worker is SIGKILLed (a shutdown.delay under way ends). */
  kill(signal?: NodeJS.Signals): void {
    this.dispatch({ type: 'kill asked', signal: signal ?? null });
    this.checkFinished();
  }
}
