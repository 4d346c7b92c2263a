// The normalized, frozen form of a config that the rest of clusterd works with:
// durations in ms, sizes in bytes, instances as a number, absolute paths, env merged for one environment.
import type { ResolvedDashboard } from './dashboard.js';
import type { Balancing } from './types.generated.js';

export type RestartPolicy = 'on-failure' | 'always' | 'never';
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';
/** How a reload replaces a worker: its successor first (no capacity lost), or its old worker first. */
export type ReloadOrder = 'start-first' | 'stop-first';

/** `reload.canary`: durations in ms, each ratio null where its check is off. See docs/reload.md. */
export interface ResolvedCanary {
  /** A deploy (reload, up, SIGUSR2/SIGHUP) runs the canary unless the command says otherwise. */
  readonly enabled: boolean;
  readonly workers: number;
  readonly warmup: number;
  readonly observe: number;
  readonly weight: number | null;
  readonly minRequests: number;
  readonly insufficientTraffic: 'fail' | 'pass';
  readonly maxErrorRateIncrease: number | null;
  readonly confidence: number;
  readonly latency: 'p50' | 'p90' | 'p95' | 'p99' | 'mean';
  readonly maxLatencyRatio: number | null;
  readonly latencySlack: number;
  readonly maxLoopDelayRatio: number | null;
  readonly loopDelaySlack: number;
  readonly maxRssRatio: number | null;
}

export interface ResolvedRestart {
  readonly policy: RestartPolicy;
  readonly backoff: { readonly initial: number; readonly factor: number; readonly max: number };
  readonly maxRestarts: number;
  readonly stableAfter: number;
  readonly noRestartExitCodes: readonly number[];
}

export interface ResolvedWatch {
  readonly enabled: boolean;
  /** Absolute paths. */
  readonly paths: readonly string[];
  /** Glob patterns relative to the app's cwd: the built-in ones first, then the app's. */
  readonly ignore: readonly string[];
  readonly debounce: number;
  readonly usePolling: boolean;
}

/** The resource guards (`guards`): sizes in bytes, durations in ms, null where a guard is off. */
export interface ResolvedGuards {
  readonly memory: {
    readonly limit: number | null;
    readonly hardLimit: number | null;
    readonly interval: number;
  };
  readonly heartbeat: { readonly timeout: number | null; readonly interval: number };
  readonly recycle: {
    readonly maxAge: number | null;
    readonly cron: string | null;
    readonly timezone: string | null;
    readonly jitter: number;
  };
}

/** Who an app's workers run as (`user`, `group`); the primary stays the supervisor's user. */
export interface ResolvedRunAs {
  readonly uid: number;
  readonly gid: number;
  /** The user's name, or null for a numeric uid without an entry (or `group` alone). */
  readonly user: string | null;
  /** The user's home directory, or null. */
  readonly home: string | null;
}

/** An app's log files (absolute paths), both rotated at `maxSize` with `maxFiles` kept. */
export interface ResolvedLogs {
  /** stdout, and stderr too unless `errorFile` is set; null: no file. */
  readonly file: string | null;
  /** stderr; null: it goes to `file`. */
  readonly errorFile: string | null;
  /** false, true (ISO 8601, UTC) or a day.js format: see log/timestamp.ts. */
  readonly timestamp: boolean | string;
  readonly maxSize: number;
  readonly maxFiles: number;
}

/**
 * When a new worker counts as ready. Node.js apps: `listening`, `message`, `loaded` (its entry module
 * ran). Programs: `loaded` (alive for `readySettle`), `port` (a connection on its `listen` port accepted
 * by the instance itself), `probe` (`ResolvedApp.probe` succeeds).
 */
export type ResolvedReadiness = 'listening' | 'message' | 'loaded' | 'port' | 'probe';

/** A readiness probe of a program: a URL answered 2xx, or a command that exits 0; every `interval` ms. */
export type ResolvedProbe =
  | { readonly http: string; readonly interval: number }
  | { readonly command: readonly string[]; readonly interval: number };

/** The socket a program's primary listens on and hands to every instance (socket activation). */
export interface ResolvedListen {
  /** Null: every address, IPv4 and IPv6. */
  readonly host: string | null;
  readonly port: number;
  /** Its name in `LISTEN_FDNAMES`. */
  readonly name: string;
}

/** An app that is not Node.js (`command`): its instances are plain child processes. */
export interface ResolvedProgram {
  /** The command as written (its first element as given: the instance's argv[0]). */
  readonly command: readonly string[];
  /** Absolute path of the executable, found on the app's PATH (or relative to `cwd`) at load. */
  readonly file: string;
  readonly listen: ResolvedListen | null;
}

export interface ResolvedApp {
  readonly name: string;
  /** Null: a Node.js app (node:cluster workers). */
  readonly program: ResolvedProgram | null;
  /**
   * Absolute path of the entry file (a program's: its executable, `program.file`), symbolic links kept: each fork resolves it anew (primary/process/release.ts),
   * so a `current -> releases/N` switch is what the next reload runs.
   */
  readonly script: string;
  /**
   * Never in a loaded config: the real paths of `script` and `cwd` as the primary resolved them when
   * these settings came to it (a start, a deploy), so that a restart or a scale-up runs the release the
   * app's workers run, not the one a `current` link was switched to meanwhile (primary/process/release.ts).
   */
  readonly release?: { readonly script: string; readonly cwd: string };
  /** The script's arguments (a program's: its command after the first element). */
  readonly args: readonly string[];
  /** Empty for a program. */
  readonly nodeArgs: readonly string[];
  /** Absolute working directory, symbolic links kept (resolved per fork, as `script`). */
  readonly cwd: string;
  readonly instances: number;
  /** Variables to set over the supervisor's environment; `null` removes a variable. */
  readonly env: Readonly<Record<string, string | null>>;
  /**
   * Absolute paths of the app's `.env` files, in order (a later one wins). Only the paths: the files are
   * read at each worker start (primary/process/env.ts), under `env`, so their values are in no resolved config.
   */
  readonly envFiles: readonly string[];
  readonly restart: ResolvedRestart;
  readonly readiness: ResolvedReadiness;
  /** With readiness `probe`: the probe. */
  readonly probe: ResolvedProbe | null;
  readonly readyTimeout: number;
  /** A program with readiness `loaded` is ready once it has run this long (ms). */
  readonly readySettle: number;
  /**
   * `spread`: the time long-lived connections get to close before `timeout` starts (ms); `delay`: how
   * long the app keeps serving, unready, once the root is told to stop, before it drains (ms).
   */
  readonly shutdown: {
    readonly signal: StopSignal;
    readonly timeout: number;
    readonly delay: number;
    readonly spread: number;
  };
  readonly watch: ResolvedWatch;
  readonly reload: {
    readonly parallel: number;
    readonly order: ReloadOrder;
    /** How a deploy's canaries are judged (`reload.canary`); `enabled` false: no canary unless asked. */
    readonly canary: ResolvedCanary;
  };
  readonly balancing: Balancing;
  /** With sticky balancing: the header (lower case) that keys a connection; null: the client IP. */
  readonly stickyHeader: string | null;
  /** A variable that also gets the worker's slot number (PM2's instance_var); null: none. */
  readonly instanceVar: string | null;
  /**
   * A variable of the app's env whose integer value each slot gets plus its slot number (PM2's
   * increment_var); null: none. Only the name: the value is read at each start, as the env files are.
   */
  readonly incrementVar: string | null;
  /** How the IPC channel between the primary and each worker encodes messages (node:cluster's). */
  readonly serialization: 'json' | 'advanced';
  /**
   * Whether the workers count their HTTP requests (worker/requests.cts) for /metrics, `status` and
   * reloads; false for a program.
   */
  readonly requestMetrics: boolean;
  /** Whether the workers get the compile cache (`CLUSTERD_COMPILE_CACHE`, worker/preload.cts); false for a program. */
  readonly compileCache: boolean;
  readonly logs: ResolvedLogs;
  readonly guards: ResolvedGuards;
  /** `primary`: how long a running primary may leave the root's pings unanswered (ms); null: not watched. */
  readonly primary: { readonly hangTimeout: number | null };
  /**
   * The shared primary this app's workers run under, with the other apps of the same group
   * (docs/shared-primaries.md); null: a primary of its own.
   */
  readonly primaryGroup: string | null;
  /**
   * The uid and gid the workers run as, or null: they run as the supervisor. Files made for the app's
   * workers (its log file) belong to these ids.
   */
  readonly runAs: ResolvedRunAs | null;
}

/** The root's health and metrics server (`health`, or `--health`). */
export interface ResolvedHealth {
  readonly host: string;
  readonly port: number;
  /** The share of an app's instances that must be ready for it to count as ready (0 < share <= 1). */
  readonly readyShare: number;
  /** `health.dashboard`: null when off (config/dashboard.ts). */
  readonly dashboard: ResolvedDashboard | null;
}

export interface ResolvedConfig {
  /** Absolute path of the config file. */
  readonly file: string;
  /** The `--env` the env was merged for, or null. */
  readonly environment: string | null;
  readonly apps: readonly ResolvedApp[];
  /** Null: no health server (unless `start --health` asks for one). */
  readonly health: ResolvedHealth | null;
}
