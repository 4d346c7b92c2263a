// `reload.canary`: `true`, `false` or an object as written, one layer of inheritance each (an app's
// `canary: true` keeps the thresholds its `defaults` set), resolved to durations in ms, and refused
// where clusterd could not judge a canary: a program (no request metrics: clusterd sees none of its
// requests), `order: "stop-first"` (there is no old worker beside the canary to compare with or to keep),
// `requestMetrics: false`, and a `weight` under a balancing that cannot weigh connections.
import { ErrorCode } from '../errors.js';
import { CANARY_DEFAULTS } from './defaults.js';
import type { ResolvedCanary } from './resolved.js';
import type { Report } from './run-as.js';
import type { Balancing, Canary, Reload } from './types.generated.js';

/** A `reload` layer with its `canary` as an object carrying `enabled` (what `true`/`false` say). */
export function reloadLayer(reload: Reload | undefined): Record<string, unknown> | undefined {
  if (reload === undefined || reload.canary === undefined)
    return reload as Record<string, unknown> | undefined;
  const c = reload.canary;
  return { ...reload, canary: typeof c === 'boolean' ? { enabled: c } : { enabled: true, ...c } };
}

/** The built-in layer under every app's: off, with the documented thresholds. */
export const BUILTIN_CANARY = { enabled: false, ...CANARY_DEFAULTS };

type Path = ['reload', 'canary', string];

export interface CanaryTools {
  duration(path: Path, options?: { positive?: boolean }): number;
  /** Where a setting came from (`/apps/0/reload/canary`, `/defaults/...`). */
  origin(path: string[]): string;
  report: Report;
}

export interface CanaryContext {
  program: boolean;
  order: string;
  balancing: Balancing;
  requestMetrics: boolean;
}

export function resolveCanary(
  c: Required<Canary> & { enabled: boolean },
  ctx: CanaryContext,
  tools: CanaryTools,
): ResolvedCanary {
  const { duration, origin, report } = tools;
  const canary: ResolvedCanary = {
    enabled: c.enabled,
    workers: c.workers,
    warmup: duration(['reload', 'canary', 'warmup']),
    observe: duration(['reload', 'canary', 'observe'], { positive: true }),
    weight: c.weight,
    minRequests: c.minRequests,
    insufficientTraffic: c.insufficientTraffic,
    maxErrorRateIncrease: c.maxErrorRateIncrease,
    confidence: c.confidence,
    latency: c.latency,
    maxLatencyRatio: c.maxLatencyRatio,
    latencySlack: duration(['reload', 'canary', 'latencySlack']),
    maxLoopDelayRatio: c.maxLoopDelayRatio,
    loopDelaySlack: duration(['reload', 'canary', 'loopDelaySlack']),
    maxRssRatio: c.maxRssRatio,
  };
  if (!c.enabled) return canary;
  // Set in `defaults` for every app, it is off for an app that cannot have it (as other Node.js-only
  // settings from defaults are ignored for a program), and a weight it cannot apply is its natural
  // share; the app's own setting is refused.
  const own = (path: string[]) => origin(path).startsWith('/apps/');
  const refuse = canaryRefusal(ctx);
  if (refuse) {
    if (own(['reload', 'canary']))
      report(ErrorCode.CONFIG_UNSUPPORTED, origin(['reload', 'canary']), refuse.message, refuse.hint);
    return { ...canary, enabled: false };
  }
  if (c.weight !== null && (ctx.balancing === 'round-robin' || ctx.balancing === 'kernel')) {
    if (!own(['reload', 'canary', 'weight']) && !own(['balancing'])) return { ...canary, weight: null };
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      origin(['reload', 'canary', 'weight']),
      `a canary weight needs balancing "least-connections" or "sticky": with "${ctx.balancing}" clusterd does not choose the worker of a connection`,
      'remove reload.canary.weight (the canaries get their natural share) or use balancing "least-connections"',
    );
  }
  return canary;
}

/** Why an app cannot have canary reloads (also for `reload --canary`), or null. */
export function canaryRefusal(
  ctx: Omit<CanaryContext, 'balancing'>,
): { message: string; hint: string } | null {
  if (ctx.program)
    return {
      message:
        "canary reloads judge a release by its requests, counted inside Node.js workers: clusterd sees none of a program's",
      hint: 'remove reload.canary',
    };
  if (ctx.order === 'stop-first')
    return {
      message:
        'canary reloads need reload.order "start-first": with "stop-first" no old worker serves beside the canary to compare it with, or to keep if it fails',
      hint: 'remove reload.canary, or use reload.order "start-first"',
    };
  if (!ctx.requestMetrics)
    return {
      message: 'canary reloads judge a release by its request metrics, which requestMetrics: false turns off',
      hint: 'remove requestMetrics: false, or reload.canary',
    };
  return null;
}
