// Log files that cannot be written, as the root knows them: each problem is said once as an event, and
// the ones still failing are listed by `clusterd status --json` (the one place an operator of a detached
// clusterd whose own log file fails can see it).
import type { LogFileFault } from '../control/protocol.js';
import { type LogFileReport, RETRY_MS } from './file.js';
import type { Logger } from './logger.js';

const failing = new Map<string, LogFileFault>();

export function logFileFaults(): LogFileFault[] {
  return [...failing.values()];
}

/** Records a log file's new state and logs it: an error when it fails, info when it is written again. */
export function reportLogFile(log: Logger, report: LogFileReport, app?: string): void {
  const { file } = report;
  if (report.state === 'failing') {
    const { error, message } = report;
    failing.set(file, { file, ...(app === undefined ? {} : { app }), error, message, since: Date.now() });
    log.error(
      { app, file, error },
      `cannot write log file ${file}: ${message}; its lines are dropped until it can be written again (tried every ${RETRY_MS / 1000} s)`,
    );
    return;
  }
  failing.delete(file);
  log.info(
    { app, file, dropped: report.dropped },
    `log file ${file} is written again (${report.dropped} lines dropped)`,
  );
}
