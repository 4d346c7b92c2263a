// `clusterd up` in the root: the config file's changes (what SIGHUP does), then a rolling reload of every
// app those changes did not already roll or restart, so that new code on disk is picked up; an app stopped
// by `clusterd stop <app>` or errored is started. Answered once every app settled, app by app.
import type { ResolvedConfig } from '../config/resolved.js';
import type { UpApp, UpChange, UpReport } from '../control/protocol.js';
import { ClusterdError, ConfigError, ErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { failed, type OpResults, type Outcome } from '../protocol.js';
import type { AppRunner } from './app-runner.js';
import type { AppApplied, ConfigApplied } from './apply-changes.js';
import type { AppOutcome } from './supervisor.js';

/** What `up` needs of the supervisor. */
export interface UpTarget {
  readonly config: ResolvedConfig;
  reloadConfig(next: ResolvedConfig, canary?: boolean): Promise<ConfigApplied | null>;
  runner(name: string): AppRunner | undefined;
  startApp(name: string): () => Promise<AppOutcome<OpResults['start']>>;
}

/**
 * What `up` does to an app once its config change is done: reload it (new code on disk), start it (it
 * was stopped or errored), or nothing (the change started, rolled or restarted it already, or failed).
 */
export function nextStep(
  change: UpChange | null,
  outcomes: readonly Outcome[],
  settled: boolean,
): 'reload' | 'start' | null {
  if (change === 'added' || change === 'removed' || change === 'restarted') return null;
  // A failure is reported, not tried again: a reload would fail the same way.
  if (outcomes.some((o) => !o.ok)) return null;
  // A roll replaced every worker; one with no outcome was not done (the app is stopped or restarting).
  if (change === 'rolled' && outcomes.length > 0) return null;
  return settled ? 'start' : 'reload';
}

// Workers replaced by the reloads among the outcomes.
function replacedBy(outcomes: readonly Outcome[]): number {
  let replaced = 0;
  for (const o of outcomes)
    if (o.ok && typeof (o.result as { replaced?: unknown })?.replaced === 'number')
      replaced += (o.result as OpResults['reload']).replaced;
  return replaced;
}

async function upApp(
  target: UpTarget,
  name: string,
  applied: AppApplied | undefined,
  canary: boolean | undefined,
): Promise<UpApp> {
  const outcomes = applied ? [...(await applied.done)] : [];
  const report: UpApp = {
    app: name,
    change: applied?.change ?? null,
    ...(applied?.changed ? { changed: applied.changed } : {}),
    ...(applied?.instances ? { instances: applied.instances } : {}),
    action: null,
    replaced: 0,
    ok: true,
  };
  const runner = target.runner(name);
  if (runner && report.change === 'added') report.instances = { from: 0, to: runner.app.instances };
  const step = runner ? nextStep(report.change, outcomes, runner.settled) : null;
  if (runner && step === 'reload') {
    report.action = 'reloaded';
    outcomes.push(await runner.reload(canary));
  } else if (runner && step === 'start') {
    report.action = 'started';
    try {
      outcomes.push(await target.startApp(name)());
    } catch (error) {
      outcomes.push(
        failed(error instanceof ClusterdError ? error.code : ErrorCode.INTERNAL, errorMessage(error)),
      );
    }
  } else if (!runner && report.change !== 'removed') {
    outcomes.push(failed(ErrorCode.CONFLICT, 'the app left the config meanwhile'));
  }
  // A change no reload can make (the app was stopped and started anew): no canary judged it.
  if (runner && report.change === 'restarted' && (canary ?? runner.app.reload.canary.enabled))
    report.noCanary =
      'the config change restarted the app (no rolling reload can make it), so no canary judged it';
  report.replaced = replacedBy(outcomes);
  for (const o of outcomes) {
    const result = o.ok ? (o.result as Partial<OpResults['reload']> | undefined) : undefined;
    const judged = o.ok ? result?.canary : o.canary;
    if (judged) report.canary = judged;
    if (result?.noCanary) report.noCanary = result.noCanary;
  }
  const lost = outcomes.find((o) => !o.ok);
  if (lost && !lost.ok) {
    report.ok = false;
    report.reason = lost.reason;
    report.code = lost.code;
    report.serving = target.runner(name)?.state === 'running';
  }
  return report;
}

/**
 * Applies `next` (read and checked) as a config reload, then reloads or starts each app it left as it
 * was; resolves once every app settled. Throws a ConfigError if the run that served it found the file
 * invalid (a reload queued meanwhile read it again), an Error if the supervisor is stopping.
 */
export async function runUp(
  target: UpTarget,
  next: ResolvedConfig,
  log: Logger,
  canary?: boolean,
): Promise<UpReport> {
  const started = Date.now();
  const applied = await target.reloadConfig(next, canary);
  if (applied === null) throw new ClusterdError(ErrorCode.APP_STOPPING, 'the supervisor is stopping');
  if (!applied.ok) throw new ConfigError(applied.issues);
  const byApp = new Map(applied.changes.map((c) => [c.app, c]));
  const removed = applied.changes.filter((c) => c.change === 'removed').map((c) => c.app);
  const names = [...removed, ...target.config.apps.map((a) => a.name).filter((n) => !removed.includes(n))];
  const apps = await Promise.all(names.map((name) => upApp(target, name, byApp.get(name), canary)));
  const report: UpReport = {
    pid: process.pid,
    config: target.config.file,
    environment: target.config.environment,
    ok: apps.every((a) => a.ok),
    apps,
    ms: Date.now() - started,
  };
  const failed = apps.filter((a) => !a.ok);
  const fields = { config: report.config, up: apps, ms: report.ms };
  if (failed.length) log.error(fields, `up failed: ${failed.map((a) => `${a.app}: ${a.reason}`).join('; ')}`);
  else
    log.info(fields, `up done in ${report.ms} ms: ${apps.length} app${apps.length === 1 ? '' : 's'} ready`);
  return report;
}
