// What the control commands do, and the checks a request line passes before anything runs: a request of
// the wrong shape is answered with an error and changes nothing.

import { MAX_TIMER_MS } from '../config/units.js';
import { ClusterdError, commonCode, ErrorCode, errorMessage, type Failure } from '../errors.js';
import type { LogEvents } from '../log/events.js';
import { logFileFaults } from '../log/faults.js';
import type { Logger } from '../log/logger.js';
import type { CanaryReport } from '../primary/reload/canary-judge.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { answerProfile, profileProblem } from './profile.js';
import { COMMANDS, CONTROL_VERSION, type Reply, type Request } from './protocol.js';
import { type Answer, failure, withDeadline } from './replies.js';
import { sendMessage, sendProblem } from './send.js';
import { answerEvents, answerLogs, answerMonitor, MAX_HISTORY_S } from './streams.js';
import { defaultTimeout, isWaitingCommand } from './timeouts.js';
import { answerUp } from './up.js';

// Kept importable from here, where the server and the connection have always found them.
export { type Answer, failure, withDeadline };

type Id = string | number | null;

/** What the commands work on: the supervisor, its log, and the events logged. */
export interface CommandContext {
  supervisor: Supervisor;
  log: Logger;
  events: LogEvents;
}

// Why a command's fields are wrong, if they are. `app` names an app; scale and start need one.
function fieldProblem(r: Record<string, unknown>): string | undefined {
  if (r.app !== undefined && typeof r.app !== 'string') return '"app" must be a string';
  if ((r.cmd === 'scale' || r.cmd === 'start') && r.app === undefined) return `${r.cmd} needs an "app"`;
  if (r.cmd === 'scale' && typeof r.instances !== 'string' && !Number.isInteger(r.instances))
    return 'scale needs "instances": N, "+N" or "-N"';
  if (r.timeout !== undefined) {
    if (!isWaitingCommand(String(r.cmd))) return `${r.cmd} takes no "timeout"`;
    if (!(Number.isInteger(r.timeout) && (r.timeout as number) > 0 && (r.timeout as number) <= MAX_TIMER_MS))
      return `"timeout" must be a whole number of ms between 1 and ${MAX_TIMER_MS}`;
  }
  if (r.canary !== undefined) {
    if (r.cmd !== 'reload' && r.cmd !== 'up') return `${r.cmd} takes no "canary"`;
    if (typeof r.canary !== 'boolean') return '"canary" must be true or false';
  }
  if (r.cmd === 'up' && r.environment !== undefined && typeof r.environment !== 'string')
    return '"environment" must be a string';
  if (r.cmd === 'logs') {
    if (r.lines !== undefined && !(Number.isInteger(r.lines) && (r.lines as number) >= 0))
      return '"lines" must be a whole number';
    if (r.follow !== undefined && typeof r.follow !== 'boolean') return '"follow" must be true or false';
  }
  if (r.cmd === 'monitor' && r.history !== undefined) {
    if (
      !(Number.isInteger(r.history) && (r.history as number) >= 0 && (r.history as number) <= MAX_HISTORY_S)
    )
      return `"history" must be a whole number of seconds between 0 and ${MAX_HISTORY_S}`;
  }
  if (r.cmd === 'send') return sendProblem(r);
  if (r.cmd === 'profile' || r.cmd === 'heap') return profileProblem(r);
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

type Outcomes = ({ app: string } & ({ ok: true } | ({ ok: false; canary?: CanaryReport } & Failure)))[];

// Every app's outcome: the result when all went well, else one failure naming each app and why. Its code
// is the apps' own when they agree (a script can tell a failed reload from a stopping app), else
// COMMAND_FAILED, and `apps` gives each one's.
function summarize(id: Request['id'], outcomes: Outcomes, result: unknown, what: string): Reply {
  const failed = outcomes.flatMap((o) =>
    o.ok ? [] : [{ app: o.app, code: o.code, reason: o.reason, ...(o.canary ? { canary: o.canary } : {}) }],
  );
  if (!failed.length) return { v: CONTROL_VERSION, id, ok: true, result };
  const reasons = failed.map((o) => `${o.app}: ${what} failed: ${o.reason}`);
  // What was done to the others is news too (a reload that deployed them, with their canaries' verdicts).
  const done = Array.isArray(result) ? result.filter((_, i) => outcomes[i]?.ok) : [];
  return failure(id, commonCode(failed.map((o) => o.code)), reasons.join('; '), {
    apps: failed,
    ...(done.length ? { done } : {}),
  });
}

// The work of a command that waits for what it asked for. What can be refused at once (an unknown app,
// a bad count) throws here, before the command is accepted; the work starts when the result is called.
function prepare(request: Request, supervisor: Supervisor): () => Promise<Reply> {
  const id = request.id;
  const ok = (result: unknown): Reply => ({ v: CONTROL_VERSION, id, ok: true, result });
  switch (request.cmd) {
    case 'reload': {
      supervisor.select(request.app);
      return async () => {
        const outcomes = await supervisor.reloadApps(request.app, request.canary);
        const results = outcomes.map((o) => (o.ok ? { app: o.app, ...o.result } : o));
        return summarize(id, outcomes, results, 'reload');
      };
    }
    case 'restart':
      supervisor.select(request.app);
      return async () => {
        const outcomes = await supervisor.restartApps(request.app);
        return summarize(
          id,
          outcomes,
          outcomes.map((o) => o.app),
          'restart',
        );
      };
    case 'scale': {
      const to = supervisor.scaleTarget(request.app, String(request.instances));
      return async () => {
        const outcome = await supervisor.scaleApp(request.app, to);
        return outcome.ok
          ? ok({ app: outcome.app, ...outcome.result })
          : failure(id, outcome.code, `${outcome.app}: scale failed: ${outcome.reason}`);
      };
    }
    case 'stop':
      supervisor.select(request.app);
      return async () => ok(await supervisor.stopApps(request.app));
    case 'start': {
      const start = supervisor.startApp(request.app);
      return async () => {
        const outcome = await start();
        return summarize(id, [outcome], outcome.app, 'start');
      };
    }
    default:
      throw new Error(`${request.cmd} does not wait`);
  }
}

/**
 * Parses and runs one request line; never rejects. A command that waits first sends, through
 * `progress`, an `accepted` line with its bound, then its answer.
 */
export async function answer(
  line: string,
  { supervisor, log, events }: CommandContext,
  progress: (reply: Reply) => void = () => {},
): Promise<Answer> {
  const request = parseRequest(line);
  if ('error' in request) return { reply: failure(request.id, ErrorCode.CONTROL, request.error) };
  const ok = (result: unknown): Answer => ({
    reply: { v: CONTROL_VERSION, id: request.id, ok: true, result },
  });
  try {
    if (request.cmd === 'up') return { reply: await answerUp(request, supervisor, log, progress) };
    // Stopping everything answers at once, as shutdown does.
    if (isWaitingCommand(request.cmd) && !(request.cmd === 'stop' && request.app === undefined)) {
      const app = 'app' in request ? request.app : undefined;
      const apps = supervisor.select(app).map((r) => r.app);
      const timeout =
        ('timeout' in request ? request.timeout : undefined) ??
        defaultTimeout(request.cmd, apps, request.cmd === 'reload' ? request.canary : undefined);
      const work = prepare(request, supervisor);
      progress({ v: CONTROL_VERSION, id: request.id, accepted: { timeout } });
      return { reply: await withDeadline(request, timeout, work()) };
    }
    switch (request.cmd) {
      case 'status':
        return ok({ ...(await supervisor.status()), logFaults: logFileFaults() });
      case 'stop':
        return ok(await supervisor.stopApps());
      case 'shutdown':
        return { ...ok({ pid: process.pid }), after: () => supervisor.stop() };
      case 'logs':
        return answerLogs(request, supervisor);
      case 'events':
        return answerEvents(request, supervisor, events);
      case 'monitor':
        return answerMonitor(request, supervisor, events);
      case 'send':
        return ok(await sendMessage(request, supervisor));
      case 'profile':
      case 'heap':
        return await answerProfile(request, supervisor);
      default:
        throw new Error(`unhandled command ${request.cmd}`);
    }
  } catch (error) {
    // A refusal clusterd meant (an unknown app, a bad count) keeps its code. Anything else thrown is a bug
    // in the root: logged with its stack, and answered as one, never as an ordinary failed command.
    if (error instanceof ClusterdError) {
      log.debug({ err: error }, 'control command failed');
      return { reply: failure(request.id, error.code, errorMessage(error)) };
    }
    log.error(
      { err: error, code: ErrorCode.INTERNAL, cmd: request.cmd },
      `internal error in control command ${request.cmd}: ${errorMessage(error)}`,
    );
    return {
      reply: failure(request.id, ErrorCode.INTERNAL, `internal error in clusterd: ${errorMessage(error)}`),
    };
  }
}
