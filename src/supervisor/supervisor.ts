// The root supervisor: one per config. It runs one primary per app, never forks workers and never
// accepts connections, applies config changes app by app, and decides how the whole thing ends. A fault
// in the handling of one app is contained to that app (see AppRunner); a config reload that fails for
// any reason changes nothing and never takes the root down.

import { EventEmitter } from 'node:events';
import { loadConfig } from '../config/index.js';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import type { Status } from '../control/protocol.js';
import { ClusterdError, ErrorCode, errorMessage } from '../errors.js';
import { Coalescer } from '../lifecycle/coalescer.js';
import type { Logger } from '../log/logger.js';
import { failed, type LogFormat, type OpResults } from '../protocol.js';
import { AppRunner } from './app-runner.js';
import { unknownApp } from './app-view.js';
import { applyChanges, type ConfigApplied, readNextConfig } from './apply-changes.js';
import { canaryRefusalOf } from './canary-refusal.js';
import { diffApps } from './config-diff.js';
import { FLEET_WINDOW_MS, Fleet } from './fleet.js';
import { primaryEffects, type RunnerEffects } from './primary-process.js';
import type { RunnerObserver } from './reports.js';
import { runsAsRoot, scaleCount } from './scale-count.js';
import { hostEffects, SharedPrimaries } from './shared-primary.js';
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

export interface SupervisorOptions {
  /** `start --watch`: watch every app, whatever its config says. */
  watchAll?: boolean;
  /** Where the apps' output goes (default: this process's stdout/stderr). */
  output?: { out: NodeJS.WritableStream; err: NodeJS.WritableStream };
  /** The primaries' effects (default: real processes). */
  effects?: RunnerEffects;
  /** Hears every primary's reports too (the health server's metrics). */
  observer?: RunnerObserver;
}

/** A config reload: the config read already (`up`) or null to read the file, and a deploy's canary choice. */
type ConfigRequest = { next: ResolvedConfig | null; canary?: boolean };

export class Supervisor {
  /** The runner of each app of the config, by name. */
  private readonly current = new Map<string, AppRunner>();
  /** Every runner whose primary may still run: the current ones, and those removed or replaced. */
  private readonly runners = new Set<AppRunner>();
  /** Stopped by `clusterd stop <app>`: the supervisor keeps running without them. */
  private readonly stoppedByCommand = new Set<AppRunner>();
  /** The supervisor's own lifecycle (supervisor-step.ts); written by `dispatch` only. */
  private s: SupervisorSnapshot = initialSupervisor;
  /** The shutdown.delay timers of a stop under way. */
  private readonly delays = new Set<() => void>();
  private finished: (() => void) | null = null;
  /** Config reloads: a config already read and checked (`up`), or null to read the file. */
  private readonly configReloads: Coalescer<ConfigRequest, ConfigApplied | null>;
  /** Restarts in progress: their old runner has settled, the new one is not added yet. */
  private busy = 0;
  private readonly startedAt = Date.now();
  private readonly effects: RunnerEffects;
  /** The hosts of shared primaries (`primaryGroup`), one per group in use. */
  private readonly shared: SharedPrimaries | null;
  /** Apps already warned about running as root: once per app for the supervisor's life. */
  private readonly warnedRoot = new Set<string>();
  /** Lifecycle events (`SupervisorEvents`); a listener that throws is logged, never the supervisor's fault. */
  readonly lifecycle = new EventEmitter<SupervisorEvents>();
  /** What the last config reload set going (rolls, scales, restarts): `reloaded` waits for it. */
  private applied: Promise<unknown> = Promise.resolve();
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
    private readonly logFormat: LogFormat,
    private readonly options: SupervisorOptions = {},
  ) {
    this.effects = options.effects ?? primaryEffects(options.output);
    // Fake primaries (the tests' effects) have no shared ones: each grouped app gets its own fake.
    this.shared = options.effects
      ? null
      : new SharedPrimaries(
          hostEffects(
            options.output ?? { out: process.stdout, err: process.stderr },
            this.log,
            (group, message) => this.log.error({ group, code: ErrorCode.INTERNAL }, message),
          ),
        );
    // One config reload more for those asked during one: the latest file, and a deploy's canary choice.
    const merge = (queued: ConfigRequest, next: ConfigRequest): ConfigRequest => ({
      next: next.next,
      ...((next.canary ?? queued.canary) === undefined ? {} : { canary: next.canary ?? queued.canary }),
    });
    this.configReloads = new Coalescer((given, finish) => {
      this.applyConfig(given.next, given.canary).then(finish, (error: unknown) => {
        this.log.error(
          { config: this.config.file, code: ErrorCode.INTERNAL, err: error },
          `internal error in a config reload: ${errorMessage(error)}; still running the previous config`,
        );
        finish(null);
      });
    }, merge);
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
          this.runners,
          (r) => this.stoppedByCommand.has(r),
          this.effects,
          this.log,
        ))
          this.delays.add(cancel);
        this.checkFinished();
        return;
      case 'kill apps':
        for (const cancel of this.delays) cancel();
        this.delays.clear();
        for (const runner of this.runners) void runner.kill();
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

  private settings(app: ResolvedApp): ResolvedApp {
    return this.options.watchAll ? { ...app, watch: { ...app.watch, enabled: true } } : app;
  }

  /** Starts a runner for `app`; one that replaces `previous` (a restart) takes over its recent output. */
  private add(app: ResolvedApp, previous?: AppRunner): AppRunner {
    const runner = new AppRunner(
      this.settings(app),
      this.log,
      this.logFormat,
      app.primaryGroup !== null && this.shared
        ? this.shared.effectsFor(this.effects, app.primaryGroup, app.name)
        : this.effects,
      this.options.observer,
    );
    if (runsAsRoot(app, process.getuid?.()) && !this.warnedRoot.has(app.name)) {
      this.warnedRoot.add(app.name);
      this.log.warn({ app: app.name }, `app ${app.name} runs as root; set user to drop privileges`);
    }
    // `clusterd logs` still shows what the app printed before, and its followers go on following it.
    previous?.output.passTo(runner.output);
    this.current.set(app.name, runner);
    this.runners.add(runner);
    void runner.done.then(() => {
      if (this.current.get(runner.app.name) !== runner) this.runners.delete(runner);
      this.checkFinished();
    });
    runner.start();
    return runner;
  }

  // Retires a runner (removed from the config, or replaced by a restart): it stops, and is forgotten
  // once its primary is gone.
  private retire(runner: AppRunner): Promise<void> {
    if (this.current.get(runner.app.name) === runner) this.current.delete(runner.app.name);
    this.stoppedByCommand.delete(runner);
    void runner.done.then(() => this.runners.delete(runner));
    return runner.stop();
  }

  // Ends `run` once nothing is left running, except that apps stopped by command keep the supervisor up
  // (so `clusterd start <app>` can bring them back) until it is told to stop.
  private checkFinished(): void {
    if (this.busy > 0 || ![...this.runners].every((r) => r.settled)) return;
    this.dispatch({ type: 'apps ended', held: this.stoppedByCommand.size > 0 });
  }

  /** The runners of the config's apps. */
  get apps(): AppRunner[] {
    return [...this.current.values()];
  }

  /** The running app called `name`. */
  runner(name: string): AppRunner | undefined {
    return this.current.get(name);
  }

  /** True once a stop of everything has begun (readiness turns 503 then, before any drain). */
  get stopping(): boolean {
    return this.s.stop !== null;
  }

  /** Stopped by `clusterd stop <app>`: the operator took it out. */
  isStoppedByCommand(runner: AppRunner): boolean {
    return this.stoppedByCommand.has(runner);
  }

  /** The runners a command is about: one app, or all. */
  select(name: string | undefined): AppRunner[] {
    if (name === undefined) return this.apps;
    const runner = this.runner(name);
    if (!runner) throw unknownApp(name, [...this.current.keys()]);
    return [runner];
  }

  /** The state of every app and worker, with CPU and memory of each worker. */
  status(windowMs?: number): Promise<Status> {
    return statusOf(this.apps, this.config, this.startedAt, windowMs);
  }

  // One app, or all of them but those stopped by `clusterd stop <app>`: a reload or restart of "all"
  // does not bring back an app an operator stopped.
  private targets(name: string | undefined): AppRunner[] {
    const runners = this.select(name);
    return name === undefined ? runners.filter((r) => !this.stoppedByCommand.has(r)) : runners;
  }

  /**
   * Rolling reload of one app or all; resolves with each app's outcome. `canary` true or false decides
   * the canary phase for this reload (an app that cannot have one is refused: `reload --canary`).
   */
  reloadApps(name?: string, canary?: boolean): Promise<AppOutcome<OpResults['reload']>[]> {
    return Promise.all(
      this.targets(name).map(async (r) => {
        // Named, an app that cannot have a canary is refused; among all, it is reloaded without one.
        const refusal = canary && name !== undefined ? canaryRefusalOf(r.app) : null;
        if (refusal) return { app: r.app.name, ...failed(ErrorCode.USAGE, `reload --canary: ${refusal}`) };
        return { app: r.app.name, ...(await r.reload(canary)) };
      }),
    );
  }

  /** Hard restart: stop the app's primary and all its workers, then start it anew; resolves once it runs. */
  async restartApps(name?: string): Promise<AppOutcome<OpResults['start']>[]> {
    const runners = this.targets(name);
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
    this.stoppedByCommand.delete(old);
    // The old runner stays the app's until the new one replaces it: a config reload meanwhile updates
    // its settings (kept for the new start), and one that removes the app cancels the restart.
    await old.stop();
    if (this.s.stop) return { app: name, ...failed(ErrorCode.APP_STOPPING, 'the supervisor is stopping') };
    if (this.current.get(name) !== old)
      return { app: name, ...failed(ErrorCode.CONFLICT, 'the app left the config meanwhile') };
    this.runners.delete(old);
    const runner = this.add(old.app, old);
    return { app: name, ...(await runner.started) };
  }

  /** The worker count `N`, `+N` or `-N` asks of one app; throws if it is not a count clusterd runs. */
  scaleTarget(name: string, spec: string): number {
    const [runner] = this.select(name);
    if (!runner) throw unknownApp(name, [...this.current.keys()]);
    return scaleCount(runner.app.instances, spec);
  }

  /** Runs `to` workers of one app; resolves once the new ones serve (or the removed ones have stopped). */
  async scaleApp(name: string, to: number): Promise<AppOutcome<OpResults['scale']>> {
    const [runner] = this.select(name);
    if (!runner) throw unknownApp(name, [...this.current.keys()]);
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
      this.stoppedByCommand.add(runner);
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
      if (!runner.settled || this.current.get(name) !== runner)
        return { app: name, ...failed(ErrorCode.CONFLICT, 'the app was started meanwhile') };
      this.stoppedByCommand.delete(runner);
      this.runners.delete(runner);
      const started = this.add(runner.app, runner);
      return { app: name, ...(await started.started) };
    };
  }

  // The first start of every app. Not in run(): an async function's frame lives as long as it waits, and
  // the first runners kept there for the root's life held every restart's recent output since (each
  // runner's output points to its successor's; found by bench/soak.ts --snapshots).
  private startAll(): void {
    const first = this.config.apps.map((app) => this.add(app));
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
    const done = new Promise<ConfigApplied | null>((resolve) => this.configReloads.request(request, resolve));
    void done.then(() => this.applied).then(() => this.dispatch({ type: 'reload done', kind: 'config' }));
    return done;
  }

  /** The config file as it is now, with the running environment; throws a ConfigError if invalid. */
  readConfig(): Promise<ResolvedConfig> {
    return loadConfig({ path: this.config.file, environment: this.config.environment });
  }

  private async applyConfig(given: ResolvedConfig | null, canary?: boolean): Promise<ConfigApplied | null> {
    const next = given ?? (await readNextConfig(this.log, this.config.file, () => this.readConfig()));
    if ('ok' in next) return next;
    if (this.s.stop) return null;
    // The health server was set up at start (`--health` may override it): not moved under its probes.
    if (JSON.stringify(next.health) !== JSON.stringify(this.config.health))
      this.log.warn(
        { config: this.config.file },
        'health changed in the config file: it applies when clusterd is restarted; the health server keeps its address',
      );
    this.applied = Promise.resolve();
    const { summary, work, applied } = applyChanges(
      {
        log: this.log,
        settings: (app) => this.settings(app),
        runner: (name) => this.current.get(name),
        add: (app) => this.add(app),
        retire: (runner) => this.retire(runner),
        restartApps: (name) => this.restartApps(name),
        ...(canary === undefined ? {} : { canary }),
      },
      diffApps(
        this.config.apps.map((a) => this.settings(a)),
        next.apps.map((a) => this.settings(a)),
      ),
    );
    this.config = next;
    this.applied = Promise.allSettled(work);
    this.log.info(
      { config: next.file, changes: summary },
      `config reloaded: ${summary.join('; ') || 'nothing changed'}`,
    );
    return { ok: true, changes: applied };
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
