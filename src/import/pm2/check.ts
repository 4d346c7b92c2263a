// The imported config through clusterd's own validation, before it is written. A problem that only
// this machine has (the script is not built yet, the user does not exist here) is the project's, and
// reported; any other is a bug of the importer.

import { formatIssues } from '../../config/format-issues.js';
import { resolveConfigData } from '../../config/index.js';
import type { ClusterdConfig } from '../../config/types.generated.js';
import { ClusterdError, ConfigError, type ConfigIssue, ErrorCode, ExitCode } from '../../errors.js';
import type { OutputFormat } from './render.js';

/** Issues about the machine the config is checked on, not about the config. */
const MACHINE_CODES = new Set<ErrorCode>([
  ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
  ErrorCode.CONFIG_CWD_NOT_FOUND,
  ErrorCode.CONFIG_UNKNOWN_USER,
  ErrorCode.CONFIG_PRIVILEGE,
  ErrorCode.CONFIG_UNSUPPORTED,
]);

export interface DraftCheck {
  /** What this machine lacks to run the config (its script is not built yet, its user is unknown). */
  machine: ConfigIssue[];
  /** What is wrong with the config itself. */
  invalid: ConfigIssue[];
}

/** Validates `config` as the file `file` would be, before it is written; `clusterd init` uses it too. */
export function checkDraft(config: ClusterdConfig, file: string, format: OutputFormat): DraftCheck {
  try {
    resolveConfigData({ file, format, data: config, prefix: [] });
    return { machine: [], invalid: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const invalid = error.issues.filter((issue) => !MACHINE_CODES.has(issue.code));
    return { machine: invalid.length ? [] : [...error.issues], invalid };
  }
}

/**
 * Validates `config` as the file `file` would be, and returns what this machine lacks to run it.
 * Throws a ClusterdError (exit 70) when the config itself is invalid.
 */
export function checkImported(config: ClusterdConfig, file: string, format: OutputFormat): ConfigIssue[] {
  const { machine, invalid } = checkDraft(config, file, format);
  if (invalid.length)
    throw new ClusterdError(
      ErrorCode.INTERNAL,
      `the imported config does not validate, which is a bug of clusterd import pm2; please report it:\n${formatIssues(invalid)}`,
      ExitCode.INTERNAL,
    );
  return machine;
}
