// The error `up` ends with when an app did not end ready. Beside the protocol's UpReport rather than in
// errors.ts, which must stay a leaf: errors.ts importing the protocol's types made a loop of modules.
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import type { UpReport } from './protocol.js';

/** `up` ran, and an app did not end ready: `report` says what was done to each app, and why it failed. */
export class UpError extends ClusterdError {
  readonly report: UpReport;

  constructor(message: string, report: UpReport) {
    super(ErrorCode.COMMAND_FAILED, message, ExitCode.FAILURE);
    this.name = 'UpError';
    this.report = report;
  }
}
