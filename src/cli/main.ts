// The `clusterd` command line: parses argv, dispatches to a command, maps errors to exit codes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ClusterdError, ConfigError, ErrorCode, ExitCode } from '../errors.js';
import { formatIssues } from './format.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export const USAGE = `Usage: clusterd <command> [options]

Commands:
  start [config] [--env NAME] [--log-format json|pretty] [--watch] [--watch-config]
                                            Run every app in the foreground; SIGINT/SIGTERM stop
                                            gracefully (twice: at once), SIGUSR2 reloads every app,
                                            SIGHUP re-reads the config; --watch reloads an app when
                                            its files change, --watch-config when the config does
  validate [config] [--env NAME] [--json]   Check a config and print what it resolves to
  schema                                    Print the config's JSON Schema
  help                                      Show this help
  version                                   Print clusterd's version

[config] is a config file or a directory to search; by default the working directory is searched for
cluster.config.{json,yaml,yml,js,mjs,cjs,ts,mts,cts}, .clusterdrc*, or package.json#clusterd.

Exit codes: 0 ok, 1 failure, 3 an app errored and nothing is left running, 64 usage error,
66 no config found, 78 invalid config, 128+N stopped immediately by a second signal N.
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

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        env: { type: 'string' },
        json: { type: 'boolean' },
        'log-format': { type: 'string' },
        watch: { type: 'boolean' },
        'watch-config': { type: 'boolean' },
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
      if (rest.length > 1) throw usageError(`start takes one config path, got ${rest.length}`);
      const { startCommand } = await import('./commands/start.js');
      return startCommand({
        path: rest[0],
        environment: values.env,
        logFormat: values['log-format'],
        watch: values.watch ?? false,
        watchConfig: values['watch-config'] ?? false,
      });
    }
    case 'validate': {
      if (rest.length > 1) throw usageError(`validate takes one config path, got ${rest.length}`);
      // Commands load on demand: `--version` and `help` stay as fast as a bare Node.js start.
      const { validateCommand } = await import('./commands/validate.js');
      return validateCommand({ path: rest[0], environment: values.env, json: values.json ?? false }, io);
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
      io.stderr(formatIssues(error.issues));
      return error.exitCode;
    }
    if (error instanceof ClusterdError) {
      io.stderr(`clusterd: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`clusterd: internal error, please report it:\n${(error as Error)?.stack ?? String(error)}\n`);
    return ExitCode.INTERNAL;
  }
}
