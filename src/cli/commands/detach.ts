// `clusterd start --detach`: validates the config here (so mistakes show in the terminal), starts the
// supervisor in the background with its output in a log file, and returns once every app is ready
// (exit 0) or one failed to start (non-zero, with the reason). A clusterd already running for the
// config is reported instead of starting a twin.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/index.js';
import { sendCommand } from '../../control/client.js';
import { configId, ensurePrivateDir, logsDir, socketPath } from '../../control/paths.js';
import type { Status } from '../../control/protocol.js';
import { ClusterdError, ErrorCode, ExitCode } from '../../errors.js';
import { checkLogFile } from '../../log/file.js';
import type { Io } from '../main.js';

const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

export interface DetachOptions {
  path: string | undefined;
  environment: string | undefined;
  watch: boolean;
  watchConfig: boolean;
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
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore', cwd: dirname(config.file) });
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? 1;
  });

  const deadline = Date.now() + Math.max(...config.apps.map((a) => a.readyTimeout)) * 2 + 10_000;
  while (Date.now() < deadline) {
    if (exited !== null) {
      io.stderr(
        `clusterd: the supervisor exited (code ${exited}): ${failure(logFile) ?? `see ${logFile}`}\n`,
      );
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
