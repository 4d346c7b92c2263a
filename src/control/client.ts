// The CLI's side of the control socket: find the running clusterd for a config, send one command,
// read its reply (and, for `logs --follow`, its output until the connection ends).
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { displayPath } from '../config/display.js';
import { findConfigFile } from '../config/search-places.js';
import { formatDuration } from '../config/units.js';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { socketPath } from './paths.js';
import { verifySocket } from './private-dir.js';
import { ANSWER_TIMEOUT_MS, CONTROL_VERSION, type Command, type Reply } from './protocol.js';

/** Past the bound a command was accepted with, how long the CLI still waits for its answer. */
const GRACE_MS = 5_000;

const notRunningError = (config: string) =>
  new ClusterdError(
    ErrorCode.NOT_RUNNING,
    `clusterd is not running for ${displayPath(config)}`,
    ExitCode.FAILURE,
  );

/** The control socket of the clusterd running the config in `cwd` (or at `config`). */
export function locateSocket(cwd: string, config?: string): { config: string; socket: string } {
  const file = findConfigFile(cwd, config);
  if (!file) {
    throw new ClusterdError(
      ErrorCode.CONFIG_NOT_FOUND,
      `${config ? `${config}: no such config file` : 'no config file in this directory'}; run from the project or pass --config PATH`,
      ExitCode.NO_INPUT,
    );
  }
  return { config: file, socket: socketPath(file) };
}

/**
 * Sends one command and resolves with its result. Never waits forever: an answer must start within
 * ANSWER_TIMEOUT_MS, and a command that waits (`accepted` with its bound) must end within that bound
 * and a grace.
 */
export function sendCommand(
  target: { config: string; socket: string },
  command: Command,
  onOutput?: (line: string) => void,
  bounds: { answerMs?: number; graceMs?: number } = {},
): Promise<unknown> {
  const answerMs = bounds.answerMs ?? ANSWER_TIMEOUT_MS;
  const graceMs = bounds.graceMs ?? GRACE_MS;
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    // Checked before connecting: a socket another user could have put there is never talked to.
    const path = verifySocket(target.socket);
    if (path === undefined) {
      reject(notRunningError(target.config));
      return;
    }
    const socket = connect(path);
    let buffer = '';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    // Until the first line, and again with each bound the supervisor gives.
    const expect = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        socket.destroy();
        settle(() => reject(new ClusterdError(ErrorCode.TIMEOUT, what, ExitCode.FAILURE)));
      }, ms);
    };
    expect(
      answerMs,
      `clusterd did not answer ${command.cmd} within ${formatDuration(answerMs)} (control socket ${target.socket}): it may be stopped or overloaded`,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ v: CONTROL_VERSION, id, ...command })}\n`));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      settle(() =>
        reject(
          notRunning
            ? notRunningError(target.config)
            : new ClusterdError(
                ErrorCode.CONTROL,
                `control socket ${target.socket}: ${error.message}`,
                ExitCode.FAILURE,
              ),
        ),
      );
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        let reply: Reply;
        try {
          reply = JSON.parse(buffer.slice(0, newline)) as Reply;
        } catch {
          reply = {
            v: CONTROL_VERSION,
            id: null,
            ok: false,
            error: { code: '', message: 'unreadable answer' },
          };
        }
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        // An error for no request in particular is about the connection: too many clients, say.
        if (reply.id === null && 'ok' in reply && !reply.ok) {
          socket.destroy();
          settle(() =>
            reject(
              new ClusterdError(
                ErrorCode.CONTROL,
                `control socket: ${reply.error.message}`,
                ExitCode.FAILURE,
              ),
            ),
          );
          return;
        }
        if (reply.id !== id) continue;
        if ('accepted' in reply) {
          const bound = reply.accepted.timeout;
          expect(
            bound + graceMs,
            `clusterd accepted ${command.cmd} with a bound of ${formatDuration(bound)} but did not answer within it`,
          );
          continue;
        }
        if ('output' in reply) {
          // Live output has no end to wait for.
          clearTimeout(timer);
          onOutput?.(reply.output);
          continue;
        }
        socket.end();
        if (reply.ok) settle(() => resolve(reply.result));
        else
          settle(() =>
            reject(
              new ClusterdError(
                reply.error.code === ErrorCode.TIMEOUT ? ErrorCode.TIMEOUT : ErrorCode.COMMAND_FAILED,
                reply.error.message,
                ExitCode.FAILURE,
              ),
            ),
          );
      }
    });
    // The end of a `logs --follow` (the clusterd stopped); anything else ends with its answer.
    socket.on('close', () =>
      settle(() =>
        command.cmd === 'logs' && command.follow
          ? resolve(undefined)
          : reject(
              new ClusterdError(
                ErrorCode.CONTROL,
                `clusterd closed the control connection without answering (${command.cmd})`,
                ExitCode.FAILURE,
              ),
            ),
      ),
    );
  });
}
