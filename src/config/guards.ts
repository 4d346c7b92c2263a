// An app's resource guards (`guards`), checked together: limits that make sense against each other, a
// cron pattern and a time zone that croner can read. croner is loaded only for a config that has a
// cron pattern (every command loads configs; few of them recycle on a schedule).
import { createRequire } from 'node:module';
import { ErrorCode } from '../errors.js';
import type { ResolvedGuards } from './resolved.js';
import type { Report } from './run-as.js';
import type { HeartbeatGuard, MemoryGuard, Recycling } from './types.generated.js';
import { formatSize } from './units.js';

/** `guards` after inheritance: every key present. */
export interface GuardSettings {
  memory: Required<MemoryGuard>;
  heartbeat: Required<HeartbeatGuard>;
  recycle: Required<Recycling>;
}

type Path = ['guards', string, string];

export interface GuardTools {
  duration(path: Path, options?: { positive?: boolean }): number;
  size(path: Path): number;
  origin(path: Path): string;
  report: Report;
}

const require = createRequire(import.meta.url);

/** Why croner refuses a pattern or a time zone, or null when it reads them. */
export function cronProblem(pattern: string, timezone: string | null): string | null {
  const { Cron } = require('croner') as typeof import('croner');
  try {
    const job = new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
    // The time zone is only used, and so checked, when a time is computed.
    job.nextRun();
    job.stop();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function validTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

export function resolveGuards(g: GuardSettings, tools: GuardTools): ResolvedGuards {
  const { duration, size, origin, report } = tools;
  const nullable = <T>(value: unknown, read: () => T): T | null => (value === null ? null : read());

  const limit = nullable(g.memory.limit, () => size(['guards', 'memory', 'limit']));
  const hardLimit = nullable(g.memory.hardLimit, () => size(['guards', 'memory', 'hardLimit']));
  if (limit !== null && hardLimit !== null && hardLimit <= limit) {
    report(
      ErrorCode.CONFIG_RANGE,
      origin(['guards', 'memory', 'hardLimit']),
      `must be greater than guards.memory.limit (${formatSize(hardLimit)} <= ${formatSize(limit)})`,
      'the hard limit kills; the limit replaces a worker gently before it gets there',
    );
  }
  const memory = {
    limit,
    hardLimit,
    interval: duration(['guards', 'memory', 'interval'], { positive: true }),
  };

  const interval = duration(['guards', 'heartbeat', 'interval'], { positive: true });
  const timeout = nullable(g.heartbeat.timeout, () =>
    duration(['guards', 'heartbeat', 'timeout'], { positive: true }),
  );
  if (timeout !== null && timeout > 0 && timeout < interval) {
    report(
      ErrorCode.CONFIG_RANGE,
      origin(['guards', 'heartbeat', 'timeout']),
      `must not be shorter than guards.heartbeat.interval (${timeout} ms < ${interval} ms): a worker could not answer in time`,
    );
  }

  const { cron, timezone } = g.recycle;
  if (timezone !== null && !validTimezone(timezone)) {
    report(
      ErrorCode.CONFIG_RANGE,
      origin(['guards', 'recycle', 'timezone']),
      `"${timezone}" is not a time zone this Node.js knows`,
      'use an IANA name such as "UTC" or "Europe/Paris"',
    );
  } else if (cron !== null) {
    const problem = cronProblem(cron, timezone);
    if (problem)
      report(
        ErrorCode.CONFIG_RANGE,
        origin(['guards', 'recycle', 'cron']),
        `is not a cron pattern: ${problem}`,
        'five fields (minute hour day month weekday), or six with seconds first: "0 4 * * *"',
      );
  }
  if (timezone !== null && cron === null) {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      origin(['guards', 'recycle', 'timezone']),
      'a time zone is for guards.recycle.cron, which this app does not set',
      'set a cron pattern, or remove timezone',
    );
  }
  const recycle = {
    maxAge: nullable(g.recycle.maxAge, () => duration(['guards', 'recycle', 'maxAge'], { positive: true })),
    cron,
    timezone,
    jitter: duration(['guards', 'recycle', 'jitter']),
  };
  return { memory, heartbeat: { timeout, interval }, recycle };
}

/** What the guards of a valid config will not do as the operator may expect, on this machine. */
export function guardWarnings(
  apps: readonly { name: string; instances: number; guards: ResolvedGuards }[],
  machine: { memoryMax: number | null; platform: NodeJS.Platform },
): string[] {
  const warnings: string[] = [];
  const limited = apps.filter((a) => a.guards.memory.limit !== null || a.guards.memory.hardLimit !== null);
  if (limited.length && machine.platform !== 'linux')
    warnings.push(
      `guards.memory reads each worker's memory from /proc, which ${machine.platform} does not have: ${limited.map((a) => a.name).join(', ')} will not be guarded here`,
    );
  const { memoryMax } = machine;
  if (memoryMax !== null && limited.length) {
    // What the workers may reach before a guard acts: the hard limit where there is one.
    const parts = limited.map((a) => {
      const per = a.guards.memory.hardLimit ?? a.guards.memory.limit ?? 0;
      return { text: `${a.instances} x ${formatSize(per)} (${a.name})`, bytes: a.instances * per };
    });
    const total = parts.reduce((sum, p) => sum + p.bytes, 0);
    if (total > memoryMax)
      warnings.push(
        `the workers may use ${parts.map((p) => p.text).join(' + ')} = ${formatSize(total)} before their memory guards act, more than this cgroup's memory.max (${formatSize(memoryMax)}): the kernel's OOM killer would act first, killing a worker mid-request. Lower guards.memory.limit or hardLimit, or instances`,
      );
  }
  return warnings;
}
