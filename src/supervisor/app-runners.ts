// The supervisor's runners: the one of each app of the config, by name; every runner whose primary may
// still run (one removed from the config or replaced by a restart, until it has ended); and those an
// operator stopped (`clusterd stop <app>`). Adding one starts it on its settings (`--watch` turns watching
// on), through its group's shared primary or a primary of its own, warns once about an app that runs as
// root, and hands the recent output of the runner it replaces on to it. Apart from supervisor.ts, which
// decides what to start and stop and when the root is done: this is only which runners there are.
import type { ResolvedApp } from '../config/resolved.js';
import { type ClusterdError, ErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { LogFormat } from '../protocol.js';
import { AppRunner } from './app-runner.js';
import { unknownApp } from './app-view.js';
import { primaryEffects, type RunnerEffects } from './primary-process.js';
import type { RunnerObserver } from './reports.js';
import { runsAsRoot } from './scale-count.js';
import { hostEffects, SharedPrimaries } from './shared-primary.js';

/** How the runners are made: the supervisor's options (`SupervisorOptions`). */
export interface RunnerOptions {
  /** `start --watch`: watch every app, whatever its config says. */
  watchAll?: boolean;
  /** Where the apps' output goes (default: this process's stdout/stderr). */
  output?: { out: NodeJS.WritableStream; err: NodeJS.WritableStream };
  /** The primaries' effects (default: real processes). */
  effects?: RunnerEffects;
  /** Hears every primary's reports too (the health server's metrics). */
  observer?: RunnerObserver;
}

export class AppRunners {
  /** The runner of each app of the config, by name. */
  private readonly current = new Map<string, AppRunner>();
  /** Every runner whose primary may still run: the current ones, and those removed or replaced. */
  private readonly runners = new Set<AppRunner>();
  /** Stopped by `clusterd stop <app>`: the supervisor keeps running without them. */
  private readonly stoppedByCommand = new Set<AppRunner>();
  /** Apps already warned about running as root: once per app for the supervisor's life. */
  private readonly warnedRoot = new Set<string>();

  /** The primaries' effects: real processes, or the tests' fakes. */
  readonly effects: RunnerEffects;
  /** The hosts of shared primaries (`primaryGroup`), one per group in use. */
  private readonly shared: SharedPrimaries | null;

  constructor(
    private readonly log: Logger,
    private readonly logFormat: LogFormat,
    private readonly options: RunnerOptions,
    /** Told each time a runner's primary has ended for good. */
    private readonly ended: () => void,
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
  }

  /** The settings an app runs with (`--watch` turns watching on). */
  settings(app: ResolvedApp): ResolvedApp {
    return this.options.watchAll ? { ...app, watch: { ...app.watch, enabled: true } } : app;
  }

  /** Starts a runner for `app`; one that replaces `previous` (a restart) takes over its recent output. */
  add(app: ResolvedApp, previous?: AppRunner): AppRunner {
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
      this.ended();
    });
    runner.start();
    return runner;
  }

  // Retires a runner (removed from the config, or replaced by a restart): it stops, and is forgotten
  // once its primary is gone.
  retire(runner: AppRunner): Promise<void> {
    if (this.current.get(runner.app.name) === runner) this.current.delete(runner.app.name);
    this.stoppedByCommand.delete(runner);
    void runner.done.then(() => this.runners.delete(runner));
    return runner.stop();
  }

  /** Forgets a runner whose primary has ended, before a new one takes its app (a restart, a start). */
  forget(runner: AppRunner): void {
    this.runners.delete(runner);
  }

  /** The runners of the config's apps. */
  get apps(): AppRunner[] {
    return [...this.current.values()];
  }

  /** Every runner whose primary may still run (the live set: one added meanwhile is in it). */
  get running(): Iterable<AppRunner> {
    return this.runners;
  }

  /** The runner of the app called `name`. */
  get(name: string): AppRunner | undefined {
    return this.current.get(name);
  }

  /** The runners a command is about: one app, or all. */
  select(name: string | undefined): AppRunner[] {
    if (name === undefined) return this.apps;
    const runner = this.get(name);
    if (!runner) throw this.unknown(name);
    return [runner];
  }

  // One app, or all of them but those stopped by `clusterd stop <app>`: a reload or restart of "all"
  // does not bring back an app an operator stopped.
  targets(name: string | undefined): AppRunner[] {
    const runners = this.select(name);
    return name === undefined ? runners.filter((r) => !this.stoppedByCommand.has(r)) : runners;
  }

  /** The error for an app that is not in the config, with the names that are. */
  unknown(name: string): ClusterdError {
    return unknownApp(name, [...this.current.keys()]);
  }

  /** True once every runner's primary has ended for good. */
  get settled(): boolean {
    return [...this.runners].every((r) => r.settled);
  }

  /** Stopped by `clusterd stop <app>`: the operator took it out. */
  isStoppedByCommand(runner: AppRunner): boolean {
    return this.stoppedByCommand.has(runner);
  }

  /** True while any app stopped by command keeps the supervisor up. */
  get held(): boolean {
    return this.stoppedByCommand.size > 0;
  }

  /** Marks a runner stopped by `clusterd stop <app>`. */
  stoppedBy(runner: AppRunner): void {
    this.stoppedByCommand.add(runner);
  }

  /** A runner stopped by command is brought back (a restart, a start). */
  resumed(runner: AppRunner): void {
    this.stoppedByCommand.delete(runner);
  }
}
