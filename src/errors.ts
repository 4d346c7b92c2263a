// Every error clusterd reports to a user has a code from this module and a documented exit code
// (docs/errors.md; a test checks that each code is documented there).

export const ExitCode = {
  OK: 0,
  /** A runtime failure, or an unsupported Node.js version. */
  FAILURE: 1,
  /** `import pm2` wrote the config, but not everything came over: an option or an app was left out. */
  IMPORT_INCOMPLETE: 2,
  /** `start` ended on its own because an app hit its crash-loop limit and nothing was left running. */
  APP_ERRORED: 3,
  /** A deploy's canaries did worse than the old workers: they were drained, the old workers serve. */
  CANARY_FAILED: 4,
  /** A deploy's canaries got too little traffic to judge, and `insufficientTraffic` is "fail". */
  CANARY_INCONCLUSIVE: 5,
  /** EX_USAGE: unknown command or option. */
  USAGE: 64,
  /** EX_UNAVAILABLE: no clusterd is running for the config (a control command had nothing to talk to). */
  UNAVAILABLE: 69,
  /** EX_NOINPUT: no config file found, or the given one does not exist (init: no file to run). */
  NO_INPUT: 66,
  /** EX_SOFTWARE: a bug in clusterd (reported with a stack trace). */
  INTERNAL: 70,
  /** EX_TEMPFAIL: a command did not finish within its bound; it may still complete. */
  TIMEOUT: 75,
  /** EX_CONFIG: the config file is invalid. */
  CONFIG: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const ErrorCode = {
  USAGE: 'CLUSTERD_ERR_USAGE',
  NODE_VERSION: 'CLUSTERD_ERR_NODE_VERSION',
  CONFIG_NOT_FOUND: 'CLUSTERD_ERR_CONFIG_NOT_FOUND',
  CONFIG_PARSE: 'CLUSTERD_ERR_CONFIG_PARSE',
  CONFIG_TOO_LARGE: 'CLUSTERD_ERR_CONFIG_TOO_LARGE',
  CONFIG_DUPLICATE_KEY: 'CLUSTERD_ERR_CONFIG_DUPLICATE_KEY',
  CONFIG_LOAD: 'CLUSTERD_ERR_CONFIG_LOAD',
  CONFIG_UNKNOWN_KEY: 'CLUSTERD_ERR_CONFIG_UNKNOWN_KEY',
  CONFIG_REMOVED_KEY: 'CLUSTERD_ERR_CONFIG_REMOVED_KEY',
  CONFIG_MISSING_KEY: 'CLUSTERD_ERR_CONFIG_MISSING_KEY',
  CONFIG_TYPE: 'CLUSTERD_ERR_CONFIG_TYPE',
  CONFIG_ENUM: 'CLUSTERD_ERR_CONFIG_ENUM',
  CONFIG_RANGE: 'CLUSTERD_ERR_CONFIG_RANGE',
  CONFIG_FORMAT: 'CLUSTERD_ERR_CONFIG_FORMAT',
  CONFIG_DUPLICATE_ITEM: 'CLUSTERD_ERR_CONFIG_DUPLICATE_ITEM',
  CONFIG_DUPLICATE_APP: 'CLUSTERD_ERR_CONFIG_DUPLICATE_APP',
  CONFIG_SCRIPT_NOT_FOUND: 'CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND',
  CONFIG_CWD_NOT_FOUND: 'CLUSTERD_ERR_CONFIG_CWD_NOT_FOUND',
  CONFIG_ENV_FILE: 'CLUSTERD_ERR_CONFIG_ENV_FILE',
  CONFIG_UNKNOWN_ENVIRONMENT: 'CLUSTERD_ERR_CONFIG_UNKNOWN_ENVIRONMENT',
  CONFIG_UNSUPPORTED: 'CLUSTERD_ERR_CONFIG_UNSUPPORTED',
  CONFIG_UNKNOWN_USER: 'CLUSTERD_ERR_CONFIG_UNKNOWN_USER',
  CONFIG_PRIVILEGE: 'CLUSTERD_ERR_CONFIG_PRIVILEGE',
  NOT_RUNNING: 'CLUSTERD_ERR_NOT_RUNNING',
  SEVERAL_RUNNING: 'CLUSTERD_ERR_SEVERAL_RUNNING',
  ALREADY_RUNNING: 'CLUSTERD_ERR_ALREADY_RUNNING',
  CONTROL: 'CLUSTERD_ERR_CONTROL',
  COMMAND_FAILED: 'CLUSTERD_ERR_COMMAND_FAILED',
  UNKNOWN_APP: 'CLUSTERD_ERR_UNKNOWN_APP',
  UNKNOWN_WORKER: 'CLUSTERD_ERR_UNKNOWN_WORKER',
  LOG_FILE: 'CLUSTERD_ERR_LOG_FILE',
  HEALTH: 'CLUSTERD_ERR_HEALTH',
  TIMEOUT: 'CLUSTERD_ERR_TIMEOUT',
  INTERNAL: 'CLUSTERD_ERR_INTERNAL',
  IMPORT: 'CLUSTERD_ERR_IMPORT',
  INIT: 'CLUSTERD_ERR_INIT',
  // Why a command that ran did not do what it asked, as the app's primary or the root decided it.
  APP_STOPPING: 'CLUSTERD_ERR_APP_STOPPING',
  APP_ENDED: 'CLUSTERD_ERR_APP_ENDED',
  START_FAILED: 'CLUSTERD_ERR_START_FAILED',
  RELOAD_FAILED: 'CLUSTERD_ERR_RELOAD_FAILED',
  CANARY_FAILED: 'CLUSTERD_ERR_CANARY_FAILED',
  CANARY_INCONCLUSIVE: 'CLUSTERD_ERR_CANARY_INCONCLUSIVE',
  SCALE_FAILED: 'CLUSTERD_ERR_SCALE_FAILED',
  PRIMARY_EXITED: 'CLUSTERD_ERR_PRIMARY_EXITED',
  PRIMARY_HUNG: 'CLUSTERD_ERR_PRIMARY_HUNG',
  CONFLICT: 'CLUSTERD_ERR_CONFLICT',
  // `clusterd profile` and `clusterd heap` (docs/monitoring.md#profiles-on-demand).
  NOT_PROFILABLE: 'CLUSTERD_ERR_NOT_PROFILABLE',
  WORKER_NOT_READY: 'CLUSTERD_ERR_WORKER_NOT_READY',
  PROFILE_FAILED: 'CLUSTERD_ERR_PROFILE_FAILED',
  OUTPUT_FILE: 'CLUSTERD_ERR_OUTPUT_FILE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The exit status each code gives the CLI (docs/errors.md lists both; a test checks they agree). A few
 * commands give another one for a reason of their own, which the docs say next to the code.
 */
export const EXIT_OF: Readonly<Record<ErrorCode, ExitCode>> = {
  CLUSTERD_ERR_USAGE: ExitCode.USAGE,
  CLUSTERD_ERR_NODE_VERSION: ExitCode.FAILURE,
  CLUSTERD_ERR_CONFIG_NOT_FOUND: ExitCode.NO_INPUT,
  CLUSTERD_ERR_CONFIG_PARSE: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_TOO_LARGE: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_DUPLICATE_KEY: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_LOAD: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_UNKNOWN_KEY: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_REMOVED_KEY: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_MISSING_KEY: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_TYPE: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_ENUM: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_RANGE: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_FORMAT: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_DUPLICATE_ITEM: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_DUPLICATE_APP: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_CWD_NOT_FOUND: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_ENV_FILE: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_UNKNOWN_ENVIRONMENT: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_UNSUPPORTED: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_UNKNOWN_USER: ExitCode.CONFIG,
  CLUSTERD_ERR_CONFIG_PRIVILEGE: ExitCode.CONFIG,
  CLUSTERD_ERR_NOT_RUNNING: ExitCode.UNAVAILABLE,
  CLUSTERD_ERR_SEVERAL_RUNNING: ExitCode.FAILURE,
  CLUSTERD_ERR_ALREADY_RUNNING: ExitCode.FAILURE,
  CLUSTERD_ERR_CONTROL: ExitCode.FAILURE,
  CLUSTERD_ERR_COMMAND_FAILED: ExitCode.FAILURE,
  CLUSTERD_ERR_UNKNOWN_APP: ExitCode.FAILURE,
  CLUSTERD_ERR_UNKNOWN_WORKER: ExitCode.FAILURE,
  CLUSTERD_ERR_LOG_FILE: ExitCode.FAILURE,
  CLUSTERD_ERR_HEALTH: ExitCode.FAILURE,
  CLUSTERD_ERR_TIMEOUT: ExitCode.TIMEOUT,
  CLUSTERD_ERR_INTERNAL: ExitCode.INTERNAL,
  CLUSTERD_ERR_IMPORT: ExitCode.CONFIG,
  CLUSTERD_ERR_INIT: ExitCode.NO_INPUT,
  CLUSTERD_ERR_APP_STOPPING: ExitCode.FAILURE,
  CLUSTERD_ERR_APP_ENDED: ExitCode.FAILURE,
  CLUSTERD_ERR_START_FAILED: ExitCode.FAILURE,
  CLUSTERD_ERR_RELOAD_FAILED: ExitCode.FAILURE,
  CLUSTERD_ERR_CANARY_FAILED: ExitCode.CANARY_FAILED,
  CLUSTERD_ERR_CANARY_INCONCLUSIVE: ExitCode.CANARY_INCONCLUSIVE,
  CLUSTERD_ERR_SCALE_FAILED: ExitCode.FAILURE,
  CLUSTERD_ERR_PRIMARY_EXITED: ExitCode.FAILURE,
  CLUSTERD_ERR_PRIMARY_HUNG: ExitCode.FAILURE,
  CLUSTERD_ERR_CONFLICT: ExitCode.FAILURE,
  CLUSTERD_ERR_NOT_PROFILABLE: ExitCode.FAILURE,
  CLUSTERD_ERR_WORKER_NOT_READY: ExitCode.FAILURE,
  CLUSTERD_ERR_PROFILE_FAILED: ExitCode.FAILURE,
  CLUSTERD_ERR_OUTPUT_FILE: ExitCode.FAILURE,
};

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && CODES.has(value);

/** A failure of an operation, as a primary, the root and the control socket pass it on: why, and its code. */
export interface Failure {
  code: ErrorCode;
  reason: string;
}

/** The message of anything thrown: an Error's message, or the value itself in words. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One problem found in a config file, located as precisely as the format allows. */
export interface ConfigIssue {
  code: ErrorCode;
  /** The config file the problem is in. */
  file: string;
  /** RFC 6901 JSON pointer to the offending value ('' is the whole config). */
  pointer: string;
  message: string;
  /** A suggestion, such as "did you mean ...". */
  hint?: string;
  /** Name of the app the pointer is inside, when it has one. */
  app?: string;
  /** 1-based position in the file, for JSON and YAML configs. */
  line?: number;
  column?: number;
}

/** An error meant for the user: a code, a clear message and the exit code it maps to. */
export class ClusterdError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;

  constructor(
    code: ErrorCode,
    message: string,
    exitCode: ExitCode = EXIT_OF[code],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClusterdError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The config could not be used; `issues` lists every problem found, not only the first. */
export class ConfigError extends ClusterdError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    if (!first) throw new TypeError('ConfigError needs at least one issue');
    const code = first.code;
    const exitCode = code === ErrorCode.CONFIG_NOT_FOUND ? ExitCode.NO_INPUT : ExitCode.CONFIG;
    const summary = issues.length === 1 ? first.message : `${issues.length} problems in ${first.file}`;
    super(code, summary, exitCode, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * The code of several apps' failures: theirs when they agree; canary rollbacks of both kinds, a canary's
 * (a release judged worse somewhere is the news: exit 4); else COMMAND_FAILED (`apps` has each).
 */
export function commonCode(codes: readonly ErrorCode[]): ErrorCode {
  const set = new Set(codes);
  const [only] = set;
  if (set.size === 1 && only !== undefined) return only;
  const canaries = [ErrorCode.CANARY_FAILED, ErrorCode.CANARY_INCONCLUSIVE] as ErrorCode[];
  if (set.size > 0 && [...set].every((c) => canaries.includes(c))) return ErrorCode.CANARY_FAILED;
  return ErrorCode.COMMAND_FAILED;
}
