// What the live views watch (`clusterd monit`, the health server's dashboard): a sample of every app and
// worker each second, as `status` gathers it (state, CPU, memory, restarts, and the request figures of
// each primary's history over a short window), and the last minutes of them. It samples only while
// someone watches: with no view open it costs nothing; the samples already kept stay (a view that opens
// later shows the minutes before it, with a gap), and go as they age. The sampling, the timer and the
// clock are injected, so it is unit-tested on fake time.
import type { FleetSample, Status } from '../control/protocol.js';

export type { FleetApp, FleetSample, FleetWorker } from '../control/protocol.js';

/** How often a watched fleet is sampled (ms). */
export const FLEET_EVERY_MS = 1_000;
/** How long samples are kept (ms): the span a view can chart when it opens. */
export const FLEET_KEEP_MS = 5 * 60_000;
/**
 * The request figures' window (ms): two of the primaries' 2 s samples, so a rate follows a change in a
 * few seconds (`status` shows 10 s).
 */
export const FLEET_WINDOW_MS = 4_000;

export interface FleetOptions {
  sample: () => Promise<Status>;
  timer: (ms: number, fn: () => void) => () => void;
  now: () => number;
  everyMs?: number;
  keepMs?: number;
}

export type FleetListener = (sample: FleetSample) => void;

/** A status as a fleet sample taken at `at`. */
export function fleetSample(status: Status, at: number): FleetSample {
  return {
    at,
    pid: status.pid,
    uptime: status.uptime,
    apps: status.apps.map(({ workers, ...app }) => ({
      ...app,
      workers: workers.map(({ script: _script, ...worker }) => worker),
    })),
  };
}

/** The sample with only the app named (the sample itself when none is). */
export function onlyApp(sample: FleetSample, app: string | undefined): FleetSample {
  return app === undefined ? sample : { ...sample, apps: sample.apps.filter((a) => a.name === app) };
}

export class Fleet {
  private readonly kept: FleetSample[] = [];
  private readonly listeners = new Set<FleetListener>();
  private cancel: (() => void) | null = null;
  /** The timer that forgets the kept samples once they are old, while nobody watches. */
  private forget: (() => void) | null = null;
  private sampling = false;
  /** Which sampling loop is current: a sample still under way when the loop was halted (and perhaps
   * started again) ends that old loop, not a second one beside the new. */
  private loop = 0;
  private readonly everyMs: number;
  private readonly keepMs: number;

  constructor(private readonly options: FleetOptions) {
    this.everyMs = options.everyMs ?? FLEET_EVERY_MS;
    this.keepMs = options.keepMs ?? FLEET_KEEP_MS;
  }

  /** Calls `listener` with each new sample; the first listener starts the sampling, the last one's leaving stops it. */
  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    if (!this.sampling) {
      this.sampling = true;
      this.forget?.();
      this.forget = null;
      this.tick(this.loop);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.halt();
    };
  }

  /** Whether anyone watches (the sampling runs). */
  get watched(): boolean {
    return this.sampling;
  }

  /** The samples kept, oldest first; those taken at or after `since` (ms since the epoch) if given. */
  history(since = 0): FleetSample[] {
    this.drop(this.options.now() - this.keepMs);
    return this.kept.filter((s) => s.at >= since);
  }

  /** Stops sampling, whoever listens. What is kept goes once it is older than `keepMs`. */
  halt(): void {
    this.sampling = false;
    this.loop += 1;
    this.cancel?.();
    this.cancel = null;
    const newest = this.kept.at(-1);
    if (newest && !this.forget)
      this.forget = this.options.timer(Math.max(0, newest.at + this.keepMs - this.options.now()), () => {
        this.forget = null;
        this.drop(this.options.now() - this.keepMs);
      });
  }

  private drop(cutoff: number): void {
    while (this.kept.length > 0 && (this.kept[0] as FleetSample).at < cutoff) this.kept.shift();
  }

  // One sample, then the next one `everyMs` after this one began (one that took longer: at once after
  // it). Samples never overlap: a slow status delays the next one rather than piling them up.
  private tick(loop: number): void {
    this.cancel = null;
    if (!this.sampling || loop !== this.loop) return;
    const began = this.options.now();
    this.options.sample().then(
      // Stamped when it began: samples are `everyMs` apart however long each status took.
      (status) => this.next(loop, began, fleetSample(status, began)),
      () => this.next(loop, began, null),
    );
  }

  private next(loop: number, began: number, sample: FleetSample | null): void {
    if (!this.sampling || loop !== this.loop) return;
    if (sample) this.record(sample);
    // A listener may have been the last to leave while it was given the sample (a client dropped for
    // falling behind): the loop ends here, no timer is left behind.
    if (!this.sampling || loop !== this.loop) return;
    const wait = Math.max(0, this.everyMs - (this.options.now() - began));
    this.cancel = this.options.timer(wait, () => this.tick(loop));
  }

  private record(sample: FleetSample): void {
    this.kept.push(sample);
    this.drop(sample.at - this.keepMs);
    for (const listener of this.listeners) {
      try {
        listener(sample);
      } catch {
        // A listener's fault is its own: the others still get the sample.
      }
    }
  }
}
