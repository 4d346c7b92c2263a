// The dashboard's actions on one app: reload (rolling), restart, scale. Carried out as the control
// commands do, by the supervisor; the answer is each app's outcome, or the reason it was refused.
import { ClusterdError, ErrorCode, errorMessage } from '../../errors.js';
import type { Supervisor } from '../../supervisor/supervisor.js';

export const ACTIONS = ['reload', 'restart', 'scale'] as const;
export type Action = (typeof ACTIONS)[number];

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

export interface ActionAnswer {
  status: number;
  body: object;
}

/** `to` of a scale: a count, `+N` or `-N`; null if it is none of those. */
export function scaleSpec(body: unknown): string | null {
  const to = (body as { to?: unknown } | null)?.to;
  const text = typeof to === 'number' ? String(to) : to;
  return typeof text === 'string' && /^[+-]?\d{1,4}$/.test(text) ? text : null;
}

export async function runAction(
  supervisor: Supervisor,
  app: string,
  action: Action,
  body: unknown,
): Promise<ActionAnswer> {
  try {
    switch (action) {
      case 'reload':
        return answer(await supervisor.reloadApps(app));
      case 'restart':
        return answer(await supervisor.restartApps(app));
      case 'scale': {
        const spec = scaleSpec(body);
        if (spec === null) return { status: 400, body: { error: 'scale takes {"to": N}, "+N" or "-N"' } };
        return answer([await supervisor.scaleApp(app, supervisor.scaleTarget(app, spec))]);
      }
    }
  } catch (error) {
    const unknown = error instanceof ClusterdError && error.code === ErrorCode.UNKNOWN_APP;
    return {
      status: unknown ? 404 : 400,
      body: { error: errorMessage(error), ...(error instanceof ClusterdError ? { code: error.code } : {}) },
    };
  }
}

function answer(
  outcomes: ({ app: string } & ({ ok: true } | { ok: false; reason: string }))[],
): ActionAnswer {
  const ok = outcomes.every((o) => o.ok);
  return { status: ok ? 200 : 409, body: { ok, outcomes } };
}
