import { resolve } from 'node:path';
import { flushCompileCache } from '../../compile-cache.js';
import { loadConfig } from '../../config/index.js';
import { runtimeDir, socketPath } from '../../control/paths.js';
import { ControlServer } from '../../control/server.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../../errors.js';
import { healthSettings } from '../../health/flag.js';
import type { HealthServer } from '../../health/server.js';
import { LogEvents } from '../../log/events.js';
import { reportLogFile } from '../../log/faults.js';
import { openLogFile } from '../../log/file.js';
import { createLogger, defaultLogFormat, stderrLogger } from '../../log/logger.js';
import type { LogFormat } from '../../protocol.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { capYoungGeneration } from '../../supervisor/young-generation.js';
import { takeNotifyEnv } from '../../systemd/notify.js';
import { notifySystemd } from '../../systemd/wire.js';

export interface StartOptions {
  path: string | undefined;
  environment: string | undefined;
  logFormat: string | undefined;
  /** Watch every app's files, whatever the config says. */
  watch?: boolean;
  /** Re-read the config file whenever it changes, as on SIGHUP. */
  watchConfig?: boolean;
  /** Write all output to this file (rotated at 10 MiB, 5 kept) instead of stdout/stderr. */
  logFile?: string | undefined;
  /** `--health [host:]port`: the health server's address, over the config's. */
  health?: { host?: string; port: number };
}

// `--watch-config`: the config file's changes trigger what SIGHUP does. chokidar loads only when asked.
async function watchConfigFile(file: string, onChange: () => void): Promise<() => Promise<void>> {
  const { watch } = await import('chokidar');
  const watcher = watch(file, { ignoreInitial: true });
  let timer: NodeJS.Timeout | null = null;
  watcher.on('all', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  return async () => {
    if (timer) clearTimeout(timer);
    await watcher.close();
  };
}

function logFormat(value: string | undefined): LogFormat {
  if (value === undefined) return defaultLogFormat();
  if (value === 'json' || value === 'pretty') return value;
  throw new ClusterdError(
    ErrorCode.USAGE,
    `--log-format must be json or pretty, got "${value}"`,
    ExitCode.USAGE,
  );
}

/** `clusterd start`: runs every app in the foreground until a signal stops it or nothing is left. */
export async function startCommand(options: StartOptions): Promise<number> {
  const format = logFormat(options.logFormat);
  // This process is the root from here on: a young generation that would grow and stay (issue 33's soak).
  capYoungGeneration();
  // Read and removed before anything forks: only the root talks to systemd (docs/deploy.md#systemd).
  const notifyEnv = takeNotifyEnv(process.env, process.pid);
  const config = await loadConfig({
    ...(options.path === undefined ? {} : { path: options.path }),
    environment: options.environment ?? null,
  });
  // A reader of our output that goes away (a closed pipe, EPIPE) must not take the supervisor down: the
  // apps keep running and their output is dropped (log/relay.ts).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  // Problems with our own log file cannot be logged into it: they go to stderr, and to `status`.
  const file = options.logFile
    ? openLogFile(resolve(options.logFile), 10 * 1024 * 1024, 5, (report) =>
        reportLogFile(stderrLogger(), report),
      )
    : null;
  const output = file ? { out: file, err: file } : { out: process.stdout, err: process.stderr };
  // What the logger writes is also what `clusterd events` streams (log/events.ts).
  const events = new LogEvents();
  const log = await createLogger(format, output.out, events);
  // The last resort for a fault outside every app's containment (docs/architecture.md, "Decisions"): what
  // is left there holds no app's state, so the apps keep serving rather than all going down with it.
  const lastResort = (error: unknown) =>
    log.error(
      { code: ErrorCode.INTERNAL, err: error },
      `internal error: ${errorMessage(error)}; the apps keep running`,
    );
  // As a container's PID 1, the orphans of the tree are re-parented to us, and Node reaps only its own
  // children: the workers of a primary that was SIGKILLed would stay zombies (docs/deploy.md).
  if (process.pid === 1)
    log.warn(
      'clusterd runs as PID 1: processes re-parented to it (the workers of a primary that was killed) stay zombies until it exits; run it under an init: docker run --init, tini, or shareProcessNamespace in Kubernetes',
    );
  process.on('uncaughtException', lastResort);
  process.on('unhandledRejection', lastResort);
  const health = healthSettings(config.health, options.health);
  // Loaded only when asked for: prom-client alone adds ~40 ms to every start.
  const served = health
    ? await Promise.all([
        import('../../health/metrics.js'),
        import('../../health/server.js'),
        import('../../health/source.js'),
      ])
    : null;
  const metrics = served ? new served[0].Metrics() : null;
  // The dashboard's code loads only when the config asks for it (docs/monitoring.md#dashboard).
  const dashboardModule = health?.dashboard ? await import('../../health/dashboard/dashboard.js') : null;
  const supervisor = new Supervisor(config, log, format, {
    watchAll: options.watch ?? false,
    output,
    ...(metrics ? { observer: metrics } : {}),
  });
  const control = await ControlServer.listen(
    socketPath(config.file),
    supervisor,
    log,
    events,
    runtimeDir().from,
  );
  let healthServer: HealthServer | null = null;
  if (health && served && metrics) {
    try {
      // Refused (EX_CONFIG) before anything starts: no token where one is needed, or one not readable.
      const dashboard = dashboardModule?.Dashboard.create(health, {
        supervisor,
        events,
        log,
        env: process.env,
      });
      healthServer = await served[1].HealthServer.listen(
        health,
        served[2].healthSource(supervisor, health.readyShare),
        metrics,
        log,
        dashboard ?? null,
      );
    } catch (error) {
      // Nothing has started yet: it ends here, with the reason.
      await control.close();
      file?.end();
      process.off('uncaughtException', lastResort);
      process.off('unhandledRejection', lastResort);
      throw error;
    }
  }
  const systemd = notifySystemd(notifyEnv, supervisor, log);

  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal }, `${signal}: stopping gracefully (send it again to stop immediately)`);
      supervisor.stop(signal);
    } else {
      log.warn({ signal }, `${signal} again: stopping immediately`);
      supervisor.kill(signal);
    }
  };
  const onReload = (signal: NodeJS.Signals) => {
    log.info({ signal }, `${signal}: rolling reload of every app`);
    supervisor.reload();
  };
  const onConfig = (signal: NodeJS.Signals | 'change') => {
    log.info(
      { signal },
      signal === 'change' ? 'config file changed: reloading it' : `${signal}: reloading the config`,
    );
    void supervisor.reloadConfig();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onConfig);
  const unwatch = options.watchConfig ? await watchConfigFile(config.file, () => onConfig('change')) : null;
  process.on('SIGUSR2', onReload);

  log.info(
    {
      config: config.file,
      environment: config.environment,
      apps: config.apps.map((a) => a.name),
      socket: control.path,
      ...(healthServer ? { health: healthServer.address } : {}),
    },
    `clusterd started (pid ${process.pid}): ${config.apps.map((a) => `${a.name} x${a.instances}`).join(', ')}${healthServer ? `; health on http://${healthServer.address} (/livez, /readyz, /metrics${health?.dashboard ? ', /dashboard/' : ''})` : ''}`,
  );
  // What the root compiled to get here goes to the compile cache now, not only at a clean exit.
  setImmediate(flushCompileCache);
  try {
    const code = await supervisor.run();
    log.info({ exitCode: code }, 'clusterd stopped');
    return code;
  } finally {
    await unwatch?.();
    await healthServer?.close();
    await control.close();
    await systemd?.close();
    file?.end();
    process.off('uncaughtException', lastResort);
    process.off('unhandledRejection', lastResort);
    for (const [signal, handler] of [
      ['SIGINT', onStop],
      ['SIGTERM', onStop],
      ['SIGHUP', onConfig],
      ['SIGUSR2', onReload],
    ] as const) {
      process.off(signal, handler);
    }
  }
}
