// `clusterd profile <app> [worker] [--cpu DURATION] [--output PATH]` and `clusterd heap <app> <worker>
// [--output PATH]`: the file is written here, by the CLI, as the programmatic client writes it
// (control/profile-client.ts); what was taken is printed once it is whole.
import { connect } from '../../client/index.js';
import { formatDuration, parseDuration } from '../../config/units.js';
import { DEFAULT_PROFILE_MS, MAX_PROFILE_MS, MIN_PROFILE_MS } from '../../control/profile.js';
import type { Command, ProfileDone, ProfileStart } from '../../control/protocol.js';
import { ClusterdError, ExitCode } from '../../errors.js';
import { usageError } from '../command-line.js';
import type { Io } from '../io.js';
import { escapeText } from '../terminal-text.js';

type ProfileCommand = Extract<Command, { cmd: 'profile' | 'heap' }>;

/** A worker number as typed: 0, 1, 2... */
function workerNumber(command: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw usageError(`${command}: the worker must be a worker number (0, 1, 2...), got "${text}"`);
  return n;
}

/** The request the arguments stand for, or a usage error. Pure. */
export function profileRequest(
  command: 'profile' | 'heap',
  args: readonly string[],
  cpu: string | undefined,
): ProfileCommand {
  if (command === 'heap') {
    const [app, worker] = args;
    if (args.length !== 2 || app === undefined || worker === undefined)
      throw usageError('usage: clusterd heap <app> <worker> [--output PATH]');
    return { cmd: 'heap', app, worker: workerNumber('heap', worker) };
  }
  const [app, worker] = args;
  if (app === undefined || args.length > 2)
    throw usageError('usage: clusterd profile <app> [worker] [--cpu DURATION] [--output PATH]');
  let durationMs = DEFAULT_PROFILE_MS;
  if (cpu !== undefined) {
    try {
      durationMs = parseDuration(cpu);
    } catch {
      throw usageError(`--cpu must be a duration such as 10s, 30s or 2m, got "${cpu}"`);
    }
    if (durationMs < MIN_PROFILE_MS || durationMs > MAX_PROFILE_MS)
      throw usageError(
        `--cpu must be between ${formatDuration(MIN_PROFILE_MS)} and ${formatDuration(MAX_PROFILE_MS)}, got "${cpu}"`,
      );
  }
  return {
    cmd: 'profile',
    app,
    durationMs,
    ...(worker === undefined ? {} : { worker: workerNumber('profile', worker) }),
  };
}

const mib = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** `heap snapshot of web/2 (pid 4211): 48.2 MiB in 1.3 s, the worker paused 1.1 s -> PATH`. */
export function describeProfile(done: ProfileDone, path: string): string {
  const who = `${done.app}/${done.worker} (pid ${done.pid})`;
  const what = done.kind === 'heap' ? 'heap snapshot' : 'CPU profile';
  return `${what} of ${who}: ${mib(done.bytes)} in ${seconds(done.ms)}, the worker paused ${seconds(done.pauseMs)} -> ${path}\n`;
}

type Values = { cpu?: string; output?: string; config?: string; json?: boolean };

/** As every control command: with `--json` a failure is printed as JSON on stdout too. */
export async function profileCommand(
  command: 'profile' | 'heap',
  args: readonly string[],
  values: Values,
  io: Io,
): Promise<number> {
  // Ctrl-C (or a SIGTERM) stops the profile in the worker and leaves no partial file behind.
  const interrupt = new AbortController();
  const stop = () => interrupt.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await takeProfile(command, args, values, io, interrupt.signal);
  } catch (error) {
    if (values.json && error instanceof ClusterdError)
      io.stdout(`${JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2)}\n`);
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function takeProfile(
  command: 'profile' | 'heap',
  args: readonly string[],
  values: Values,
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const request = profileRequest(command, args, values.cpu);
  if (values.output === '') throw usageError('--output needs a path');
  const client = await connect({ ...(values.config === undefined ? {} : { config: values.config }) });
  const picked = request.cmd === 'profile' && request.worker === undefined;
  // A profile takes its duration: which worker it is of is said at once.
  const onStart = ({ app, worker, pid, durationMs }: ProfileStart): void =>
    io.stderr(
      escapeText(
        request.cmd === 'heap'
          ? `taking a heap snapshot of ${app}/${worker} (pid ${pid})...\n`
          : `profiling ${app}/${worker} (pid ${pid}${picked ? ', the first ready worker' : ''}) for ${formatDuration(durationMs)}...\n`,
      ),
    );
  const options = {
    app: request.app,
    ...(request.worker === undefined ? {} : { worker: request.worker }),
    ...(values.output === undefined ? {} : { output: values.output }),
    onStart,
    signal,
  };
  const result =
    request.cmd === 'heap'
      ? await client.heap({ ...options, worker: request.worker })
      : await client.profile({ ...options, cpu: request.durationMs });
  if (values.json) io.stdout(`${JSON.stringify(result)}\n`);
  else {
    const line = describeProfile(result, result.path);
    io.stdout(escapeText(picked ? line.replace(': ', ', the first ready worker: ') : line));
  }
  return ExitCode.OK;
}
