// What one app's workers run, as its AppRunner keeps track of it for a restarted primary: the settings
// they were last started or reloaded onto, and after a reload that failed and rolled back (the primary
// restored what ran before) those settings with the release the primary said they run, until a reload
// succeeds. Apart from app-runner.ts: bookkeeping only, no process and no request (the runner makes
// the reload and hands it here), so the rule of what a restart runs reads in one place.
import type { ResolvedApp } from '../config/resolved.js';
import { ErrorCode } from '../errors.js';
import type { OpResults, Outcome } from '../protocol.js';

/** The failures of a reload after which the old workers still serve, on what they ran before. */
const ROLLED_BACK: ReadonlySet<string> = new Set([
  ErrorCode.RELOAD_FAILED,
  ErrorCode.CANARY_FAILED,
  ErrorCode.CANARY_INCONCLUSIVE,
]);

export class DeployedSettings {
  /** The settings and release the workers run after a failed reload, for a restarted primary; null: `app`. */
  private runs: ResolvedApp | null = null;
  /** The settings the workers were last started or reloaded onto. */
  private deployed: ResolvedApp | null = null;
  /** The release the primary last said its workers run. */
  private release: { script: string; cwd: string } | null = null;

  /** The primary said which release its workers run. */
  released(release: { script: string; cwd: string }): void {
    this.release = release;
  }

  // A reload onto `app`, which `send` asks of the primary. Failed, the workers run what they ran (the
  // primary restored it): a restarted primary starts on that too, with the release they run, until a
  // reload succeeds.
  async reload(
    app: ResolvedApp,
    send: () => Promise<Outcome<OpResults['reload']>>,
  ): Promise<Outcome<OpResults['reload']>> {
    const before = this.runs ?? this.deployed;
    const outcome = await send();
    if (outcome.ok) {
      this.deployed = app;
      this.runs = null;
    } else if (ROLLED_BACK.has(outcome.code) && before && this.release) {
      this.runs = { ...before, release: this.release };
    }
    return outcome;
  }

  /**
   * What a (re)started primary runs: `app` (the runner's settings), or after a failed reload what the
   * workers ran, at `app`'s worker count. The former is what the workers are deployed onto from then.
   */
  forStart(app: ResolvedApp): ResolvedApp {
    const start = this.runs ? { ...this.runs, instances: app.instances } : app;
    if (!this.runs) this.deployed = start;
    return start;
  }
}
