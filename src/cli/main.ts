// The `clusterd` command line: parses argv, dispatches to a command, maps errors to exit codes.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_TIMER_MS, parseDuration } from '../config/units.js';
import type { Command } from '../control/protocol.js';
import { isWaitingCommand } from '../control/timeouts.js';
import { ClusterdError, ConfigError, ExitCode } from '../errors.js';
import { parseHealthFlag } from '../health/flag.js';
import workerMessages from '../worker/messages.cjs';
import { parseCommandLine, requireForm, usageError } from './command-line.js';
import { formatIssues } from './format.js';
import { usageText } from './help.js';
import { type Io, processIo } from './io.js';
import { escapeText } from './terminal-text.js';

export type { Io };

/** The help text, from the command table. */
const isTopic = workerMessages.isTopic;
const USAGE = usageText();

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
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

// `--canary` / `--no-canary`: this deploy's canary phase, or the apps' `reload.canary` when neither is given.
function canaryFlag(values: { canary?: boolean; 'no-canary'?: boolean }): boolean | undefined {
  if (values.canary && values['no-canary'])
    throw usageError('--canary and --no-canary contradict each other');
  return values.canary ? true : values['no-canary'] ? false : undefined;
}

async function run(argv: string[], io: Io): Promise<number> {
  const line = parseCommandLine(argv);
  const { command, values } = line;
  const rest = line.args;
  if (values.version || command === 'version') {
    io.stdout(`${version()}\n`);
    return ExitCode.OK;
  }
  if (values.help || command === 'help' || command === undefined) {
    io.stdout(USAGE);
    return command === undefined && !values.help ? ExitCode.USAGE : ExitCode.OK;
  }
  const timeout = values.timeout === undefined ? undefined : parseTimeout(values.timeout);
  const control = async (request: Command) => {
    if (timeout !== undefined && isWaitingCommand(request.cmd)) Object.assign(request, { timeout });
    const { controlCommand } = await import('./commands/control.js');
    return controlCommand(request, { config: values.config, json: values.json ?? false }, io);
  };
  switch (command) {
    case 'start': {
      if (rest.length > 1) throw usageError(`start takes one config path or app name, got ${rest.length}`);
      const [target] = rest;
      // `clusterd start <app>` starts an app of the running clusterd; a path starts a clusterd.
      if (target !== undefined && !existsSync(resolve(target))) {
        requireForm(
          line,
          'start <app>',
          ` ("${target}" is no file or directory here, so it names an app of the running clusterd)`,
        );
        return control({ cmd: 'start', app: target });
      }
      requireForm(line, 'start');
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
    case 'reload': {
      if (rest.length > 1) throw usageError('reload takes at most one app name');
      const canary = canaryFlag(values);
      return control({
        cmd: 'reload',
        ...(rest[0] === undefined ? {} : { app: rest[0] }),
        ...(canary === undefined ? {} : { canary }),
      });
    }
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
      const canary = canaryFlag(values);
      return upCommand(
        {
          path: rest[0] ?? values.config,
          environment: values.env,
          timeout,
          json: values.json ?? false,
          ...(canary === undefined ? {} : { canary }),
        },
        io,
      );
    }
    case 'monit': {
      if (rest.length > 1) throw usageError('monit takes at most one app name');
      const { monit } = await import('./monit/monit.js');
      return monit({ config: values.config, app: rest[0] }, io);
    }
    case 'events':
      if (rest.length > 1) throw usageError('events takes at most one app name');
      return control(rest[0] === undefined ? { cmd: 'events' } : { cmd: 'events', app: rest[0] });
    case 'send': {
      const [app, topic, json] = rest;
      if (rest.length !== 3 || app === undefined || topic === undefined || json === undefined)
        throw usageError('usage: clusterd send <app> <topic> <json> [--worker N]');
      if (!isTopic(topic))
        throw usageError(
          `send: a topic is 1 to 128 characters of A-Z a-z 0-9 . _ : / - starting with a letter or digit, got ${JSON.stringify(String(topic).slice(0, 80))}`,
        );
      let data: unknown;
      try {
        data = JSON.parse(json);
      } catch {
        throw usageError(
          `send: the message must be JSON (a string is ""text""), got ${JSON.stringify(json.slice(0, 80))}`,
        );
      }
      const worker = values.worker === undefined ? undefined : Number(values.worker);
      if (
        worker !== undefined &&
        !(Number.isSafeInteger(worker) && worker >= 0 && /^\d+$/.test(values.worker ?? ''))
      )
        throw usageError(`--worker must be a worker number (0, 1, 2...), got "${values.worker}"`);
      return control({ cmd: 'send', app, topic, data, ...(worker === undefined ? {} : { worker }) });
    }
    case 'profile':
    case 'heap': {
      const { profileCommand } = await import('./commands/profile.js');
      return profileCommand(command, rest, values, io);
    }
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
      const [path, ...more] = rest;
      const target = line.spec?.name === 'export kubernetes' ? 'kubernetes' : 'systemd';
      if (more.length) throw usageError(`export ${target} takes one config path, got ${rest.length}`);
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
      const [file, ...more] = rest;
      if (file === undefined) throw usageError('usage: clusterd import pm2 <ecosystem file>');
      if (more.length) throw usageError(`import pm2 takes one ecosystem file, got ${rest.length}`);
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
