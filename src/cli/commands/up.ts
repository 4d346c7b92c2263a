// `clusterd up [config]`: the one verb a deploy script needs. No clusterd running for the config: start
// one in the background (start --detach) and wait until every app is ready. One running: it re-reads the
// config file, applies the changes and reloads every app they left as it was (new code on disk), and this
// prints what changed; non-zero with the reason if an app did not end ready.
import { type Client, connect } from '../../client/index.js';
import { displayPath } from '../../config/display.js';
import { formatDuration } from '../../config/units.js';
import type { UpApp, UpReport } from '../../control/protocol.js';
import { UpError } from '../../control/up-error.js';
import { ClusterdError, ConfigError, commonCode, ErrorCode, EXIT_OF, ExitCode } from '../../errors.js';
import { formatCanary } from '../canary-table.js';
import type { Io } from '../io.js';
import { escapeField } from '../terminal-text.js';
import { MAX_JSON_ISSUES } from './validate.js';

export interface UpOptions {
  path: string | undefined;
  environment: string | undefined;
  /** ms: the bound of the whole `up` (default: derived from the apps' settings). */
  timeout: number | undefined;
  json: boolean;
  /** This deploy's canary phase (`--canary`, `--no-canary`); absent: each app's `reload.canary`. */
  canary?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// The step that failed, named as the command that does it.
const STEP: Record<NonNullable<UpApp['action'] | UpApp['change']>, string> = {
  reloaded: 'reload',
  started: 'start',
  added: 'start',
  removed: 'stop',
  scaled: 'scale',
  rolled: 'rolling reload',
  restarted: 'restart',
};

/** One app's line: what the change did, what `up` did then, or what failed and whether it still serves. */
export function describeUpApp(a: UpApp): string {
  if (!a.ok) {
    const step = STEP[a.action ?? a.change ?? 'reloaded'];
    const after = a.serving
      ? 'rolled back: the old workers keep serving'
      : 'it is not serving (see clusterd status and clusterd logs)';
    return `${a.app}: ${step} failed: ${a.reason}; ${after}`;
  }
  const parts: string[] = [];
  const count = a.instances ? `${a.instances.from} -> ${a.instances.to} workers` : '';
  if (a.change === 'added') parts.push(`added${a.instances ? `, ${plural(a.instances.to, 'worker')}` : ''}`);
  else if (a.change === 'removed') parts.push('removed');
  else if (a.change === 'scaled') parts.push(`scaled ${count}`);
  else if (a.change) parts.push(`${a.change} (${a.changed?.join(', ')})${count ? `, ${count}` : ''}`);
  if (a.action) parts.push(a.action === 'started' ? 'started (it was stopped)' : 'reloaded');
  if (a.replaced) parts.push(`${plural(a.replaced, 'worker')} replaced`);
  if (a.noCanary) parts.push(`no canary: ${a.noCanary}`);
  return `${a.app}: ${parts.join(', ') || 'unchanged'}`;
}

/** What `up` prints: the apps' lines (and canary verdicts) on stdout, the failures on stderr. Pure. */
export function formatUp(report: UpReport): { out: string; err: string } {
  const lines = (apps: UpApp[]) => apps.map((a) => `${escapeField(describeUpApp(a))}\n`).join('');
  const canaries = report.apps.map((a) => (a.canary ? formatCanary(a.app, a.canary) : '')).join('');
  const ready = report.apps.filter((a) => a.ok);
  const failed = report.apps.filter((a) => !a.ok);
  const where = `clusterd ${report.pid}, ${displayPath(report.config)}`;
  if (!failed.length)
    return {
      out: `${canaries}${lines(ready)}${escapeField(where)}: every app ready in ${formatDuration(report.ms)}\n`,
      err: '',
    };
  const err = failed.map((a) => `clusterd: ${escapeField(describeUpApp(a))}\n`).join('');
  return {
    out: `${canaries}${lines(ready)}`,
    err: `${err}clusterd: up failed for ${plural(failed.length, 'app')}\n`,
  };
}

async function running(path: string | undefined): Promise<Client | undefined> {
  try {
    return await connect(path === undefined ? {} : { config: path });
  } catch (error) {
    if (error instanceof ClusterdError && error.code === ErrorCode.NOT_RUNNING) return undefined;
    throw error;
  }
}

export async function upCommand(options: UpOptions, io: Io): Promise<number> {
  const client = await running(options.path);
  if (!client) {
    const { detachCommand } = await import('./detach.js');
    return detachCommand(
      {
        path: options.path,
        environment: options.environment,
        watch: false,
        watchConfig: false,
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      },
      io,
    );
  }
  let report: UpReport;
  try {
    report = await client.up({
      ...(options.environment === undefined ? {} : { environment: options.environment }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.canary === undefined ? {} : { canary: options.canary }),
    });
  } catch (error) {
    if (error instanceof UpError) report = error.report;
    else if (error instanceof ConfigError && options.json) {
      const errors = error.issues.slice(0, MAX_JSON_ISSUES);
      io.stdout(`${JSON.stringify({ valid: false, errors }, null, 2)}\n`);
      return error.exitCode;
    } else throw error;
  }
  if (options.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const { out, err } = formatUp(report);
    io.stdout(out);
    if (err) io.stderr(err);
  }
  if (report.ok) return ExitCode.OK;
  // A deploy script tells a rolled-back canary (4) and too little traffic (5) from any other failure.
  const code = commonCode(report.apps.filter((a) => !a.ok).map((a) => a.code ?? ErrorCode.COMMAND_FAILED));
  return code === ErrorCode.CANARY_FAILED || code === ErrorCode.CANARY_INCONCLUSIVE
    ? EXIT_OF[code]
    : ExitCode.FAILURE;
}
