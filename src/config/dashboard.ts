// `health.dashboard`: what the config asks of the dashboard, resolved, and the rules on where it may be
// served. Pure: the token itself is read when the server starts (health/dashboard/token.ts), never here,
// so `clusterd validate` runs where the secret is not.
import { isAbsolute, join } from 'node:path';
import { ErrorCode } from '../errors.js';
import type { SchemaIssue } from './schema-issues.js';
import type { Dashboard } from './types.generated.js';

/** Where the token is read: an environment variable, or a file (an absolute path). */
export type TokenSource = { readonly env: string } | { readonly file: string };

export interface ResolvedDashboard {
  /** Reload, restart and scale from the page (only with a token). */
  readonly actions: boolean;
  /** Null: no sign-in (allowed on a loopback host only). */
  readonly token: TokenSource | null;
}

/**
 * Whether `host` only takes connections from this machine: `localhost`, 127.0.0.0/8, `::1` (and
 * `::ffff:127.x.y.z`). Anything else (`0.0.0.0`, `::`, an interface's address, a name) is reachable
 * from elsewhere.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The config's `health.dashboard` (valid by the schema) resolved: null when off. */
export function resolveDashboard(
  raw: boolean | Dashboard | undefined,
  configDir: string,
): ResolvedDashboard | null {
  if (raw === undefined || raw === false) return null;
  if (raw === true) return { actions: false, token: null };
  const token = raw.token;
  let source: TokenSource | null = null;
  if (token?.env !== undefined) source = { env: token.env };
  else if (token?.file !== undefined)
    source = { file: isAbsolute(token.file) ? token.file : join(configDir, token.file) };
  return { actions: raw.actions ?? false, token: source };
}

const WHERE =
  'set health.dashboard.token to { "env": "CLUSTERD_DASHBOARD_TOKEN" } or { "file": "/run/secrets/clusterd-dashboard" }';

/**
 * Why this dashboard may not be served on `host`, or null: actions need a token, and so does a host
 * other than loopback (whoever reaches the port would see the apps and their logs).
 */
export function dashboardRefusal(host: string, dashboard: ResolvedDashboard | null): SchemaIssue | null {
  if (!dashboard || dashboard.token) return null;
  if (dashboard.actions)
    return {
      code: ErrorCode.CONFIG_MISSING_KEY,
      pointer: '/health/dashboard',
      message: 'health.dashboard.actions needs a token: whoever reaches the port could restart the apps',
      hint: WHERE,
    };
  if (!isLoopback(host))
    return {
      code: ErrorCode.CONFIG_MISSING_KEY,
      pointer: '/health/dashboard',
      message: `the dashboard on ${host} (not loopback) needs a token: whoever reaches the port would see the apps and their logs`,
      hint: `${WHERE}, or bind health.host to 127.0.0.1 and use kubectl port-forward or an SSH tunnel`,
    };
  return null;
}
