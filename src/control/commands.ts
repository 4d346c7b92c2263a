// What the control commands do, and the checks a request line passes before anything runs: a request of
// the wrong shape is answered with an error and changes nothing.
import { ErrorCode } from '../errors.js';
import { logFileFaults } from '../log/faults.js';
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { COMMANDS, CONTROL_VERSION, type Reply, type Request } from './protocol.js';

type Id = string | number | null;

/** What a request gets: one reply (and something to do once it is sent), or a stream of output. */
export type Answer =
  | { reply: Reply; after?: () => void }
  | {
      follow: {
        id: string | number;
        lines: string[];
        /** Calls `listener` with each chunk of output (whole lines); returns how to stop. */
        subscribe: (listener: (chunk: Buffer) => void) => () => void;
      };
    };

export function failure(id: Id, code: ErrorCode, message: string): Reply {
  return { v: CONTROL_VERSION, id, ok: false, error: { code, message } };
}

// Why a command's fields are wrong, if they are. `app` names an app; scale and start need one.
function fieldProblem(r: Record<string, unknown>): string | undefined {
  if (r.app !== undefined && typeof r.app !== 'string') return '"app" must be a string';
  if ((r.cmd === 'scale' || r.cmd === 'start') && r.app === undefined) return `${r.cmd} needs an "app"`;
  if (r.cmd === 'scale' && typeof r.instances !== 'string' && !Number.isInteger(r.instances))
    return 'scale needs "instances": N, "+N" or "-N"';
  if (r.cmd === 'logs') {
    if (r.lines !== undefined && !(Number.isInteger(r.lines) && (r.lines as number) >= 0))
      return '"lines" must be a whole number';
    if (r.follow !== undefined && typeof r.follow !== 'boolean') return '"follow" must be true or false';
  }
  return undefined;
}

export function parseRequest(line: string): Request | { error: string; id: Id } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'malformed JSON', id: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'a request must be an object', id: null };
  const r = value as Record<string, unknown>;
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
  if (id === null) return { error: 'a request needs an "id" (string or number)', id: null };
  if (r.v !== CONTROL_VERSION)
    return {
      error: `unsupported protocol version ${JSON.stringify(r.v) ?? 'undefined'} (this clusterd speaks ${CONTROL_VERSION})`,
      id,
    };
  if (typeof r.cmd !== 'string' || !Object.hasOwn(COMMANDS, r.cmd))
    return { error: `unknown command ${JSON.stringify(r.cmd) ?? 'undefined'}`, id };
  const problem = fieldProblem(r);
  if (problem) return { error: problem, id };
  return r as unknown as Request;
}

/** Parses and runs one request line; never rejects. */
export async function answer(line: string, supervisor: Supervisor, log: Logger): Promise<Answer> {
  const request = parseRequest(line);
  if ('error' in request) return { reply: failure(request.id, ErrorCode.CONTROL, request.error) };
  const ok = (result: unknown): Answer => ({
    reply: { v: CONTROL_VERSION, id: request.id, ok: true, result },
  });
  try {
    switch (request.cmd) {
      case 'status':
        return ok({ ...(await supervisor.status()), logFaults: logFileFaults() });
      case 'reload': {
        const results = await supervisor.reloadApps(request.app);
        const failed = results.filter((r) => !r.ok);
        if (!failed.length) return ok(results);
        const reasons = failed.map((r) => `${r.app}: reload failed: ${'reason' in r ? r.reason : ''}`);
        return { reply: failure(request.id, ErrorCode.COMMAND_FAILED, reasons.join('; ')) };
      }
      case 'restart':
        return ok(await supervisor.restartApps(request.app));
      case 'scale':
        return ok(await supervisor.scaleApp(request.app, String(request.instances)));
      case 'stop':
        return ok(await supervisor.stopApps(request.app));
      case 'start':
        return ok(supervisor.startApp(request.app));
      case 'shutdown':
        return { ...ok({ pid: process.pid }), after: () => supervisor.stop() };
      case 'logs': {
        const runners = request.app === undefined ? supervisor.apps : [supervisor.runner(request.app)];
        if (runners.some((r) => r === undefined)) throw new Error(`no app named "${request.app}"`);
        const count = Math.min(request.lines ?? 50, 10_000);
        const lines = runners.flatMap((r) => r?.recentLines(count) ?? []);
        if (!request.follow) return ok({ lines });
        const subscribe = (listener: (chunk: Buffer) => void) => {
          for (const r of runners) r?.followers.add(listener);
          return () => {
            for (const r of runners) r?.followers.delete(listener);
          };
        };
        return { follow: { id: request.id, lines, subscribe } };
      }
    }
  } catch (error) {
    log.debug({ err: error }, 'control command failed');
    const message = error instanceof Error ? error.message : String(error);
    return { reply: failure(request.id, ErrorCode.COMMAND_FAILED, message) };
  }
}
