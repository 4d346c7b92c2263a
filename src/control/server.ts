// The root's control socket: a Unix domain socket in the user's private runtime directory, JSON lines,
// one reply per request. Bad input gets an error reply (or the connection closed), never a crash.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { ensurePrivateDir } from './paths.js';
import {
  COMMANDS,
  CONTROL_VERSION,
  type Command,
  MAX_REQUEST_BYTES,
  type Reply,
  type Request,
} from './protocol.js';

// Whether something answers on `path`: a live clusterd, or a stale socket file left by a crashed one.
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function parseRequest(line: string): Request | { error: string; id: string | number | null } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'malformed JSON', id: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'a request must be an object', id: null };
  const r = value as Partial<Request> & Record<string, unknown>;
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
  if (id === null) return { error: 'a request needs an "id" (string or number)', id: null };
  if (r.v !== CONTROL_VERSION)
    return {
      error: `unsupported protocol version ${String(r.v)} (this clusterd speaks ${CONTROL_VERSION})`,
      id,
    };
  if (typeof r.cmd !== 'string' || !Object.hasOwn(COMMANDS, r.cmd))
    return { error: `unknown command ${JSON.stringify(r.cmd)}`, id };
  return r as Request;
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens on `path`; refuses if a live clusterd already does, replaces a stale socket file. */
  static async listen(path: string, supervisor: Supervisor, log: Logger): Promise<ControlServer> {
    ensurePrivateDir(dirname(path));
    if (existsSync(path)) {
      if (await answers(path)) {
        throw new ClusterdError(
          ErrorCode.ALREADY_RUNNING,
          `clusterd is already running for ${supervisor.config.file} (control socket ${path})`,
          ExitCode.FAILURE,
        );
      }
      log.warn(
        { socket: path },
        'replacing a stale control socket left by a clusterd that did not stop cleanly',
      );
      unlinkSync(path);
    }
    const server = createServer((socket) => handle(socket, supervisor, log));
    const umask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    server.on('error', (error) => log.error({ err: error }, `control socket: ${error.message}`));
    return new ControlServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
    try {
      unlinkSync(this.path);
    } catch {}
  }
}

function handle(socket: Socket, supervisor: Supervisor, log: Logger): void {
  let buffer = '';
  const reply = (message: Reply) => {
    if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
  };
  const fail = (id: string | number | null, code: string, message: string) =>
    reply({ v: CONTROL_VERSION, id, ok: false, error: { code, message } });
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) {
        const request = parseRequest(line);
        if ('error' in request) fail(request.id, ErrorCode.CONTROL, request.error);
        else void run(request, socket, supervisor, reply, fail, log);
      }
      newline = buffer.indexOf('\n');
    }
    if (Buffer.byteLength(buffer) > MAX_REQUEST_BYTES) {
      fail(null, ErrorCode.CONTROL, `request larger than ${MAX_REQUEST_BYTES} bytes`);
      socket.end();
      buffer = '';
    }
  });
}

async function run(
  request: Request,
  socket: Socket,
  supervisor: Supervisor,
  reply: (r: Reply) => void,
  fail: (id: string | number, code: string, message: string) => void,
  log: Logger,
): Promise<void> {
  const ok = (result: unknown) => reply({ v: CONTROL_VERSION, id: request.id, ok: true, result });
  const command = request as Command;
  try {
    switch (command.cmd) {
      case 'status':
        return ok(await supervisor.status());
      case 'reload': {
        const results = await supervisor.reloadApps(command.app);
        const failed = results.filter((r) => !r.ok);
        if (failed.length) {
          return fail(
            request.id,
            ErrorCode.COMMAND_FAILED,
            failed.map((r) => `${r.app}: reload failed: ${'reason' in r ? r.reason : ''}`).join('; '),
          );
        }
        return ok(results);
      }
      case 'restart':
        return ok(await supervisor.restartApps(command.app));
      case 'scale':
        return ok(await supervisor.scaleApp(command.app, String(command.instances)));
      case 'stop':
        return ok(await supervisor.stopApps(command.app));
      case 'start':
        return ok(supervisor.startApp(command.app));
      case 'shutdown':
        ok({ pid: process.pid });
        supervisor.stop();
        return;
      case 'logs': {
        const runners = command.app === undefined ? supervisor.apps : [supervisor.runner(command.app)];
        if (runners.some((r) => r === undefined)) throw new Error(`no app named "${command.app}"`);
        const lines = Math.max(0, Math.min(Number(command.lines ?? 50) || 0, 10_000));
        const recent = runners.flatMap((r) => r?.recentLines(lines) ?? []);
        if (!command.follow) return ok({ lines: recent });
        for (const line of recent) reply({ v: CONTROL_VERSION, id: request.id, output: line });
        const follow = (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n'))
            if (line) reply({ v: CONTROL_VERSION, id: request.id, output: line });
        };
        for (const r of runners) r?.followers.add(follow);
        socket.once('close', () => {
          for (const r of runners) r?.followers.delete(follow);
        });
        return;
      }
    }
  } catch (error) {
    log.debug({ err: error }, 'control command failed');
    fail(request.id, ErrorCode.COMMAND_FAILED, error instanceof Error ? error.message : String(error));
  }
}
