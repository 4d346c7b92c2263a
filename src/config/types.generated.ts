// Generated from schemas/cluster.config.schema.json by scripts/gen-config-artifacts.ts. Do not edit.

/**
 * One command-line argument: passed verbatim, never through a shell. At most 32768 characters (Linux refuses a single argument over 128 KiB), no NUL character.
 */
export type Argument = string;
/**
 * Options for the Node.js runtime of each worker (its `execArgv`), for example `["--max-old-space-size=512"]`.
 *
 * @maxItems 256
 */
export type NodeArgs = Argument[];
/**
 * Number of workers. `"max"` is the number of CPUs this process may really use: `os.availableParallelism()`, capped by a cgroup v2 `cpu.max` quota when one is set.
 */
export type Instances = number | 'max';
/**
 * `.env` files for the workers, relative to the app's `cwd`: one path, or a list read in order (a later file wins). Read with Node.js's own parser (`util.parseEnv`) at every worker start, so a changed file applies at the next reload or restart. Their variables come over the supervisor's environment and under `env` and the selected environment. A file that is missing, not a regular file or larger than 1 MiB is a config error; an empty list turns off the files set in `defaults`. See [Env files](#env-files).
 */
export type EnvFile = EnvFilePath | EnvFilePath[];
/**
 * Path of one `.env` file, relative to the app's `cwd`.
 */
export type EnvFilePath = string;
/**
 * Milliseconds as an integer, or a string such as `"500ms"`, `"5s"`, `"1m"`, `"2h"`.
 */
export type Duration = number | string;
/**
 * When a new worker counts as ready. For Node.js apps: `listening` when its server listens, `message` when it sends `ready` (`process.send('ready')` or `ready()` from `clusterd/worker`), `loaded` once its entry module has run (workers that serve no port: queue consumers, schedulers, bots; an ES module's top-level await included). For programs (`command`): `loaded` once it has run for `readySettle` without exiting, `port` once it accepts a connection on the app's `listen` port itself, or a probe run until it succeeds: `{ "http": url }` (a 2xx answer) or `{ "command": [...] }` (exit status 0). Default: `listening` for Node.js apps; for programs `port` with `listen`, else `loaded`.
 */
export type Readiness = ('listening' | 'message' | 'loaded' | 'port') | HTTPProbe | CommandProbe;
/**
 * Reload the app when its files change (development). `true` watches the app's `cwd`; `clusterd start --watch` turns it on for every app.
 */
export type Watch = boolean | WatchOptions;
/**
 * How the app's TCP connections reach its workers. `round-robin`: the primary accepts connections and hands them to workers in turn (node:cluster default). `least-connections`: the primary hands each connection to the worker with the fewest open connections, so a worker busy with slow requests is passed over while another is idle. `sticky`: the client's IP address picks the worker slot (rendezvous hashing: stable across restarts and reloads, and only the keys of an added or removed slot move when scaling), for socket.io and other servers that keep sessions in memory. `kernel`: every worker listens with SO_REUSEPORT and the kernel spreads connections (Linux, FreeBSD).
 */
export type Balancing = 'round-robin' | 'least-connections' | 'sticky' | 'kernel';
/**
 * With `balancing: "sticky"`, for apps behind a proxy: the request header that keys each connection to its worker slot instead of the client IP (the proxy's), such as `X-Forwarded-For`; its first comma-separated value counts. The primary reads the first request's head of each connection (at most 16 KiB, 2 s) before handing it over; a connection without the header, a TLS connection (the primary cannot read it) and one that sends nothing in time are keyed by the client IP. The key of a connection is decided once, by its first request. `null`: the client IP.
 */
export type StickyHeader = string | null;
/**
 * A variable that also gets the worker's slot number (0, 1, ...), besides `NODE_APP_INSTANCE` and `CLUSTERD_WORKER_ID`, for apps written for PM2's `instance_var` (for example `INSTANCE_ID`). `null`: none.
 */
export type InstanceVar = string | null;
/**
 * A variable of the app's env whose value, an integer, each worker or instance gets plus its slot number (0, 1, ...), for apps written for PM2's `increment_var`: with `"env": { "PORT": 3000 }`, slot 0 gets `PORT=3000`, slot 1 `PORT=3001`, a slot added by a scale up its own. The variable must be set in the app's `env`, its `environments` overlay or its env files (not only in clusterd's own environment), as a decimal integer (digits, an optional `-`, no leading zero). Every slot's value must stay a safe integer (at most 9007199254740991 in size), and, for a variable named `PORT` or ending in `_PORT`, a TCP port (1 to 65535). For Node.js apps and programs alike. `null`: none.
 */
export type IncrementVar = string | null;
/**
 * How messages between the primary and the workers are encoded (node:cluster's `serialization`): `"json"`, node:cluster's and PM2's default, or `"advanced"` (V8's structured clone: Buffers, typed arrays, Maps, Sets, Dates, BigInts arrive as they were sent). socket.io's cluster adapter relays binary events only with `"advanced"`. The default stays `"json"` because apps written for node:cluster expect its results (a Date arrives as a string). Node.js apps only.
 */
export type Serialization = 'json' | 'advanced';
/**
 * Count the app's HTTP requests in each worker, without code in the app: responses by status class (1xx to 5xx), those closed before they finished, and their latency, for `/metrics` (`clusterd_http_requests_total`, `clusterd_http_request_duration_seconds`) and `clusterd status` (req/s, 5xx share, p99 per worker). Counted by clusterd's preload from `node:diagnostics_channel` for every `node:http` and `node:https` server of the app; HTTP/2 (`node:http2`) and upgrades (WebSockets) are not counted, and server-sent event streams are left out of the latency. It costs about 2,000 instructions per request, 2 % of what a "hello" worker spends on one (docs/benchmarks.md); `false` turns the counting off (`status` then shows `-`). Node.js apps only. See docs/health.md.
 */
export type RequestMetrics = boolean;
/**
 * Give the workers Node.js's module compile cache (`module.enableCompileCache`, enabled by clusterd's preload before the app loads), in the private directory clusterd's own processes use (`$XDG_CACHE_HOME/clusterd/compile-cache`, else `~/.cache/clusterd/compile-cache`, mode 0700): a worker then loads the app's modules from V8's code cache, and a TypeScript app's stripped source from the cache, instead of compiling them again. For an app run as TypeScript through Node.js's type stripping it also saves the memory of the type stripper, which a worker then never loads (about 16 MiB of RSS per worker, docs/benchmarks.md#typescript-apps); a file changed since is compiled (and stripped) again and cached. Not used when the app runs as another user (`user`) than clusterd, who could not read clusterd's private directory, or when clusterd has no cache (`NODE_DISABLE_COMPILE_CACHE`, no home directory). Node.js apps only.
 */
export type CompileCache = boolean;
/**
 * Bytes as an integer, or a string such as `"512KB"`, `"10MB"`, `"1GB"` (binary units: 1KB = 1024 bytes).
 */
export type Size = number | string;
/**
 * Opt-in: apps with the same `primaryGroup` share ONE primary process (a shared primary) instead of one each, which saves the memory of a primary per app (about 14 MiB PSS each: a Node.js process of its own). The trade-off: the apps share that primary's event loop, which is on the connection path with `round-robin`, `least-connections` and `sticky` balancing (a busy app slows the others' connections), and a fault of the shared primary (a crash, a hang, SIGKILL) restarts the workers of every app of the group. Node.js apps only (`script`, not `command`). Each app of a group needs a port of its own: node:cluster shares a port between every worker of one primary that listens on it, so two apps on the same `PORT` are refused, and two apps listening on port 0 would get one port between them. Changing it on a config reload restarts the app under its new primary. Same characters as an app's name; `null`: a primary of the app's own (the default). See docs/shared-primaries.md.
 */
export type PrimaryGroup = string | null;
/**
 * User the workers run as: a name from the user database, or a numeric uid (taken as is, for containers whose uids have no name). Needs a root supervisor unless it is the supervisor's own user. `null`: the supervisor's user. The primary stays the supervisor's user.
 */
export type User = string | number | null;
/**
 * Group the workers run as: a name from the group database or a numeric gid. Defaults to the primary group of `user` (or the supervisor's group when `user` is not set). Supplementary groups are dropped.
 */
export type Group = string | number | null;

/**
 * A clusterd configuration: the apps to run, each as a pool of node:cluster workers or of plain child processes.
 */
export interface ClusterdConfig {
  /**
   * Path or URL of this JSON Schema, for editor completion. Ignored by clusterd.
   */
  $schema?: string;
  /**
   * The apps to run. Each runs under its own primary process.
   *
   * @minItems 1
   * @maxItems 256
   */
  apps: [App, ...App[]];
  defaults?: Defaults;
  health?: Health;
}
/**
 * One app: a Node.js script run as a pool of node:cluster workers (`script`), or any other program run as plain child processes (`command`).
 */
export interface App {
  /**
   * Unique name of the app, used in logs and commands.
   */
  name: string;
  /**
   * Entry file of a Node.js app, relative to `cwd`. It must be an existing regular file; it may lie outside the config's directory (monorepos). An app has `script` or `command`, not both.
   */
  script?: string;
  /**
   * A program that is not Node.js, as its argument vector: `["python3", "-u", "serve.py"]`. Executed as given, never through a shell; the first element is found on the app's `PATH` (or is a path, relative to `cwd`) when the config loads. Its instances are plain child processes, each in its own process group; see docs/programs.md. An app has `script` or `command`, not both.
   *
   * @minItems 1
   * @maxItems 1024
   */
  command?: [Argument, ...Argument[]];
  /**
   * Arguments passed to the script (`process.argv.slice(2)`), verbatim: no shell interprets them. With `command`, the arguments are part of the command.
   *
   * @maxItems 1024
   */
  args?: Argument[];
  /**
   * Working directory of the workers, relative to the config file's directory. Defaults to that directory.
   */
  cwd?: string;
  nodeArgs?: NodeArgs;
  instances?: Instances;
  env?: Env;
  envFile?: EnvFile;
  environments?: Environments;
  restart?: Restart;
  readiness?: Readiness;
  readyTimeout?: Duration;
  readySettle?: Duration;
  shutdown?: Shutdown;
  watch?: Watch;
  reload?: Reload;
  balancing?: Balancing;
  stickyHeader?: StickyHeader;
  instanceVar?: InstanceVar;
  incrementVar?: IncrementVar;
  serialization?: Serialization;
  requestMetrics?: RequestMetrics;
  compileCache?: CompileCache;
  logs?: Logs;
  guards?: Guards;
  primary?: Primary;
  primaryGroup?: PrimaryGroup;
  user?: User;
  group?: Group;
  listen?: Listen;
}
/**
 * Environment variables for the workers, added to the supervisor's own environment. Numbers and booleans become strings; `null` removes an inherited variable.
 */
export interface Env {
  [k: string]: string | number | boolean | null;
}
/**
 * Named overlays of `env`, selected with `--env NAME`; the overlay's variables win over `env`.
 */
export interface Environments {
  [k: string]: Env;
}
/**
 * When and how fast crashed workers are restarted.
 */
export interface Restart {
  /**
   * `on-failure` restarts workers that exit with a non-zero code or a signal; `always` also restarts clean exits; `never` does not restart.
   */
  policy?: 'on-failure' | 'always' | 'never';
  backoff?: Backoff;
  /**
   * Restarts that may fail in a row; the failure of the last one puts the app in `errored` (so 10 gives up after 11 failed starts: the first start and 10 restarts). Counted per worker slot; a start fails when its worker exits before `stableAfter` or never got ready. A serving worker ended by SIGKILL (the OOM killer, an operator) is restarted at once and does not count. `clusterd validate` says when the limit is reached; see docs/reliability.md.
   */
  maxRestarts?: number;
  stableAfter?: Duration;
  /**
   * Exit codes that mean "do not restart", whatever the policy.
   *
   * @maxItems 256
   */
  noRestartExitCodes?: number[];
}
/**
 * Exponential delay before each restart: `initial` after a first failed start (or the crash of a worker that was stable), multiplied by `factor` for each further failed start in a row, capped at `max`.
 */
export interface Backoff {
  initial?: Duration;
  /**
   * Multiplier applied to the delay for each further failed start in a row.
   */
  factor?: number;
  max?: Duration;
}
export interface HTTPProbe {
  /**
   * URL asked with GET until it answers 2xx, for example `http://127.0.0.1:9000/healthz`. Only `http:` and `https:`.
   */
  http: string;
  interval?: Duration;
}
export interface CommandProbe {
  /**
   * A program run until it exits 0 (never through a shell), with the instance's `CLUSTERD_WORKER_ID` and `CLUSTERD_INSTANCE_PID` in its environment.
   *
   * @minItems 1
   * @maxItems 256
   */
  command: [Argument, ...Argument[]];
  interval?: Duration;
}
/**
 * How workers are stopped: drain (the app's `onDrain` handlers close long-lived connections over `spread`), then `signal`, then SIGKILL after `spread` + `timeout`.
 */
export interface Shutdown {
  /**
   * Signal sent to a worker to stop it.
   */
  signal?: 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';
  timeout?: Duration;
  delay?: Duration;
  spread?: Duration;
}
/**
 * Watch settings. An object turns watching on unless `enabled` is false.
 */
export interface WatchOptions {
  /**
   * Whether to watch.
   */
  enabled?: boolean;
  /**
   * Files or directories to watch, relative to the app's `cwd`.
   *
   * @minItems 1
   * @maxItems 256
   */
  paths?: [string, ...string[]];
  /**
   * Glob patterns to ignore, relative to the app's `cwd`, in addition to the built-in ones (`node_modules`, `.git`, dotfiles, `*.log`).
   *
   * @maxItems 256
   */
  ignore?: string[];
  debounce?: Duration;
  /**
   * Poll instead of using native events; only for network or container filesystems.
   */
  usePolling?: boolean;
}
/**
 * Rolling reload settings.
 */
export interface Reload {
  /**
   * Workers replaced at a time during a rolling reload.
   */
  parallel?: number;
  /**
   * `"start-first"`: each replacement starts and gets ready before the worker it replaces drains (no capacity lost). `"stop-first"`: the old worker drains and exits first, then its replacement starts: for a program that binds a fixed port itself (not a `listen` socket), which its successor could not bind while the old one holds it. Each slot then serves nothing for its stop and start time.
   */
  order?: 'start-first' | 'stop-first';
  /**
   * Judge a deploy on real traffic before it replaces every worker: the first `workers` replacements serve beside the old workers (not judged for `warmup`, then observed for `observe`) and are compared with the old workers over the same window: a crash or restart, their 5xx rate, their latency, their event-loop delay and their memory. A regression drains them and keeps the old workers (the reload fails with `CLUSTERD_ERR_CANARY_FAILED`, exit 4); a pass goes on with the rolling reload. Applies to `clusterd reload`, `clusterd up` and SIGUSR2/SIGHUP reloads (`--canary`/`--no-canary` decide for one command), never to watch-mode reloads, guard replacements or crash restarts. `true`: with the defaults below. Node.js apps with `requestMetrics` on and `order` `"start-first"` only. See [docs/reload.md](reload.md#canary-reloads).
   */
  canary?: boolean | Canary;
}
/**
 * How a canary reload judges the new release against the old one (`reload.canary`). Every check compares the canaries with the old workers over the same window; `null` turns a check off.
 */
export interface Canary {
  /**
   * Replacements that serve as canaries (at most the app's instances). Each starts beside the worker it will replace, which keeps serving until the verdict.
   */
  workers?: number;
  warmup?: Duration;
  observe?: Duration;
  /**
   * With `balancing` `"least-connections"` or `"sticky"`: the share of new connections (sticky: of client keys) the canaries get together, between 0 and 1 exclusive; `null`: their natural share (one worker's among all those serving). Round-robin and kernel balancing cannot weigh: refused there.
   */
  weight?: number | null;
  /**
   * Requests the canaries, and the old workers, must each have served in the window for their rates and latencies to be judged; fewer is too little traffic (`insufficientTraffic`).
   */
  minRequests?: number;
  /**
   * What too little traffic to judge means: `"fail"` (the old workers stay; exit 5, `CLUSTERD_ERR_CANARY_INCONCLUSIVE`) or `"pass"` (the reload goes on, judged on crashes and memory only).
   */
  insufficientTraffic?: 'fail' | 'pass';
  /**
   * How much higher the canaries' 5xx share (of their finished and aborted responses) may be than the old workers', as a fraction (0.01: one percentage point), and only when the difference is also significant at `confidence` (a one-sided two-proportion z-test); `null`: not judged.
   */
  maxErrorRateIncrease?: number | null;
  /**
   * The confidence at which a higher 5xx share must be significant to fail the canaries (a one-sided two-proportion z-test): 0.99 fails them by chance about once in a hundred deploys of an equal release at the margin.
   */
  confidence?: number;
  /**
   * The latency statistic compared: a percentile of the window's finished requests, or their mean.
   */
  latency?: 'p50' | 'p90' | 'p95' | 'p99' | 'mean';
  /**
   * How many times the old workers' `latency` the canaries' may be; `null`: not judged.
   */
  maxLatencyRatio?: number | null;
  latencySlack?: Duration;
  /**
   * How many times the old workers' p99 event-loop delay the canaries' may be, beyond `loopDelaySlack`; `null`: not judged.
   */
  maxLoopDelayRatio?: number | null;
  loopDelaySlack?: Duration;
  /**
   * How many times the old workers' median RSS a canary's may be at the end of the window; `null`: not judged.
   */
  maxRssRatio?: number | null;
}
/**
 * Where the workers' output goes besides the supervisor's own log.
 */
export interface Logs {
  /**
   * File that receives the app's output (its stdout only, when `errorFile` is set), relative to the app's `cwd`; `null` for none.
   */
  file?: string | null;
  /**
   * File that receives the app's stderr, relative to the app's `cwd`, rotated and opened like `file`; `null`: stderr goes to `file` with stdout.
   */
  errorFile?: string | null;
  /**
   * A time on each line written to `file` and `errorFile`, taken when the line began: `false` for none, `true` for ISO 8601 in UTC with milliseconds (`2025-01-31T14:05:09.042Z`), or a format in day.js tokens, as PM2's `log_date_format`, in the supervisor's time zone (`YYYY-MM-DD HH:mm:ss Z`; tokens `YYYY YY M MM MMM MMMM D DD d dd ddd dddd H HH h hh a A m mm s ss SSS Z ZZ`, `[text]` kept as it is). A pretty line starts with it, a JSON line has it as `timestamp`. clusterd's own log is not changed.
   */
  timestamp?: boolean | string;
  maxSize?: Size;
  /**
   * Rotated files kept besides the current one, for each log file.
   */
  maxFiles?: number;
}
/**
 * Replacing workers that are still alive but should not go on: one that uses too much memory, one whose event loop no longer answers, one that is old enough to recycle. Each replacement is a rolling reload of the worker's slot (its successor starts, gets ready, and only then does the old worker drain), one slot at a time per app, never a kill in the middle of a request unless the worker cannot drain. Every guard is off until it is set.
 */
export interface Guards {
  memory?: MemoryGuard;
  heartbeat?: HeartbeatGuard;
  recycle?: Recycling;
}
/**
 * A limit on each worker's resident memory (RSS, read from /proc on Linux; the app's own child processes are not counted). Over `limit`, the worker is replaced without dropping a request: its successor starts and the worker drains once the successor is ready. It is replaced earlier when, growing as it did since the last check, it would pass `limit` before a successor is ready. Over `hardLimit`, it is killed at once (SIGKILL) and its slot restarted: set it below the container's or the cgroup's limit, so that the kernel's OOM killer does not pick the worker first.
 */
export interface MemoryGuard {
  /**
   * RSS over which a worker is replaced by a rolling reload of its slot; `null`: no limit.
   */
  limit?: Size | null;
  /**
   * RSS over which a worker is killed at once (SIGKILL), draining or not; `null`: none (only `shutdown.timeout` kills a worker that does not drain). Must be greater than `limit`.
   */
  hardLimit?: Size | null;
  interval?: Duration;
}
/**
 * Each ready worker is sent a heartbeat every `interval`, answered by clusterd's preload on the worker's main thread. A worker that has not answered for `timeout` (its event loop is blocked: a runaway loop, a synchronous call that never returns) is replaced: its successor starts, then the stuck worker is killed, as it cannot drain. A stuck worker that is already draining is killed at once.
 */
export interface HeartbeatGuard {
  /**
   * How long a worker may go without answering before it is replaced; `null`: no heartbeat. A worker is replaced at most `timeout` + `interval` after its event loop stopped.
   */
  timeout?: Duration | null;
  interval?: Duration;
}
/**
 * Replacing workers on a schedule, by rolling reloads (never a hard restart): when a worker reaches `maxAge`, and every worker at each time of `cron`.
 */
export interface Recycling {
  /**
   * Age at which a worker is replaced; `null`: none.
   */
  maxAge?: Duration | null;
  /**
   * A cron pattern (5 fields, or 6 with seconds first, as croner reads them: `"0 4 * * *"` is 04:00 every day) at which every worker of the app is replaced, one at a time; `null`: none.
   */
  cron?: string | null;
  /**
   * IANA time zone the `cron` pattern is read in (`"Europe/Paris"`); `null`: the supervisor's local time.
   */
  timezone?: string | null;
  jitter?: Duration;
}
/**
 * The app's primary process, as the root watches it. The root pings each running primary every second (or twice per `hangTimeout` when that is shorter); a primary whose event loop is blocked answers no ping, and its workers get no new connection through it (round-robin, least-connections, sticky), no restart and no stop.
 */
export interface Primary {
  /**
   * How long a running primary may leave a ping unanswered before the root kills it (SIGKILL, with its workers and whatever is left in its process group) and restarts the app with its `restart` backoff and crash-loop limit; logged as `CLUSTERD_ERR_PRIMARY_HUNG` and counted in `clusterd_primary_hangs_total`. A hung primary is replaced at most `hangTimeout` + 1 s after its event loop stopped; under systemd, keep that below half of `WatchdogSec`, so that the root replaces one app's primary before systemd restarts the whole service. `null`: a hung primary is only reported (`/livez`, the systemd watchdog), never replaced.
   */
  hangTimeout?: Duration | null;
}
/**
 * With `command`: a TCP port the primary listens on itself and hands to every instance by systemd's socket activation protocol (`LISTEN_FDS=1`, the socket as file descriptor 3, `LISTEN_PID`, `LISTEN_FDNAMES`), so that all instances accept on one port and a replacement starts before its predecessor stops (gunicorn, uvicorn `--fd 3`, many Go servers). Programs only: a Node.js app listens itself.
 */
export interface Listen {
  /**
   * TCP port.
   */
  port: number;
  /**
   * Address to listen on. Default: every address, IPv4 and IPv6 (as Node.js's `listen(port)`).
   */
  host?: string;
  /**
   * The socket's name in `LISTEN_FDNAMES` (default: the app's name).
   */
  name?: string;
}
/**
 * Settings every app inherits unless it sets them itself. Objects merge key by key; arrays and scalars replace.
 */
export interface Defaults {
  nodeArgs?: NodeArgs;
  instances?: Instances;
  env?: Env;
  envFile?: EnvFile;
  environments?: Environments;
  restart?: Restart;
  readiness?: Readiness;
  readyTimeout?: Duration;
  readySettle?: Duration;
  shutdown?: Shutdown;
  watch?: Watch;
  reload?: Reload;
  balancing?: Balancing;
  stickyHeader?: StickyHeader;
  instanceVar?: InstanceVar;
  incrementVar?: IncrementVar;
  serialization?: Serialization;
  requestMetrics?: RequestMetrics;
  compileCache?: CompileCache;
  logs?: Logs;
  guards?: Guards;
  primary?: Primary;
  primaryGroup?: PrimaryGroup;
  user?: User;
  group?: Group;
}
/**
 * An HTTP server in clusterd's root process for probes and scrapes: `/livez` (the root and every running primary answer), `/readyz` (every app has enough ready workers, 503 once a stop has begun) and `/metrics` (Prometheus text: clusterd's own metrics and the apps' prom-client metrics, summed over each app's workers). Off unless this or `--health` is given.
 */
export interface Health {
  /**
   * TCP port to listen on (0: any free port, logged at start).
   */
  port: number;
  /**
   * Address to bind. The default keeps it on this machine; a container whose probes come from outside binds `0.0.0.0` (or `::`).
   */
  host?: string;
  /**
   * The share of an app's `instances` that must be ready for `/readyz` to answer 200, rounded up, at least one worker. 1 means every worker; the default lets a pool that lost a worker to a crash keep serving while it restarts.
   */
  readyShare?: number;
  /**
   * A dashboard in the browser at `/dashboard/` of this server: each app's and worker's requests per second, 5xx share, p50/p99 latency, CPU, memory and event-loop delay charted over the last minutes, the worker table, the root's events (reloads, restarts, replacements) and live logs of an app, updated by server-sent events. Everything it loads comes from this server (no CDN: it works offline and through `kubectl port-forward`), under a strict Content-Security-Policy. `true` shows it read-only; an object sets `actions` and `token`. On a `host` other than loopback (`0.0.0.0`, as for a container's probes) a `token` is required. See docs/monitoring.md#dashboard.
   */
  dashboard?: boolean | Dashboard;
}
/**
 * The health server's dashboard: whether it may act on the apps, and where its token is read.
 */
export interface Dashboard {
  /**
   * Lets a signed-in user reload, restart and scale an app from the dashboard. Requires `token`. Off by default: the dashboard only shows.
   */
  actions?: boolean;
  /**
   * Where clusterd reads the dashboard's token when it starts: `{ "env": "NAME" }` (a variable of `clusterd start`'s environment) or `{ "file": "path" }` (relative to the config's directory; a regular file owned by clusterd's user or by root, not world-readable, not writable by group or others; surrounding whitespace is trimmed). At least 16 characters. Never the token itself: a string here is refused, as the config is usually checked in. With a token, every page, stream and action of the dashboard needs a session, opened by entering the token on its sign-in page; without one (loopback only) the dashboard is open to whoever reaches the port.
   */
  token?: {
    /**
     * The environment variable that holds the token.
     */
    env?: string;
    /**
     * The file that holds the token.
     */
    file?: string;
  };
}
