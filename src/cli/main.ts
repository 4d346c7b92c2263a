// The `clusterd` command line: parses argv, dispatches to a command, maps errors to exit codes.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_TIMER_MS, parseDuration } from '../config/units.js';
import type { Command } from '../control/protocol.js';
import { isWaitingCommand, WAITING_COMMANDS } from '../control/timeouts.js';
import { ClusterdError, ConfigError, ErrorCode, ExitCode } from '../errors.js';
import { parseHealthFlag } from '../health/flag.js';
import { formatIssues } from './format.js';
import { type Io, processIo } from './io.js';
import { escapeText } from './terminal-text.js';

export type { Io };

export const USAGE = `Usage: clusterd <command> [options]

Run:
  start [config] [--env NAME] [--watch] [--watch-config] [--log-format json|pretty] [--detach]
        [--health [HOST:]PORT]
                            Run every app, in the foreground (SIGINT/SIGTERM stop gracefully, twice: at
                            once; SIGUSR2 reloads every app; SIGHUP re-reads the config), or with
                            --detach in the background, returning once every app is ready; --health
                            serves /livez, /readyz and /metrics (default host 127.0.0.1)
  validate [config] [--env NAME] [--json]
                            Check a config and print what it resolves to
  schema                    Print the config's JSON Schema
  up [config] [--env NAME] [--timeout DURATION] [--json]
                            Deploy: start clusterd in the background if none runs for the config, else
                            apply the config file's changes and reload every app they did not roll or
                            restart (new code on disk); waits, prints what changed, non-zero if an app
                            did not end ready (a failed reload rolls back: the old workers keep serving)
  export systemd [config] [--env NAME] [--name UNIT] [-o FILE [--force]]
                            Print a systemd service unit for the config (Type=notify, watchdog,
                            reload, stop timeout from its shutdown settings), or write it to FILE
  export kubernetes [config] --image IMAGE [--env NAME] [--name NAME] [--namespace NS]
        [--replicas N] [--cpus N] [--workdir DIR] [--health-port PORT] [-o FILE [--force]]
                            Print a Deployment and a Service for the config (probes on the health
                            server, grace period from its shutdown settings, instances "max" as --cpus);
                            run it from the project directory the image holds at --workdir (/app)

Set up:
  init [dir] [--format json|yaml|ts] [--name NAME] [--script FILE] [--force]
                            Write a starter config for the project in dir (default: here): the app
                            named and started as package.json says (its start script when that runs
                            a Node.js file, else main), as cluster.config.<format> (json by default;
                            yaml and ts explain each key in comments); never over an existing config
                            without --force

Migrate:
  import pm2 <file> [--format json|yaml|ts] [-o FILE|-] [--force] [--cwd DIR]
                            Write a clusterd config from a PM2 ecosystem file (.js, .cjs, .mjs, .json,
                            .json5, .yaml, .yml), as cluster.config.<format> in the project root (the
                            nearest directory with a package.json at or above the file, or --cwd DIR:
                            where pm2 start ran, which PM2 took relative paths from), or FILE, or on
                            stdout with -o -; stderr gets a table of what became of each PM2 option.
                            Reading a .js file runs it, as PM2 does (so does a .json file that is not
                            strict JSON, which PM2 evaluates as JavaScript): import only files you trust

Control a running clusterd (the one for the config in this directory, or --config PATH):
  status [--json]           Apps and workers: pid, state, restarts, uptime, CPU, memory, script
  reload [app]              Rolling reload; waits, and fails if a new worker does not get ready
  restart [app]             Hard restart: stop all workers, start new ones; waits until they serve
  scale <app> <N|+N|-N>     Run N workers; waits until new ones serve or old ones have stopped
  stop [app]                Stop one app (the others keep running), or everything
  start <app>               Start an app stopped with clusterd stop <app>; waits until it serves
                            These five wait at most --timeout DURATION (30s, 2m; by default a bound
                            derived from the app's readyTimeout, reload.parallel and shutdown.timeout)
  shutdown                  Stop everything
  logs [app] [--lines N] [--follow|-f]
                            Recent output, then (with --follow) live output
  events [app] [--json]     The supervisor's events (workers, apps, reloads, guards) as they happen

[config] is a config file or a directory to search; by default the working directory is searched for
cluster.config.{json,yaml,yml,js,mjs,cjs,ts,mts,cts}, .clusterdrc*, or package.json#clusterd.

Exit codes: 0 ok, 1 failure (also: no clusterd running), 2 import pm2 wrote the config but left something
out, 3 an app errored and nothing is left running, 64 usage error, 66 no config found, 78 invalid config,
128+N stopped immediately by a second signal N.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usageError(message: string): ClusterdError {
  return new ClusterdError(ErrorCode.USAGE, `${message}\nRun "clusterd help" for usage.`, ExitCode.USAGE);
}

// `--timeout 30s`: a duration with its unit (a bare number would be ambiguous between s and ms).
function parseTimeout(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw usageError(`--timeout must be a duration such as 30s, 2m or 500ms, got "${value}"`);
  }
  if (ms < 1 || ms > MAX_TIMER_MS)
    throw usageError(`--timeout must be between 1ms and 24 days, got "${value}"`);
  return ms;
}

function parse(argv: string[]) {
  // `scale web -1`: a negative count is an argument, not an option.
  const negative = argv.findIndex((a) => /^-\d+$/.test(a));
  const args =
    negative === -1 || argv.includes('--')
      ? argv
      : [...argv.slice(0, negative), '--', ...argv.slice(negative)];
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        env: { type: 'string' },
        json: { type: 'boolean' },
        'log-format': { type: 'string' },
        watch: { type: 'boolean' },
        'watch-config': { type: 'boolean' },
        detach: { type: 'boolean' },
        'log-file': { type: 'string' },
        health: { type: 'string' },
        config: { type: 'string' },
        lines: { type: 'string' },
        timeout: { type: 'string' },
        follow: { type: 'boolean', short: 'f' },
        name: { type: 'string' },
        output: { type: 'string', short: 'o' },
        force: { type: 'boolean' },
        format: { type: 'string' },
        script: { type: 'string' },
        image: { type: 'string' },
        namespace: { type: 'string' },
        replicas: { type: 'string' },
        cpus: { type: 'string' },
        workdir: { type: 'string' },
        'health-port': { type: 'string' },
        cwd: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  const timeout = values.timeout === undefined ? undefined : parseTimeout(values.timeout);
  if (timeout !== undefined && !isWaitingCommand(command ?? ''))
    throw usageError(
      `--timeout applies to ${Object.keys(WAITING_COMMANDS).join(', ')}, not to ${command ?? 'no command'}`,
    );
  const control = async (request: Command) => {
    if (timeout !== undefined && isWaitingCommand(request.cmd)) Object.assign(request, { timeout });
    const { controlCommand } = await import('./commands/control.js');
    return controlCommand(request, { config: values.config, json: values.json ?? false }, io);
  };
  if (values.version || command === 'version') {
    io.stdout(`${version()}\n`);
    return ExitCode.OK;
  }
  if (values.help || command === 'help' || command === undefined) {
    io.stdout(USAGE);
    return command === undefined && !values.help ? ExitCode.USAGE : ExitCode.OK;
  }
  switch (command) {
    case 'start': {
      if (rest.length > 1) throw usageError(`start takes one config path or app name, got ${rest.length}`);
      const [target] = rest;
      // `clusterd start <app>` starts an app of the running clusterd; a path starts a clusterd.
      if (target !== undefined && !existsSync(resolve(target))) return control({ cmd: 'start', app: target });
      if (timeout !== undefined)
        throw usageError('--timeout applies to start <app>, not to starting clusterd');
      const health = values.health === undefined ? undefined : parseHealthFlag(values.health);
      if (typeof health === 'string') throw usageError(health);
      if (values.detach) {
        const { detachCommand } = await import('./commands/detach.js');
        return detachCommand(
          {
            path: target,
            environment: values.env,
            watch: values.watch ?? false,
            watchConfig: values['watch-config'] ?? false,
            ...(values.health === undefined ? {} : { health: values.health }),
          },
          io,
        );
      }
      const { startCommand } = await import('./commands/start.js');
      return startCommand({
        path: target,
        environment: values.env,
        logFormat: values['log-format'],
        watch: values.watch ?? false,
        watchConfig: values['watch-config'] ?? false,
        logFile: values['log-file'],
        ...(health ? { health } : {}),
      });
    }
    case 'status':
    case 'shutdown':
      if (rest.length) throw usageError(`${command} takes no arguments`);
      return control({ cmd: command });
    case 'reload':
    case 'restart':
    case 'stop':
      if (rest.length > 1) throw usageError(`${command} takes at most one app name`);
      if (command === 'stop' && rest[0] === undefined && timeout !== undefined)
        throw usageError('--timeout applies to stop <app>; stopping everything answers at once');
      return control(rest[0] === undefined ? { cmd: command } : { cmd: command, app: rest[0] });
    case 'scale': {
      const [app, instances] = rest;
      if (rest.length !== 2 || app === undefined || instances === undefined)
        throw usageError('usage: clusterd scale <app> <N|+N|-N>');
      return control({ cmd: 'scale', app, instances });
    }
    case 'up': {
      if (rest.length > 1) throw usageError(`up takes one config path, got ${rest.length}`);
      if (rest[0] !== undefined && values.config !== undefined)
        throw usageError('up takes the config as an argument or as --config, not both');
      const { upCommand } = await import('./commands/up.js');
      return upCommand(
        { path: rest[0] ?? values.config, environment: values.env, timeout, json: values.json ?? false },
        io,
      );
    }
    case 'events':
      if (rest.length > 1) throw usageError('events takes at most one app name');
      return control(rest[0] === undefined ? { cmd: 'events' } : { cmd: 'events', app: rest[0] });
    case 'logs': {
      if (rest.length > 1) throw usageError('logs takes at most one app name');
      const lines = values.lines === undefined ? 50 : Number(values.lines);
      if (!Number.isInteger(lines) || lines < 0)
        throw usageError(`--lines must be a whole number, got "${values.lines}"`);
      return control({
        cmd: 'logs',
        lines,
        follow: values.follow ?? false,
        ...(rest[0] === undefined ? {} : { app: rest[0] }),
      });
    }
    case 'validate': {
      if (rest.length > 1) throw usageError(`validate takes one config path, got ${rest.length}`);
      // Commands load on demand: `--version` and `help` stay as fast as a bare Node.js start.
      const { validateCommand } = await import('./commands/validate.js');
      return validateCommand({ path: rest[0], environment: values.env, json: values.json ?? false }, io);
    }
    case 'export': {
      const [target, path, ...more] = rest;
      if (target === undefined)
        throw usageError('export needs a target: clusterd export systemd|kubernetes [config]');
      if (target !== 'systemd' && target !== 'kubernetes')
        throw usageError(`unknown export target "${target}" (targets: systemd, kubernetes)`);
      if (more.length) throw usageError(`export ${target} takes one config path, got ${rest.length - 1}`);
      if (target === 'kubernetes') {
        const { exportKubernetesCommand } = await import('./commands/export-kubernetes.js');
        return exportKubernetesCommand(
          {
            path,
            environment: values.env,
            image: values.image,
            name: values.name,
            namespace: values.namespace,
            replicas: values.replicas,
            cpus: values.cpus,
            workdir: values.workdir,
            healthPort: values['health-port'],
            output: values.output,
            force: values.force ?? false,
          },
          io,
        );
      }
      const { exportSystemdCommand } = await import('./commands/export-systemd.js');
      return exportSystemdCommand(
        {
          path,
          environment: values.env,
          name: values.name,
          output: values.output,
          force: values.force ?? false,
        },
        io,
      );
    }
    case 'import': {
      const [source, file, ...more] = rest;
      if (source !== 'pm2')
        throw usageError(
          source === undefined
            ? 'import needs a source: clusterd import pm2 <file>'
            : `unknown import source "${source}" (sources: pm2)`,
        );
      if (file === undefined) throw usageError('usage: clusterd import pm2 <ecosystem file>');
      if (more.length) throw usageError(`import pm2 takes one ecosystem file, got ${rest.length - 1}`);
      if (values.env !== undefined)
        throw usageError(
          'import pm2 takes no --env: each env_<name> becomes environments.<name>, chosen with clusterd start --env <name>',
        );
      const { importPm2Command } = await import('./commands/import-pm2.js');
      return importPm2Command(
        {
          file,
          format: values.format,
          output: values.output,
          force: values.force ?? false,
          cwd: values.cwd,
        },
        io,
      );
    }
    case 'init': {
      if (rest.length > 1) throw usageError(`init takes one project directory, got ${rest.length}`);
      const other = Object.keys(values).find((key) => !['format', 'name', 'script', 'force'].includes(key));
      if (other !== undefined) throw usageError(`init takes no --${other}`);
      const { initCommand } = await import('./commands/init.js');
      return initCommand(
        {
          dir: rest[0],
          format: values.format,
          name: values.name,
          script: values.script,
          force: values.force ?? false,
        },
        io,
      );
    }
    case 'schema':
      if (rest.length) throw usageError('schema takes no arguments');
      return (await import('./commands/schema.js')).schemaCommand(io);
    default:
      throw usageError(`unknown command "${command}"`);
  }
}

/** Runs the CLI; resolves to the exit code. User mistakes print a message, never a stack trace. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(escapeText(formatIssues(error.issues)));
      return error.exitCode;
    }
    if (error instanceof ClusterdError) {
      // The message may carry what a running clusterd answered (an app name, an error): escaped, always.
      io.stderr(escapeText(`clusterd: ${error.message}\n`));
      return error.exitCode;
    }
    io.stderr(
      escapeText(
        `clusterd: internal error, please report it:\n${(error as Error)?.stack ?? String(error)}\n`,
      ),
    );
    return ExitCode.INTERNAL;
  }
}
