// Why a deploy cannot run a canary phase for an app (config/canary.ts says why in words), or null.
import { canaryRefusal } from '../config/canary.js';
import type { ResolvedApp } from '../config/resolved.js';

export function canaryRefusalOf(app: ResolvedApp): string | null {
  return (
    canaryRefusal({
      program: app.program !== null,
      order: app.reload.order,
      requestMetrics: app.requestMetrics,
    })?.message ?? null
  );
}
