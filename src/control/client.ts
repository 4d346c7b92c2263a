// The CLI's side of the control socket: find the running clusterd for a config, send one command,
// read its reply (and, for `logs --follow`, its output until the connection ends).
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { displayPath } from '../config/display.js';
import { findConfigFile } from '../config/search-places.js';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import { socketPath } from './paths.js';
import { CONTROL_VERSION, type Command, type Reply } from './protocol.js';

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

export function sendCommand(
  target: { config: string; socket: string },
  command: Command,
  onOutput?: (line: string) => void,
): Promise<unknown> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const socket = connect(target.socket);
    let buffer = '';
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ v: CONTROL_VERSION, id, ...command })}\n`));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      settle(() =>
        reject(
          notRunning
            ? new ClusterdError(
                ErrorCode.NOT_RUNNING,
                `clusterd is not running for ${displayPath(target.config)}`,
                ExitCode.FAILURE,
              )
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
        if ('output' in reply) {
          onOutput?.(reply.output);
          continue;
        }
        socket.end();
        if (reply.ok) settle(() => resolve(reply.result));
        else
          settle(() =>
            reject(new ClusterdError(ErrorCode.COMMAND_FAILED, reply.error.message, ExitCode.FAILURE)),
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
