// `clusterd start --detach`: validates the config here (so mistakes show in the terminal), starts the
// supervisor in the background with its output in a log file, and returns once every app is ready
// (exit 0) or one failed to start (non-zero, with the reason). A clusterd already running for the
// config is reported instead of starting a twin.
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, fchmodSync, openSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/index.js';
import { sendCommand } from '../../control/client.js';
import { configId, ensurePrivateDir, logsDir, socketPath } from '../../control/paths.js';
import type { Status } from '../../control/protocol.js';
import { ClusterdError, ErrorCode, ExitCode } from '../../errors.js';
import { checkLogFile } from '../../log/file.js';
import type { Io } from '../io.js';
import { escapeText } from '../terminal-text.js';

const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

export interface DetachOptions {
  path: string | undefined;
  environment: string | undefined;
  watch: boolean;
  watchConfig: boolean;
  /** `--health [host:]port`, passed on as given. */
  health?: string;
  /**
   * ms to wait for every app to be ready (default: twice the longest readyTimeout, plus the stop of a
   * first start not ready in time, plus 10 s).
   */
  timeout?: number;
}

// Why an app (or, without `app`, the first app that did) failed, from the supervisor's log file:
// its `errored` event, else the last error logged.
function failure(logFile: string, app?: string): string | undefined {
  if (!existsSync(logFile)) return undefined;
  const events: { level?: number; app?: string; to?: string; msg?: string }[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    try {
      events.push(JSON.parse(line));
    } catch {}
  }
  const mine = events.filter((e) => app === undefined || e.app === app);
  const errored = mine.find((e) => e.to === 'errored');
  if (errored) return `${app === undefined && errored.app ? `${errored.app}: ` : ''}${errored.msg}`;
  return mine.filter((e) => (e.level ?? 0) >= 50).at(-1)?.msg;
}

/** Lines of the supervisor's stderr shown when it fails to start; the rest stays in the file. */
const STDERR_LINES = 10;

// The supervisor's stderr goes to a private file next to its log: what it says before its log is open
// (the runtime directory refused, a node option Node does not know) would otherwise be lost. A pipe
// cannot be used: it would break (EPIPE) once this command has returned, and the supervisor with it.
function openStderrFile(file: string): number {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
  const fd = openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
  fchmodSync(fd, 0o600); // an existing file keeps its mode otherwise
  return fd;
}

// The last lines the supervisor wrote to stderr, as a reason, or undefined when it wrote none.
function stderrReason(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) return undefined;
  // "clusterd: " is how the supervisor's CLI starts each message; said once, by this command.
  const shown = lines.slice(-STDERR_LINES).map((l) => l.replace(/^clusterd: /, '').slice(0, 1000));
  return shown.join('\n  ');
}

export async function detachCommand(options: DetachOptions, io: Io): Promise<number> {
  const config = await loadConfig({
    ...(options.path === undefined ? {} : { path: options.path }),
    environment: options.environment ?? null,
  });
  const target = { config: config.file, socket: socketPath(config.file) };
  const running = (await sendCommand(target, { cmd: 'status' }).catch(() => undefined)) as Status | undefined;
  if (running) {
    throw new ClusterdError(
      ErrorCode.ALREADY_RUNNING,
      `clusterd is already running for ${basename(config.file)} (pid ${running.pid}); use clusterd reload, or clusterd shutdown first`,
      ExitCode.FAILURE,
    );
  }
  // A log we could not write would hide why the supervisor fails: refuse before starting anything.
  ensurePrivateDir(logsDir(), ErrorCode.LOG_FILE);
  const logFile = join(logsDir(), `${basename(dirname(config.file))}-${configId(config.file)}.log`);
  checkLogFile(logFile);
  const args = [BIN, 'start', config.file, '--log-format', 'json', '--log-file', logFile];
  if (config.environment) args.push('--env', config.environment);
  if (options.watch) args.push('--watch');
  if (options.watchConfig) args.push('--watch-config');
  if (options.health !== undefined) args.push('--health', options.health);
  const stderrFile = logFile.replace(/\.log$/, '.stderr');
  const stderr = openStderrFile(stderrFile);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', stderr],
    cwd: dirname(config.file),
  });
  closeSync(stderr); // the child holds its own copy
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? 1;
  });

  const longest = Math.max(
    ...config.apps.map((a) => 2 * a.readyTimeout + a.shutdown.spread + a.shutdown.timeout),
  );
  const deadline = Date.now() + (options.timeout ?? longest + 10_000);
  while (Date.now() < deadline) {
    if (exited !== null) {
      // Its stderr is this start's alone (the file is truncated); the log may hold earlier runs.
      const reason = stderrReason(stderrFile) ?? failure(logFile) ?? `see ${logFile}`;
      io.stderr(escapeText(`clusterd: the supervisor exited (code ${exited}): ${reason}\n`));
      return exited || ExitCode.FAILURE;
    }
    const status = (await sendCommand(target, { cmd: 'status' }).catch(() => undefined)) as
      | Status
      | undefined;
    const failed = status?.apps.filter((a) => a.state === 'errored' || a.state === 'stopped') ?? [];
    if (failed.length) {
      for (const app of failed)
        io.stderr(`clusterd: ${app.name} failed to start: ${failure(logFile, app.name) ?? app.state}\n`);
      io.stderr(
        `clusterd: the supervisor keeps running (pid ${status?.pid}); logs: ${logFile}; stop it with clusterd shutdown\n`,
      );
      return ExitCode.FAILURE;
    }
    if (status?.apps.every((a) => a.state === 'running')) {
      io.stdout(
        `clusterd started in the background (pid ${status.pid}): ${status.apps.map((a) => `${a.name} x${a.workers.length}`).join(', ')}\nlogs: ${logFile}\n`,
      );
      return ExitCode.OK;
    }
    await sleep(100);
  }
  io.stderr(`clusterd: not every app was ready in time; see clusterd status and ${logFile}\n`);
  return ExitCode.FAILURE;
}
