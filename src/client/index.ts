// The programmatic client (`import { connect } from 'clusterd'`): the control commands as typed methods
// over the control socket, the same ones the CLI uses (docs/control.md, "From Node.js").

import { parseDuration } from '../config/units.js';
import { type Bounds, notRunningError, ReplyStream, sendCommand, type Target } from '../control/client.js';
import { listening, locateSocket } from '../control/locate.js';
import { verifySocket } from '../control/private-dir.js';
import { DEFAULT_PROFILE_MS } from '../control/profile.js';
import { downloadProfile } from '../control/profile-client.js';
import { checkProfileOutput, profileFileName, profilePath } from '../control/profile-file.js';
import type {
  Command,
  LogEvent,
  ProfileDone,
  ProfileStart,
  Reply,
  SendResult,
  Status,
  UpReport,
} from '../control/protocol.js';
import type { CanaryReport } from '../primary/reload/canary-judge.js';
import type { FleetSample } from '../supervisor/fleet.js';

export type {
  AppStatus,
  LogEvent,
  ProfileDone,
  ProfileStart,
  RequestFigures,
  SendResult,
  Status,
  UpApp,
  UpChange,
  UpReport,
  WorkerStatus,
} from '../control/protocol.js';
export type { CanaryCheck, CanaryReport } from '../primary/reload/canary-judge.js';
export type { FleetApp, FleetSample, FleetWorker } from '../supervisor/fleet.js';

export interface ConnectOptions {
  /** A config file, or a directory to search, as `--config` takes it; default: the one in `cwd`. */
  config?: string;
  /** Where relative paths and the search start (default: `process.cwd()`). */
  cwd?: string;
  /**
   * The environment the control socket's directory is found from (`RUNTIME_DIRECTORY`,
   * `XDG_RUNTIME_DIR`); default `process.env`. Give the one of the clusterd to reach (a systemd unit's).
   */
  env?: NodeJS.ProcessEnv;
}

/** For the commands that wait: how long at most, in ms (default: derived from the apps' settings). */
export interface WaitOptions {
  timeout?: number;
}

/** A deploy's options: its bound, and its canary phase (true, false; absent: each app's `reload.canary`). */
export interface DeployOptions extends WaitOptions {
  canary?: boolean;
}

/** A rolling reload's result for one app. */
export interface ReloadResult {
  app: string;
  /** Workers replaced by new ones. */
  replaced: number;
  ms: number;
  /** The canary phase's verdict, when the reload had one (docs/reload.md). */
  canary?: CanaryReport;
  /** A canary asked for every app that this one cannot have: why (it was reloaded without one). */
  noCanary?: string;
}

/** What `scale` did. */
export interface ScaleResult {
  app: string;
  from: number;
  to: number;
}

export interface LogsOptions {
  /** One app's output (default: every app's). */
  app?: string;
  /** How many recent lines first (default 50). */
  lines?: number;
  /** Then the live output, until the stream is closed or clusterd stops. */
  follow?: boolean;
}

/** What a `monitor` stream gives: a sample of every app, or an event. */
export type MonitorItem = { sample: FleetSample } | { event: LogEvent };

/** Where `profile` and `heap` write their file. */
export interface ProfileOptions {
  app: string;
  worker?: number;
  /** A file, or a directory to write the default name in. */
  output?: string;
  /** Where the default name, or a relative `output`, is (default: `process.cwd()`). */
  cwd?: string;
  /** Called once the worker is chosen, before the profile is taken. */
  onStart?: (start: ProfileStart) => void;
  /** Aborting it stops the profile in the worker and removes the partial file. */
  signal?: AbortSignal;
}

/** A profile written: its file, the worker it is of, its size, how long the worker was paused (ms). */
export type ProfileFileResult = ProfileDone & { path: string };

/** Lines or events, read as they come; `close()` (or leaving a `for await` loop) ends it. */
export interface Stream<T> extends AsyncIterableIterator<T> {
  /**
   * Resolves once the root streams to it, so that whatever happens from then on is delivered (start a
   * reload after it to see all of its events), or once the stream has ended. Never rejects: an error is
   * thrown by `next()`.
   */
  readonly ready: Promise<void>;
  /** Closes the connection; what was read and not yet taken is dropped. Idempotent. */
  close(): void;
}

/**
 * A running clusterd: each method is one control command, on a connection of its own, so a `reload` that
 * takes a minute does not hold up a `status`. Methods reject with a `ClusterdError` (`code`: the
 * one the supervisor decided, passed on unchanged, such as `CLUSTERD_ERR_RELOAD_FAILED`,
 * `_NOT_RUNNING`, `_TIMEOUT`, `_INTERNAL`; a command about several apps whose failures differ rejects
 * with a `CommandError` whose `apps` gives each one's; see docs/errors.md); `up` rejects with an `UpError` carrying its report, or a `ConfigError`.
 */
export class Client {
  private readonly streams = new Set<Stream<unknown>>();

  /** @internal Use `connect()`. */
  constructor(
    private readonly target: Target,
    private readonly bounds: Bounds = {},
  ) {}

  /** The config file the clusterd runs (its real path as the search found it). */
  get config(): string {
    return this.target.config;
  }

  /** The control socket's path. */
  get socket(): string {
    return this.target.socket;
  }

  private command<T>(command: Command): Promise<T> {
    return sendCommand(this.target, command, this.bounds) as Promise<T>;
  }

  private waiting<C extends Command>(command: C, options: WaitOptions = {}): C {
    return options.timeout === undefined ? command : { ...command, timeout: options.timeout };
  }

  private stream<T>(command: Command, pick: (reply: Reply) => T | undefined): Stream<T> {
    let stream: ReplyStream<T> | undefined;
    stream = new ReplyStream(this.target, command, pick, this.bounds, () => {
      if (stream) this.streams.delete(stream);
    });
    if (!stream.finished) this.streams.add(stream);
    return stream;
  }

  /** Every app and worker: pid, state, restarts, uptime, CPU, memory, request figures, script. */
  status(): Promise<Status> {
    return this.command({ cmd: 'status' });
  }

  /** Rolling reload of one app or all; resolves once every worker was replaced. */
  reload(app?: string, options?: DeployOptions): Promise<ReloadResult[]> {
    const canary = options?.canary === undefined ? {} : { canary: options.canary };
    return this.command(
      this.waiting(
        app === undefined ? { cmd: 'reload', ...canary } : { cmd: 'reload', app, ...canary },
        options,
      ),
    );
  }

  /** Hard restart of one app or all; resolves with their names once they serve again. */
  restart(app?: string, options?: WaitOptions): Promise<string[]> {
    return this.command(
      this.waiting(app === undefined ? { cmd: 'restart' } : { cmd: 'restart', app }, options),
    );
  }

  /** Runs `n` workers of `app` (`'+2'`, `'-1'`: relative); resolves once they serve or have stopped. */
  scale(app: string, n: number | `+${number}` | `-${number}`, options?: WaitOptions): Promise<ScaleResult> {
    return this.command(this.waiting({ cmd: 'scale', app, instances: String(n) }, options));
  }

  /** Stops one app (the others keep running) once its workers have exited; without one, everything. */
  stop(app?: string, options?: WaitOptions): Promise<string[]> {
    return this.command(this.waiting(app === undefined ? { cmd: 'stop' } : { cmd: 'stop', app }, options));
  }

  /** Starts an app stopped with `stop(app)` (or errored); resolves once it serves. */
  async start(app: string, options?: WaitOptions): Promise<void> {
    await this.command(this.waiting({ cmd: 'start', app }, options));
  }

  /** Stops everything gracefully, as SIGTERM does; resolves with the supervisor's pid as it begins. */
  shutdown(): Promise<{ pid: number }> {
    return this.command({ cmd: 'shutdown' });
  }

  /**
   * What `clusterd up` does to a running clusterd: re-reads the config file, applies its changes, then
   * reloads every app they did not roll or restart. `environment`, if given, must be the running one.
   */
  up(options: DeployOptions & { environment?: string } = {}): Promise<UpReport> {
    const { environment, canary, ...wait } = options;
    return this.command(
      this.waiting(
        {
          cmd: 'up',
          ...(environment === undefined ? {} : { environment }),
          ...(canary === undefined ? {} : { canary }),
        },
        wait,
      ),
    );
  }

  /** The apps' recent output, line by line, then with `follow` the live output. */
  logs(options: LogsOptions = {}): Stream<string> {
    const command: Command = {
      cmd: 'logs',
      lines: options.lines ?? 50,
      follow: options.follow ?? false,
      ...(options.app === undefined ? {} : { app: options.app }),
    };
    if (options.follow) return this.stream(command, (r) => ('output' in r ? r.output : undefined));
    // The recent lines alone: one answer, asked for on the first `next()` (its error is thrown there).
    const recent = (async function* (ask: () => Promise<{ lines: string[] }>) {
      yield* (await ask()).lines;
    })(() => this.command(command));
    return Object.assign(recent, { ready: Promise.resolve(), close: () => void recent.return(undefined) });
  }

  /**
   * The supervisor's events as they happen (worker and app transitions, reloads, guards, config
   * reloads...): the objects its log lines hold, from now on, until closed or clusterd stops.
   */
  events(options: { app?: string } = {}): Stream<LogEvent> {
    const command: Command = { cmd: 'events', ...(options.app === undefined ? {} : { app: options.app }) };
    return this.stream(command, (r) => ('event' in r ? r.event : undefined));
  }

  /**
   * A live view's feed, as `clusterd monit` reads it: the samples kept of the last `history` seconds
   * (default 120) and the recent events, then every app's sample each second and each event as it is
   * logged, until closed. Watching makes the root sample every second; closing stops that.
   */
  monitor(options: { app?: string; history?: number } = {}): Stream<MonitorItem> {
    const command: Command = {
      cmd: 'monitor',
      ...(options.app === undefined ? {} : { app: options.app }),
      ...(options.history === undefined ? {} : { history: options.history }),
    };
    return this.stream(command, (r) =>
      'sample' in r ? { sample: r.sample } : 'event' in r ? { event: r.event } : undefined,
    );
  }

  /**
   * A message from outside to the `onMessage(topic)` handlers of the app's workers (clusterd/worker): every
   * live worker's, or slot `worker`'s (PM2's `sendDataToProcessId`). `data` is any JSON value. Resolves
   * once it was handed to their channels, with the workers (slot, pid); rejects with
   * `CLUSTERD_ERR_UNKNOWN_APP`, or `CLUSTERD_ERR_UNKNOWN_WORKER` when no such worker is up.
   */
  send(app: string, topic: string, data: unknown, options: { worker?: number } = {}): Promise<SendResult> {
    return this.command({
      cmd: 'send',
      app,
      topic,
      data: data === undefined ? null : data,
      ...(options.worker === undefined ? {} : { worker: options.worker }),
    });
  }

  /**
   * A CPU profile of one of `app`'s workers (slot `worker`, else the first ready one) over `cpu` (ms, or
   * a duration such as `'30s'`; default 10 s, at most 5 min), written as a `.cpuprofile` (Chrome
   * DevTools, speedscope): to `output` (a directory: the default name in it), else as
   * `<app>-<slot>-<pid>-<YYYYMMDDTHHMMSS>.cpuprofile` in `cwd` (default `process.cwd()`). The file is
   * created 0600, never over an existing one (docs/monitoring.md#profiles-on-demand). Resolves with its
   * path and what was taken.
   */
  profile(options: ProfileOptions & { cpu?: number | string }): Promise<ProfileFileResult> {
    const durationMs = options.cpu === undefined ? DEFAULT_PROFILE_MS : parseDuration(options.cpu);
    const { app, worker } = options;
    return this.download(
      { cmd: 'profile', app, durationMs, ...(worker === undefined ? {} : { worker }) },
      options,
    );
  }

  /** A heap snapshot of slot `worker`'s worker of `app`, written as a `.heapsnapshot` as `profile` writes. */
  heap(options: ProfileOptions & { worker: number }): Promise<ProfileFileResult> {
    return this.download({ cmd: 'heap', app: options.app, worker: options.worker }, options);
  }

  private async download(
    command: Extract<Command, { cmd: 'profile' | 'heap' }>,
    options: ProfileOptions,
  ): Promise<ProfileFileResult> {
    const cwd = options.cwd ?? process.cwd();
    // A file in the way is refused before the worker is asked for anything.
    checkProfileOutput(options.output, cwd);
    const { path, result } = await downloadProfile(
      this.target,
      command,
      (start) => {
        options.onStart?.(start);
        return profilePath(options.output, cwd, profileFileName(start, new Date()));
      },
      { ...this.bounds, ...(options.signal ? { signal: options.signal } : {}) },
    );
    return { path, ...result };
  }

  /** Closes every stream this client opened. */
  close(): void {
    for (const stream of [...this.streams]) stream.close();
  }
}

/**
 * Finds the clusterd running the config, by the CLI's rules (the config in `cwd`, or `config`; else the
 * one clusterd running a config file of the directory under another name), and checks that it answers.
 * Rejects with `CLUSTERD_ERR_NOT_RUNNING` when none does, `CLUSTERD_ERR_CONFIG_NOT_FOUND` when there is
 * no config to find, `CLUSTERD_ERR_SEVERAL_RUNNING` when it cannot tell which.
 */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const target = await locateSocket(options.cwd ?? process.cwd(), options.config, options.env);
  const path = verifySocket(target.socket);
  if (path === undefined || !(await listening(path))) throw notRunningError(target.config);
  return new Client(target);
}
