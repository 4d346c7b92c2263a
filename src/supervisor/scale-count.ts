// Two decisions about an app's settings, pure: the worker count `clusterd scale` asks for, and whether
// its workers run as root (warned about once per app).
import type { ResolvedApp } from '../config/resolved.js';
import { ClusterdError, ErrorCode } from '../errors.js';

/** The most workers one app may run. */
export const MAX_INSTANCES = 1024;

/** The count `N`, `+N` or `-N` asks of an app running `from` workers; throws if clusterd cannot run it. */
export function scaleCount(from: number, spec: string): number {
  const match = /^([+-]?)(\d+)$/.exec(spec);
  if (!match) throw new ClusterdError(ErrorCode.USAGE, `instances must be N, +N or -N, got "${spec}"`);
  const n = Number(match[2]);
  const to = match[1] === '+' ? from + n : match[1] === '-' ? from - n : n;
  if (to < 1 || to > MAX_INSTANCES)
    throw new ClusterdError(
      ErrorCode.SCALE_FAILED,
      `instances must stay between 1 and ${MAX_INSTANCES}, got ${to}`,
    );
  return to;
}

/** Whether a supervisor running as `uid` runs this app's workers as root. */
export function runsAsRoot(app: Pick<ResolvedApp, 'runAs'>, uid: number | undefined): boolean {
  return uid === 0 && (app.runAs === null || app.runAs.uid === 0);
}
