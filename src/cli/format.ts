// How resolved configs are shown to people (problems: config/format-issues.ts).
import { clip, displayPath } from '../config/display.js';
import type { ResolvedConfig, ResolvedGuards, ResolvedLogs, ResolvedRestart } from '../config/resolved.js';
import { formatDuration, formatSize } from '../config/units.js';
import { crashLoopLimit } from '../lifecycle/policy.js';
import { resolveRelease } from '../primary/process/release.js';

export { formatIssue, formatIssues } from '../config/format-issues.js';

// Where `validate` says the app's output is written: one file, or stdout and stderr apart, and the time.
export function describeLogFiles(logs: ResolvedLogs): string {
  const { file, errorFile, timestamp } = logs;
  const files =
    errorFile && errorFile !== file
      ? [file && `${displayPath(file)} (stdout)`, `${displayPath(errorFile)} (stderr)`]
          .filter(Boolean)
          .join(', ')
      : file && displayPath(file);
  if (!files) return '';
  if (timestamp === false) return files;
  return `${files}, lines timestamped ${timestamp === true ? 'in ISO 8601 (UTC)' : JSON.stringify(timestamp)}`;
}

/** A resolved config for `validate --json`. Env values are left out: they often hold secrets. */
export function configSummary(config: ResolvedConfig) {
  return {
    valid: true,
    file: config.file,
    environment: config.environment,
    apps: config.apps.map(({ env, ...app }) => ({
      ...app,
      crashLoopLimit: crashLoopLimit(app.restart),
      envKeys: Object.keys(env)
        .filter((k) => env[k] !== null)
        .sort(),
      envUnset: Object.keys(env)
        .filter((k) => env[k] === null)
        .sort(),
    })),
  };
}

// An argument as the user would type it in a shell, so spaces and metacharacters show as one argument
// passed verbatim; long lists are shortened.
const shellWord = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg));
const argList = (args: readonly string[]) =>
  clip(args.map((a) => ` ${shellWord(clip(a, 100))}`).join(''), 300);

/** When the crash-loop limit is reached with these settings (lifecycle/policy.ts). */
export function givesUp(restart: ResolvedRestart): string {
  if (restart.policy === 'never') return 'never restarts (restart.policy never)';
  const { failedStarts, backoffMs } = crashLoopLimit(restart);
  const limit = `(restart.maxRestarts ${restart.maxRestarts})`;
  if (failedStarts === 1) return `at the first failed start, with no restart ${limit}`;
  return `after ${failedStarts} failed starts in a row ${limit}, about ${formatDuration(backoffMs)} plus the time each start runs`;
}

/** The human summary `validate` prints for a valid config. */
/** The guards an app has, in a line; empty when it has none. */
export function describeGuards(g: ResolvedGuards): string {
  const parts: string[] = [];
  const { limit, hardLimit, interval } = g.memory;
  if (limit !== null || hardLimit !== null) {
    const said = [
      ...(limit !== null ? [`replaced over ${formatSize(limit)}`] : []),
      ...(hardLimit !== null ? [`killed over ${formatSize(hardLimit)}`] : []),
    ];
    parts.push(`memory ${said.join(', ')} (RSS every ${formatDuration(interval)})`);
  }
  if (g.heartbeat.timeout !== null)
    parts.push(
      `heartbeat every ${formatDuration(g.heartbeat.interval)}, replaced after ${formatDuration(g.heartbeat.timeout)} without an answer`,
    );
  const { maxAge, cron, timezone, jitter } = g.recycle;
  const jittered = jitter ? ` (+ up to ${formatDuration(jitter)})` : '';
  if (maxAge !== null) parts.push(`recycled at ${formatDuration(maxAge)} old${jittered}`);
  if (cron !== null) parts.push(`recycled at "${cron}"${timezone ? ` ${timezone}` : ''}${jittered}`);
  return parts.join('; ');
}

export function formatConfig(config: ResolvedConfig, warnings: readonly string[] = []): string {
  const lines = [
    `${displayPath(config.file)} is valid${config.environment ? ` (environment: ${config.environment})` : ''}`,
  ];
  for (const app of config.apps) {
    const r = app.restart;
    // Through a symbolic link (`current -> releases/N`): what a worker started now would run.
    const release = resolveRelease(app);
    const via = (path: string, real: string) => (real === path ? '' : ` (now ${displayPath(real)})`);
    lines.push(
      '',
      `app "${app.name}": ${app.instances} worker${app.instances === 1 ? '' : 's'}, ${app.balancing} balancing`,
      `  script    ${shellWord(displayPath(app.script))}${argList(app.args)}${via(app.script, release.script)}`,
      `  cwd       ${displayPath(app.cwd) || '.'}${via(app.cwd, release.cwd)}`,
      `  ready     on ${app.readiness}, within ${formatDuration(app.readyTimeout)}`,
      `  restart   ${r.policy}, backoff ${formatDuration(r.backoff.initial)} x${r.backoff.factor} up to ${formatDuration(r.backoff.max)}, stable after ${formatDuration(r.stableAfter)}`,
      `  gives up  ${givesUp(r)}`,
      `  shutdown  ${app.shutdown.spread ? `long-lived connections closed over ${formatDuration(app.shutdown.spread)}, then ` : ''}${app.shutdown.signal}, SIGKILL after ${formatDuration(app.shutdown.timeout)}${app.shutdown.spread ? ' more' : ''}`,
      `  watch     ${app.watch.enabled ? `${app.watch.paths.map((p) => displayPath(p) || '.').join(', ')} (debounce ${formatDuration(app.watch.debounce)})` : 'off'}`,
    );
    const keys = Object.keys(app.env);
    if (keys.length)
      lines.push(
        `  env       ${clip(keys.map((k) => `${app.env[k] === null ? '-' : ''}${shellWord(clip(k, 100))}`).join(', '), 300)}`,
      );
    // The files only: their variables are read at each worker start, and may be secrets.
    if (app.envFiles.length)
      lines.push(`  env files ${clip(app.envFiles.map((f) => shellWord(displayPath(f))).join(', '), 300)}`);
    const logFiles = describeLogFiles(app.logs);
    if (logFiles) lines.push(`  log file  ${logFiles}`);
    const guards = describeGuards(app.guards);
    if (guards) lines.push(`  guards    ${guards}`);
    if (app.runAs) {
      const { user, uid, gid } = app.runAs;
      lines.push(`  runs as   ${user ? `user ${user} (uid ${uid}, gid ${gid})` : `uid ${uid}, gid ${gid}`}`);
    }
  }
  for (const warning of warnings) lines.push('', `warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
