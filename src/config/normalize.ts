// Raw (validated) config -> ResolvedConfig: inheritance from `defaults`, units, paths, env for one
// environment, and the checks that need resolved values (timer limits, argument space); the checks of
// names and paths alone are preflight.ts's.
import { dirname, resolve } from 'node:path';
import { ErrorCode } from '../errors.js';
import { readProblem } from '../primary/process/access.js';
import { resolveBalancing } from './balancing.js';
import { BUILTIN_CANARY, reloadLayer, resolveCanary } from './canary.js';
import { availableCpus } from './cpus.js';
import { dashboardRefusal, resolveDashboard } from './dashboard.js';
import { BUILTIN_DEFAULTS, BUILTIN_WATCH_IGNORES, HEALTH_DEFAULTS } from './defaults.js';
import { clip } from './display.js';
import { envFilePaths } from './env-file.js';
import { type GuardSettings, resolveGuards } from './guards.js';
import { appCwd, isPlain, type Plain, preflightIssues } from './preflight.js';
import { groupPortClashes, groupRefusal } from './primary-group.js';
import { appKind, type Runnable, runnable, settleWithinTimeout } from './program.js';
import type { ResolvedApp, ResolvedConfig, ResolvedRestart, ResolvedRunAs, StopSignal } from './resolved.js';
import {
  type Accounts,
  currentSupervisor,
  memoized,
  resolveRunAs,
  type Supervisor,
  systemAccounts,
} from './run-as.js';
import type { SchemaIssue } from './schema-issues.js';
import { resolveSlotVars } from './slot-vars.js';
import type {
  App,
  Backoff,
  Canary,
  ClusterdConfig,
  Defaults,
  Env,
  Logs,
  Primary,
  Reload,
  Restart,
  Shutdown,
  Watch,
  WatchOptions,
} from './types.generated.js';
import { formatDuration, MAX_TIMER_MS, parseDuration, parseSize } from './units.js';

export interface NormalizeOptions {
  /** Absolute path of the config file; relative paths resolve against its directory. */
  file: string;
  /** The `--env` to merge, or null. */
  environment?: string | null;
  /** CPUs `"max"` stands for (default: availableCpus()). */
  cpus?: () => number;
  platform?: NodeJS.Platform;
  /** The user and group databases `user` and `group` are looked up in (default: the system's). */
  accounts?: Accounts;
  /** Who the supervisor runs as (default: this process; null where there are no uids). */
  supervisor?: Supervisor | null;
  /** Why a program's executable cannot be run, or null (default: the file system's answer). */
  runnable?: Runnable;
  /** The supervisor's PATH, where a program's command is looked up (default: this process's). */
  path?: string;
}

function merge(...layers: unknown[]): unknown {
  let out: unknown;
  for (const layer of layers) {
    if (layer === undefined) continue;
    out = isPlain(out) && isPlain(layer) ? mergeObjects(out, layer) : layer;
  }
  return out;
}

// Own keys only, and defined rather than assigned: a "__proto__" key stays plain data and an inherited
// `constructor` is never taken for a setting.
function mergeObjects(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const value = merge(Object.hasOwn(a, k) ? a[k] : undefined, v);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// `watch: true` and `watch: { ... }` both switch watching on; as layers they are objects.
const watchLayer = (w: Watch | undefined) =>
  w === undefined ? undefined : typeof w === 'boolean' ? { enabled: w } : { enabled: true, ...w };

function get(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) v = isPlain(v) ? v[key] : undefined;
  return v;
}

// An app's settings after inheritance: every key present.
type Settings = Required<
  Omit<Defaults, 'restart' | 'shutdown' | 'watch' | 'reload' | 'logs' | 'guards' | 'primary'>
> & {
  restart: Required<Restart> & { backoff: Required<Backoff> };
  shutdown: Required<Shutdown>;
  watch: Required<WatchOptions>;
  reload: Required<Omit<Reload, 'canary'>> & { canary: Required<Canary> & { enabled: boolean } };
  logs: Required<Logs>;
  guards: GuardSettings;
  primary: Required<Primary>;
};

class AppNormalizer {
  readonly issues: SchemaIssue[] = [];
  private readonly settings: Settings;

  constructor(
    private readonly raw: ClusterdConfig,
    private readonly index: number,
    private readonly options: Required<NormalizeOptions>,
  ) {
    const app = raw.apps[index] as App;
    const defaults: Defaults = raw.defaults ?? {};
    this.settings = merge(
      { ...BUILTIN_DEFAULTS, reload: { ...BUILTIN_DEFAULTS.reload, canary: BUILTIN_CANARY } },
      { ...defaults, watch: watchLayer(defaults.watch), reload: reloadLayer(defaults.reload) },
      { ...app, watch: watchLayer(app.watch), reload: reloadLayer(app.reload) },
    ) as Settings;
  }

  private get app(): App {
    return this.raw.apps[this.index] as App;
  }

  // The pointer of the layer a setting came from: the app, then `defaults`; built-ins have none.
  private origin(path: string[]): string {
    const own = path[0] === 'watch' ? watchLayer(this.app.watch) : this.app;
    const inherited = path[0] === 'watch' ? watchLayer(this.raw.defaults?.watch) : this.raw.defaults;
    if (get(own, path) !== undefined) return `/apps/${this.index}/${path.join('/')}`;
    if (get(inherited, path) !== undefined) return `/defaults/${path.join('/')}`;
    return `/apps/${this.index}`;
  }

  private report(code: SchemaIssue['code'], pointer: string, message: string, hint?: string) {
    this.issues.push({ code, pointer, message, ...(hint ? { hint } : {}) });
  }

  private duration(path: string[], { positive = false } = {}): number {
    const ms = parseDuration(get(this.settings, path) as number | string);
    if (ms > MAX_TIMER_MS) {
      this.report(
        ErrorCode.CONFIG_RANGE,
        this.origin(path),
        `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay a Node.js timer honours`,
      );
    } else if (positive && ms === 0) {
      this.report(ErrorCode.CONFIG_RANGE, this.origin(path), 'must be greater than 0');
    }
    return ms;
  }

  private restart(): ResolvedRestart {
    const r = this.settings.restart;
    const backoff = {
      initial: this.duration(['restart', 'backoff', 'initial']),
      factor: r.backoff.factor,
      max: this.duration(['restart', 'backoff', 'max']),
    };
    if (backoff.initial > backoff.max) {
      this.report(
        ErrorCode.CONFIG_RANGE,
        this.origin(['restart', 'backoff', 'initial']),
        `must not exceed restart.backoff.max (${formatDuration(backoff.initial)} > ${formatDuration(backoff.max)})`,
      );
    }
    return {
      policy: r.policy,
      backoff,
      maxRestarts: r.maxRestarts + 0, // -0 is 0
      stableAfter: this.duration(['restart', 'stableAfter']),
      noRestartExitCodes: r.noRestartExitCodes,
    };
  }

  private env(): Record<string, string | null> {
    const { environment } = this.options;
    const environments = this.settings.environments as Record<string, Env>;
    const overlay: Env =
      environment !== null && Object.hasOwn(environments, environment)
        ? (environments[environment] ?? {})
        : {};
    const merged = Object.entries({ ...(this.settings.env as Env), ...overlay });
    return Object.fromEntries(merged.map(([key, value]) => [key, value === null ? null : String(value)]));
  }

  private size(path: string[]): number {
    const bytes = parseSize(get(this.settings, path) as number | string);
    if (bytes > Number.MAX_SAFE_INTEGER) {
      this.report(
        ErrorCode.CONFIG_RANGE,
        this.origin(path),
        `must be at most ${Number.MAX_SAFE_INTEGER} bytes (8 PiB)`,
      );
    }
    return bytes;
  }

  // The kernel refuses to start a process whose arguments and environment together pass ARG_MAX (2 MiB
  // on Linux, counting the supervisor's own environment too): each value is bounded by the schema, their
  // total is checked here, with room left for what the workers inherit.
  private argumentSpace(args: readonly string[], env: Record<string, string | null>): void {
    let bytes = 0;
    for (const arg of [...args, ...this.settings.nodeArgs]) bytes += Buffer.byteLength(arg) + 1;
    for (const [key, value] of Object.entries(env)) {
      if (value !== null) bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + 2;
    }
    if (bytes > MAX_ARGUMENT_BYTES) {
      this.report(
        ErrorCode.CONFIG_RANGE,
        `/apps/${this.index}`,
        `args, nodeArgs and env take ${bytes} bytes together; a process can be started with at most ${MAX_ARGUMENT_BYTES}`,
        'pass large data in a file instead',
      );
    }
  }

  resolve(): ResolvedApp {
    const app = this.resolveApp();
    settleWithinTimeout(app, this.origin(['readySettle']), (...issue) => this.report(...issue));
    return app;
  }

  private resolveApp(): ResolvedApp {
    const s = this.settings;
    const cwd = appCwd(this.options.file, this.app);
    const env = this.env();
    this.argumentSpace(this.app.args ?? [], env);
    const envFiles = envFilePaths(s.envFile, cwd);
    const runAs = resolveRunAs(s, {
      accounts: this.options.accounts,
      supervisor: this.options.supervisor,
      origin: (key) => this.origin([key]),
      report: (...issue) => this.report(...issue),
    });
    this.envFilesReadable(envFiles, runAs);
    const kind = appKind(this.app, this.index, {
      cwd,
      env,
      runAs,
      readiness: s.readiness,
      path: this.options.path,
      runnable: this.options.runnable,
      platform: this.options.platform,
      origin: (path) => this.origin(path),
      duration: (path, options) => this.duration(path, options),
      report: (...issue) => this.report(...issue),
    });
    const instances = kind.instances ?? s.instances;
    const count = instances === 'max' ? this.options.cpus() : instances;
    return {
      name: this.app.name,
      program: kind.program,
      script: kind.script,
      args: kind.args,
      nodeArgs: kind.program ? [] : s.nodeArgs,
      cwd,
      instances: count,
      env,
      envFiles,
      restart: this.restart(),
      readiness: kind.readiness,
      probe: kind.probe,
      readyTimeout: this.duration(['readyTimeout'], { positive: true }),
      readySettle: this.duration(['readySettle']),
      shutdown: {
        signal: s.shutdown.signal as StopSignal,
        timeout: this.duration(['shutdown', 'timeout']),
        delay: this.duration(['shutdown', 'delay']),
        spread: this.duration(['shutdown', 'spread']),
      },
      watch: {
        enabled: s.watch.enabled,
        paths: s.watch.paths.map((p) => resolve(cwd, p)),
        ignore: [...BUILTIN_WATCH_IGNORES, ...s.watch.ignore],
        debounce: this.duration(['watch', 'debounce']),
        usePolling: s.watch.usePolling,
      },
      reload: {
        parallel: s.reload.parallel,
        order: s.reload.order,
        canary: resolveCanary(
          s.reload.canary,
          {
            program: kind.program !== null,
            order: s.reload.order,
            balancing: s.balancing,
            requestMetrics: s.requestMetrics,
          },
          {
            duration: (path, options) => this.duration(path, options),
            origin: (path) => this.origin(path),
            report: (...issue) => this.report(...issue),
          },
        ),
      },
      ...resolveSlotVars(s, {
        index: this.index,
        env,
        envFiles,
        instances: count,
        own: (key) => this.app[key] !== undefined,
        origin: (key) => this.origin([key]),
        report: (...issue) => this.report(...issue),
      }),
      serialization: s.serialization,
      // A program has no preload to count its requests (from `defaults`: ignored, as for the others).
      requestMetrics: kind.program ? false : s.requestMetrics,
      compileCache: kind.program ? false : s.compileCache,
      // A program's instances accept connections themselves: node:cluster's balancing is not theirs.
      ...(kind.program
        ? { balancing: 'round-robin' as const, stickyHeader: null }
        : resolveBalancing(s, {
            platform: this.options.platform,
            origin: (key) => this.origin([key]),
            report: (...issue) => this.report(...issue),
          })),
      logs: {
        file: s.logs.file === null ? null : resolve(cwd, s.logs.file),
        errorFile: s.logs.errorFile === null ? null : resolve(cwd, s.logs.errorFile),
        timestamp: s.logs.timestamp,
        maxSize: this.size(['logs', 'maxSize']),
        maxFiles: s.logs.maxFiles,
      },
      // The heartbeat guard is answered inside a Node.js worker: a program has none (from `defaults`).
      guards: resolveGuards(
        kind.program ? { ...s.guards, heartbeat: { ...s.guards.heartbeat, timeout: null } } : s.guards,
        {
          duration: (path, options) => this.duration(path, options),
          size: (path) => this.size(path),
          origin: (path) => this.origin(path),
          report: (...issue) => this.report(...issue),
        },
      ),
      primary: {
        hangTimeout:
          s.primary.hangTimeout === null
            ? null
            : this.duration(['primary', 'hangTimeout'], { positive: true }),
      },
      primaryGroup: this.primaryGroup(s.primaryGroup, kind.program !== null),
      runAs,
    };
  }

  private primaryGroup(group: string | null, program: boolean): string | null {
    const refusal = groupRefusal(this.app.name, group, program);
    if (refusal === null) return group;
    const own = this.app.primaryGroup !== undefined;
    this.report(
      ErrorCode.CONFIG_UNSUPPORTED,
      this.origin(['primaryGroup']),
      own ? refusal : `${refusal} (from defaults)`,
      own ? 'remove primaryGroup from this app' : 'set "primaryGroup": null on this app',
    );
    return null;
  }

  // With `user`, the supervisor reads the env files for workers that run as someone else: each must be
  // one that user could read itself (preflight.ts has checked they exist).
  private envFilesReadable(envFiles: readonly string[], runAs: ResolvedRunAs | null): void {
    if (!runAs || runAs.uid === this.options.supervisor?.uid) return;
    for (const file of envFiles) {
      const problem = readProblem(file, runAs);
      if (problem)
        this.report(
          ErrorCode.CONFIG_ENV_FILE,
          this.origin(['envFile']),
          `the workers' user must be able to read the env file ${clip(file)}: ${problem}`,
          'make it readable by that user (chown or chmod); clusterd will not pass on a file its workers could not read',
        );
    }
  }
}

/** Bytes of args, nodeArgs and env an app may use: half of Linux's ARG_MAX. */
export const MAX_ARGUMENT_BYTES = 1024 * 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Resolves a schema-valid config; `config` is set only when there are no issues. */
export function normalizeConfig(
  raw: ClusterdConfig,
  options: NormalizeOptions,
): { config?: ResolvedConfig; issues: SchemaIssue[] } {
  const opts: Required<NormalizeOptions> = {
    environment: null,
    cpus: availableCpus,
    platform: process.platform,
    accounts: systemAccounts,
    supervisor: currentSupervisor(),
    runnable: runnable,
    path: process.env.PATH ?? '',
    ...options,
  };
  opts.accounts = memoized(opts.accounts);
  const issues = preflightIssues(raw, opts);
  const apps = raw.apps.map((_, i) => {
    const n = new AppNormalizer(raw, i, opts);
    const app = n.resolve();
    issues.push(...n.issues);
    return app;
  });
  const health = raw.health
    ? {
        ...HEALTH_DEFAULTS,
        ...raw.health,
        dashboard: resolveDashboard(raw.health.dashboard, dirname(opts.file)),
      }
    : null;
  issues.push(...groupPortClashes(apps));
  const refusal = health && dashboardRefusal(health.host, health.dashboard);
  if (refusal) issues.push(refusal);
  // A bad value in `defaults` is reported once, not once per app that inherits it.
  const unique = [...new Map(issues.map((i) => [`${i.code} ${i.pointer}`, i])).values()];
  if (unique.length) return { issues: unique };
  return {
    config: deepFreeze({ file: opts.file, environment: opts.environment, apps, health }),
    issues: [],
  };
}
