// The client's side of the control socket, under the public client (src/client/) and the CLI: send one
// command and read its answer, or open a stream (`logs --follow`, `events`) and read it until it ends.
// Every socket is checked before anything is sent to it, and nothing waits forever.

import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { displayPath } from '../config/display.js';
import { formatDuration } from '../config/units.js';
import { ClusterdError, ConfigError, ErrorCode, ExitCode, isErrorCode } from '../errors.js';
import type { CanaryReport } from '../primary/reload/canary-judge.js';
import { verifySocket } from './private-dir.js';
import { ANSWER_TIMEOUT_MS, CONTROL_VERSION, type Command, type Reply, type ReplyError } from './protocol.js';
import { UpError } from './up-error.js';

export { locateSocket } from './locate.js';

/** Past the bound a command was accepted with, how long the client still waits for its answer. */
const GRACE_MS = 5_000;

/** A running clusterd's control socket, and the config it runs (named in messages). */
export interface Target {
  config: string;
  socket: string;
}

export interface Bounds {
  /** How long to wait for a first line (default ANSWER_TIMEOUT_MS). */
  answerMs?: number;
  /** Past an accepted command's bound, how long to wait still (default 5 s). */
  graceMs?: number;
}

export const notRunningError = (config: string) =>
  new ClusterdError(ErrorCode.NOT_RUNNING, `clusterd is not running for ${displayPath(config)}`);

/** A command about several apps failed: `apps` gives each failed app's own code and reason. */
export class CommandError extends ClusterdError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly apps: readonly { app: string; code: string; reason: string; canary?: CanaryReport }[],
    /** What the command did to the apps that did not fail (a reload's results). */
    readonly done: readonly unknown[] = [],
  ) {
    super(code, message);
    this.name = 'CommandError';
  }
}

/** The error an error answer stands for: a ConfigError with its issues, an UpError with its report. */
export function replyError(error: ReplyError): ClusterdError {
  if (Array.isArray(error.issues) && error.issues.length) return new ConfigError(error.issues);
  if (error.report) return new UpError(error.message, error.report);
  if (Array.isArray(error.apps) && isErrorCode(error.code))
    return new CommandError(
      error.code,
      error.message,
      error.apps,
      Array.isArray(error.done) ? error.done : [],
    );
  // Every code the root sends is kept, so a script can tell a timeout from a failed reload from a bug.
  // One this client does not know (a newer root) is still the root's failure: a failed command.
  if (isErrorCode(error.code)) return new ClusterdError(error.code, error.message);
  return new ClusterdError(ErrorCode.COMMAND_FAILED, `${error.message} [${String(error.code)}]`);
}

export interface Handlers {
  /** Each line answering the request (its id), and errors about the connection (id null). */
  line(reply: Reply): void;
  /** The connection failed or ended; `error` when it failed. */
  closed(error?: ClusterdError): void;
}

// Checks the socket, connects, sends `command` and hands over each line of the answer. Lines that are
// not JSON are an error about the connection.
export function exchange(target: Target, command: Command, handlers: Handlers): Socket | undefined {
  // Checked before connecting: a socket another user could have put there is never talked to.
  const path = verifySocket(target.socket);
  if (path === undefined) {
    handlers.closed(notRunningError(target.config));
    return undefined;
  }
  const id = randomUUID();
  const socket = connect(path);
  let buffer = '';
  let failed: ClusterdError | undefined;
  socket.setEncoding('utf8');
  socket.on('connect', () => socket.write(`${JSON.stringify({ v: CONTROL_VERSION, id, ...command })}\n`));
  socket.on('error', (error: NodeJS.ErrnoException) => {
    const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
    failed ??= notRunning
      ? notRunningError(target.config)
      : new ClusterdError(
          ErrorCode.CONTROL,
          `control socket ${target.socket}: ${error.message}`,
          ExitCode.FAILURE,
        );
  });
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(text) as Reply;
      } catch {
        reply = {
          v: CONTROL_VERSION,
          id: null,
          ok: false,
          error: { code: '', message: 'unreadable answer' },
        };
      }
      if (reply === null || typeof reply !== 'object') continue;
      if (reply.id === id || reply.id === null) handlers.line(reply);
      if (socket.destroyed) return;
    }
  });
  socket.on('close', () => handlers.closed(failed));
  return socket;
}

/** An error line about no request in particular is about the connection: too many clients, say. */
export function connectionError(reply: Reply): ClusterdError | undefined {
  if (reply.id !== null || !('ok' in reply) || reply.ok) return undefined;
  return new ClusterdError(ErrorCode.CONTROL, `control socket: ${reply.error.message}`, ExitCode.FAILURE);
}

/**
 * Sends one command and resolves with its result. Never waits forever: an answer must start within
 * `answerMs`, and a command that waits (`accepted` with its bound) must end within that bound and a
 * grace.
 */
export function sendCommand(target: Target, command: Command, bounds: Bounds = {}): Promise<unknown> {
  const answerMs = bounds.answerMs ?? ANSWER_TIMEOUT_MS;
  const graceMs = bounds.graceMs ?? GRACE_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: Socket | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      fn();
    };
    // Until the first line, and again with each bound the supervisor gives.
    const expect = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(() => reject(new ClusterdError(ErrorCode.TIMEOUT, what))), ms);
    };
    expect(
      answerMs,
      `clusterd did not answer ${command.cmd} within ${formatDuration(answerMs)} (control socket ${target.socket}): it may be stopped or overloaded`,
    );
    socket = exchange(target, command, {
      line(reply) {
        const lost = connectionError(reply);
        if (lost) settle(() => reject(lost));
        else if ('accepted' in reply)
          expect(
            reply.accepted.timeout + graceMs,
            `clusterd accepted ${command.cmd} with a bound of ${formatDuration(reply.accepted.timeout)} but did not answer within it`,
          );
        else if ('ok' in reply)
          settle(() => (reply.ok ? resolve(reply.result) : reject(replyError(reply.error))));
      },
      closed(error) {
        settle(() =>
          reject(
            error ??
              new ClusterdError(
                ErrorCode.CONTROL,
                `clusterd closed the control connection without answering (${command.cmd})`,
                ExitCode.FAILURE,
              ),
          ),
        );
      },
    });
  });
}

/** Above this many items read and not yet taken, the stream stops reading (the root's limit applies). */
const HIGH_WATER = 1_000;

/**
 * A stream's items (`logs --follow` lines, `events`), as an async iterator: it ends when the clusterd
 * stops or `close()` is called (or a `for await` loop is left), and throws the error the root ended it
 * with (a reader too slow for the root's limit, say).
 */
export class ReplyStream<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | null = null;
  private error: ClusterdError | undefined;
  private ended = false;
  private started = false;
  private readonly socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private began: () => void = () => {};
  /** Resolves once the root streams to it (what happens from then on is delivered), or once it ended. */
  readonly ready = new Promise<void>((resolve) => {
    this.began = resolve;
  });

  constructor(
    target: Target,
    command: Command,
    pick: (reply: Reply) => T | undefined,
    bounds: Bounds = {},
    /** Called once, when the stream ends. */
    private readonly onEnd: () => void = () => {},
  ) {
    const notAnswered = () =>
      new ClusterdError(
        ErrorCode.CONTROL,
        `clusterd closed the control connection without answering (${command.cmd})`,
        ExitCode.FAILURE,
      );
    this.socket = exchange(target, command, {
      line: (reply) => {
        const lost = connectionError(reply);
        if (lost) return this.end(lost);
        if ('following' in reply) {
          this.started = true;
          clearTimeout(this.timer);
          this.began();
          return;
        }
        if ('ok' in reply) return this.end(reply.ok ? undefined : replyError(reply.error));
        const item = pick(reply);
        if (item === undefined) return;
        this.items.push(item);
        if (this.items.length >= HIGH_WATER) this.socket?.pause();
        this.wake();
      },
      closed: (error) => this.end(error ?? (this.started ? undefined : notAnswered())),
    });
    // Not running at all is known at once; otherwise the stream must begin within the bound.
    const answerMs = bounds.answerMs ?? ANSWER_TIMEOUT_MS;
    if (!this.ended)
      this.timer = setTimeout(
        () =>
          this.end(
            new ClusterdError(
              ErrorCode.TIMEOUT,
              `clusterd did not answer ${command.cmd} within ${formatDuration(answerMs)} (control socket ${target.socket}): it may be stopped or overloaded`,
            ),
          ),
        answerMs,
      );
  }

  /** True once it has ended (clusterd stopped, closed, or failed). */
  get finished(): boolean {
    return this.ended;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }

  private end(error?: ClusterdError): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.wake();
    this.began();
    this.onEnd();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        if (this.items.length < HIGH_WATER / 2 && !this.ended) this.socket?.resume();
        return { value: item, done: false };
      }
      if (this.ended) {
        const error = this.error;
        this.error = undefined;
        if (error) throw error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /** Stops reading and closes the connection; what was read and not taken is dropped. Idempotent. */
  close(): void {
    this.items.length = 0;
    this.end();
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
