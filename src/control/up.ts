// `up` on the control socket: the config file is read and checked before the command is accepted (an
// invalid one is answered with its problems and changes nothing), then applied and followed by the
// reloads (supervisor/up.ts), within a bound derived from the apps of both configs.
import { displayPath } from '../config/display.js';
import { MODULE_LOAD_TIMEOUT_MS } from '../config/load-module.js';
import { ClusterdError, ConfigError, commonCode, ErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { runUp } from '../supervisor/up.js';
import { CONTROL_VERSION, type Reply, type Request, type UpApp } from './protocol.js';
import { failure, withDeadline } from './replies.js';
import { defaultTimeout } from './timeouts.js';

type UpRequest = Extract<Request, { cmd: 'up' }>;

/** Problems of an invalid config sent back: as many as `validate --json` lists. */
const MAX_ISSUES = 1000;
/** Reading the config: a JS or TS one may take up to the loader's limit, plus its child process. */
const READ_MS = MODULE_LOAD_TIMEOUT_MS + 5_000;

/** Why `up` asked for another environment than the one running cannot run, or undefined if it can. */
export function environmentProblem(running: string | null, asked: string | undefined, file: string) {
  if (asked === undefined || asked === running) return undefined;
  const runs = running === null ? 'without --env' : `with --env ${running}`;
  return `clusterd runs ${displayPath(file)} ${runs}, not --env ${asked}: the environment is chosen when clusterd starts; run clusterd shutdown, then clusterd up --env ${asked}`;
}

/**
 * The code of a failed `up`: the failed apps' own when they agree on a canary's (a deploy script tells a
 * rolled-back release, exit 4, from too little traffic, exit 5, from anything else), else COMMAND_FAILED.
 */
function upCode(apps: readonly UpApp[]): ErrorCode {
  const codes = apps.filter((a) => !a.ok).map((a) => a.code ?? ErrorCode.COMMAND_FAILED);
  const code = commonCode(codes);
  return code === ErrorCode.CANARY_FAILED || code === ErrorCode.CANARY_INCONCLUSIVE
    ? code
    : ErrorCode.COMMAND_FAILED;
}

export async function answerUp(
  request: UpRequest,
  supervisor: Supervisor,
  log: Logger,
  progress: (reply: Reply) => void,
): Promise<Reply> {
  const { id } = request;
  if (supervisor.stopping) return failure(id, ErrorCode.APP_STOPPING, 'clusterd is stopping');
  const problem = environmentProblem(
    supervisor.config.environment,
    request.environment,
    supervisor.config.file,
  );
  if (problem) return failure(id, ErrorCode.CONFLICT, problem);
  const invalid = (error: ConfigError): Reply => ({
    v: CONTROL_VERSION,
    id,
    ok: false,
    error: { code: error.code, message: error.message, issues: error.issues.slice(0, MAX_ISSUES) },
  });
  // A first bound while the file is read (a TS config may take seconds), the real one once its apps are known.
  progress({ v: CONTROL_VERSION, id, accepted: { timeout: READ_MS } });
  let next: Awaited<ReturnType<Supervisor['readConfig']>>;
  try {
    next = await supervisor.readConfig();
  } catch (error) {
    if (error instanceof ConfigError) return invalid(error);
    throw error;
  }
  const apps = [...supervisor.apps.map((r) => r.app), ...next.apps];
  const timeout = request.timeout ?? defaultTimeout('up', apps, request.canary);
  progress({ v: CONTROL_VERSION, id, accepted: { timeout } });
  const work = runUp(supervisor, next, log, request.canary).then(
    (report): Reply =>
      report.ok
        ? { v: CONTROL_VERSION, id, ok: true, result: report }
        : {
            v: CONTROL_VERSION,
            id,
            ok: false,
            error: {
              code: upCode(report.apps),
              message: report.apps
                .filter((a) => !a.ok)
                .map((a) => `${a.app}: ${a.reason}`)
                .join('; '),
              report,
            },
          },
    (error: unknown): Reply => {
      if (error instanceof ConfigError) return invalid(error);
      if (error instanceof ClusterdError) return failure(id, error.code, error.message);
      log.error(
        { err: error, code: ErrorCode.INTERNAL, cmd: 'up' },
        `internal error in up: ${errorMessage(error)}`,
      );
      return failure(id, ErrorCode.INTERNAL, `internal error in clusterd: ${errorMessage(error)}`);
    },
  );
  return withDeadline(request, timeout, work);
}
