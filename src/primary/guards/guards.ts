// The resource guards of one app's pool (`guards`): a worker over its memory limit, one that no longer
// answers its heartbeat, one old enough or whose recycling time came, is replaced by a rolling reload of
// its slot (the pool's `replace`: successor first); over the hard limit, or stuck while it drains, it is
// killed. The guards decide; reading memory, sending heartbeats, timers and the clock are injected, so
// every decision runs against fake workers and fake time (test/primary/guards.test.ts).
import type { ResolvedGuards, ResolvedRestart } from '../../config/resolved.js';
import { formatDuration, formatSize } from '../../config/units.js';
import { backoffDelay } from '../../lifecycle/policy.js';
import type { GuardCause, PrimaryMessage } from '../../protocol.js';
import type { ThreadSample } from '../pool/tracked-worker.js';

/** What a worker is to its slot: the guards treat each differently. */
export type GuardedRole = 'starting' | 'serving' | 'successor' | 'draining';

/** What the guards need of a worker. */
export interface Guarded {
  readonly slot: number;
  readonly pid: number | null;
  readonly startedAt: number;
  /** When it became ready, or null. */
  readonly readyAt: number | null;
  /** Since when it has not answered (set by the heartbeat guard): it cannot drain, so it is killed instead. */
  stuckSince: number | null;
  rss(): number | null;
  beat(): boolean;
  mainThread(): ThreadSample | null;
}

type GuardReport = Omit<Extract<PrimaryMessage, { type: 'guard' }>, 'type'>;

export interface GuardHost<W extends Guarded> {
  /** Every live worker and its role. */
  workers(): readonly { worker: W; role: GuardedRole }[];
  /**
   * Replaces a serving worker by a rolling reload of its slot; `done` tells whether its successor took
   * over. False when it is not done at all (the worker does not serve its slot, the app is stopping).
   */
  replace(worker: W, cause: GuardCause, done: (ok: boolean) => void): boolean;
  /** SIGKILL now; `reason` is why it ended. */
  kill(worker: W, reason: string): void;
  report(report: GuardReport): void;
  timer(ms: number, fn: () => void): () => void;
  now(): number;
  /** In [0, 1): the jitter's draw. */
  random(): number;
  /** Calls `fn` at every time of a cron pattern; returns how to stop it. */
  cron(pattern: string, timezone: string | null, fn: () => void): () => void;
}

/** What one memory check decides: kill (hard limit), replace (limit, or on its way past it), or nothing. */
export function memoryAction(
  limits: { limit: number | null; hardLimit: number | null },
  rss: number,
  previous: { rss: number; at: number } | null,
  now: number,
  /** How long a successor takes to be ready: the time the worker goes on serving once replaced (ms). */
  lead: number,
): 'kill' | 'replace' | 'predicted' | null {
  if (limits.hardLimit !== null && rss > limits.hardLimit) return 'kill';
  if (limits.limit === null) return null;
  if (rss > limits.limit) return 'replace';
  if (previous && now > previous.at) {
    const rate = (rss - previous.rss) / (now - previous.at);
    if (rate > 0 && rss + rate * lead > limits.limit) return 'predicted';
  }
  return null;
}

/** What the guards know of one worker. */
interface Watch {
  previous: { rss: number; at: number } | null;
  /** Cancels the deadline of the heartbeat waiting for its answer. */
  pending: (() => void) | null;
  sent: { at: number; thread: ThreadSample | null } | null;
  /** Its random share of `recycle.jitter` (ms), drawn once. */
  jitter: number | null;
  /** A replacement was asked for (and not failed since). */
  replacing: boolean;
  killed: boolean;
  held: boolean;
  /** Pauses of its heartbeat under way (a heap snapshot stops its event loop on purpose). */
  paused: number;
}

export class Guards<W extends Guarded> {
  private readonly watched = new WeakMap<W, Watch>();
  /** Per slot: replacements that failed or came too soon after the worker started, and when the next may. */
  private readonly slots = new Map<number, { attempts: number; notBefore: number }>();
  private readonly cancels = new Set<() => void>();
  private running = false;

  constructor(
    private readonly host: GuardHost<W>,
    private settings: ResolvedGuards,
    private restart: ResolvedRestart,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const { memory, heartbeat, recycle } = this.settings;
    if (memory.limit !== null || memory.hardLimit !== null)
      this.every(memory.interval, () => this.checkMemory());
    if (heartbeat.timeout !== null) this.every(heartbeat.interval, () => this.sendBeats());
    if (recycle.maxAge !== null) this.every(Math.min(1_000, recycle.maxAge), () => this.checkAge());
    if (recycle.cron !== null)
      this.cancels.add(this.host.cron(recycle.cron, recycle.timezone, () => this.scheduled()));
  }

  stop(): void {
    this.running = false;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }

  /** New settings (a reload): the guards start again on them; what they know of each worker stays. */
  update(settings: ResolvedGuards, restart: ResolvedRestart): void {
    const was = this.running;
    this.stop();
    this.settings = settings;
    this.restart = restart;
    if (was) this.start();
  }

  /** The worker answered a heartbeat: its loop turns (again). */
  answered(worker: W): void {
    const watch = this.watched.get(worker);
    if (!watch) return;
    watch.pending?.();
    watch.pending = null;
    watch.sent = null;
    // One that was stuck can drain again, if its replacement has not killed it yet.
    worker.stuckSince = null;
  }

  /**
   * Pauses the heartbeat of `worker` (a heap snapshot blocks its event loop on purpose): no beat is sent
   * to it, and one already sent is not held against it, until the function returned is called; then its
   * next beat starts afresh. Pauses may overlap: the heartbeat resumes with the last of them.
   */
  pause(worker: W): () => void {
    const watch = this.watch(worker);
    watch.paused += 1;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      watch.paused -= 1;
      if (watch.paused > 0) return;
      watch.pending?.();
      watch.pending = null;
      watch.sent = null;
    };
  }

  private every(ms: number, fn: () => void): void {
    let cancel = () => {};
    const arm = () => {
      cancel = this.host.timer(ms, () => {
        if (!this.running) return;
        fn();
        arm();
      });
    };
    arm();
    this.cancels.add(() => cancel());
  }

  private watch(worker: W): Watch {
    let watch = this.watched.get(worker);
    if (!watch) {
      watch = {
        previous: null,
        pending: null,
        sent: null,
        jitter: null,
        replacing: false,
        killed: false,
        held: false,
        paused: 0,
      };
      this.watched.set(worker, watch);
    }
    return watch;
  }

  private slot(id: number): { attempts: number; notBefore: number } {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { attempts: 0, notBefore: 0 };
      this.slots.set(id, slot);
    }
    return slot;
  }

  private kill(worker: W, cause: GuardCause, message: string, fields: GuardReport['fields']): void {
    const watch = this.watch(worker);
    if (watch.killed) return;
    watch.killed = true;
    this.host.report({ worker: worker.slot, pid: worker.pid, cause, action: 'kill', message, fields });
    this.host.kill(worker, message);
  }

  // A replacement, unless the slot's replacements failed or came too soon lately: then it waits (backoff).
  private replace(
    worker: W,
    cause: GuardCause,
    message: string,
    fields: GuardReport['fields'],
    { urgent = false } = {},
  ): void {
    const watch = this.watch(worker);
    if (watch.replacing) return;
    const now = this.host.now();
    const slot = this.slot(worker.slot);
    const report = (action: GuardReport['action'], text: string) =>
      this.host.report({ worker: worker.slot, pid: worker.pid, cause, action, message: text, fields });
    if (!urgent && now < slot.notBefore) {
      if (!watch.held) {
        watch.held = true;
        report(
          'hold',
          `${message}; replaced in ${formatDuration(slot.notBefore - now)} at the earliest: the slot's last replacement failed or came soon after its start`,
        );
      }
      return;
    }
    // Replaced before it was stable: the next replacement of the slot waits longer each time in a row
    // (a limit below what a new worker needs would otherwise fork a worker every check).
    const young = now - worker.startedAt < this.restart.stableAfter;
    const backOff = () => {
      slot.attempts += 1;
      slot.notBefore = now + backoffDelay(this.restart, slot.attempts - 1);
    };
    if (young && cause === 'memory') backOff();
    else slot.attempts = 0;
    watch.replacing = true;
    const started = this.host.replace(worker, cause, (ok) => {
      if (ok) return;
      watch.replacing = false;
      backOff();
    });
    if (started) report('replace', `${message}: replacing it`);
    else watch.replacing = false;
  }

  private checkMemory(): void {
    const { limit, hardLimit } = this.settings.memory;
    const now = this.host.now();
    const workers = this.host.workers();
    // A successor is ready this long after its fork, as the app's latest ready worker took.
    let lead = 0;
    let latest = -1;
    for (const { worker } of workers)
      if (worker.readyAt !== null && worker.startedAt > latest) {
        latest = worker.startedAt;
        lead = worker.readyAt - worker.startedAt;
      }
    for (const { worker, role } of workers) {
      const rss = worker.rss();
      if (rss === null) continue;
      const watch = this.watch(worker);
      const previous = watch.previous;
      watch.previous = { rss, at: now };
      const action = memoryAction({ limit, hardLimit }, rss, previous, now, lead);
      if (action === 'kill' && hardLimit !== null) {
        this.kill(
          worker,
          'memory-hard',
          `RSS ${formatSize(rss)} is over guards.memory.hardLimit (${formatSize(hardLimit)}): killed`,
          { rss, hardLimit },
        );
      } else if ((action === 'replace' || action === 'predicted') && role === 'serving' && limit !== null) {
        const rate = previous ? Math.round(((rss - previous.rss) / (now - previous.at)) * 1000) : 0;
        const message =
          action === 'replace'
            ? `RSS ${formatSize(rss)} is over guards.memory.limit (${formatSize(limit)})`
            : `RSS ${formatSize(rss)}, growing ${formatSize(rate)}/s, passes guards.memory.limit (${formatSize(limit)}) before a successor can be ready (${formatDuration(lead)})`;
        this.replace(worker, 'memory', message, { rss, limit });
      }
    }
  }

  private sendBeats(): void {
    const { timeout } = this.settings.heartbeat;
    if (timeout === null) return;
    for (const { worker, role } of this.host.workers()) {
      if (role === 'starting' || worker.readyAt === null) continue;
      const watch = this.watch(worker);
      if (watch.pending || watch.killed || watch.paused > 0 || !worker.beat()) continue;
      watch.sent = { at: this.host.now(), thread: worker.mainThread() };
      watch.pending = this.host.timer(timeout, () => {
        watch.pending = null;
        this.unanswered(worker);
      });
    }
  }

  // No answer for `timeout`: its event loop is blocked. Where it is blocked, as far as the system tells.
  private unanswered(worker: W): void {
    const watch = this.watch(worker);
    const sent = watch.sent;
    // Paused since this beat was sent: its silence is the pause's.
    if (watch.paused > 0) watch.sent = null;
    if (!sent || watch.paused > 0) return;
    const role = this.host.workers().find((w) => w.worker === worker)?.role;
    if (!role) return;
    const silent = this.host.now() - sent.at;
    const thread = worker.mainThread();
    let where = '';
    if (thread && sent.thread) {
      const busy = Math.min(
        100,
        Math.round(((thread.cpuMs - sent.thread.cpuMs) / Math.max(1, silent)) * 100),
      );
      where =
        thread.state === 'R' || busy >= 50
          ? `; its main thread is running (${busy}% CPU): a loop that does not end`
          : `; its main thread is waiting (state ${thread.state}, ${busy}% CPU): a synchronous call that does not return`;
    }
    const message = `no answer to its heartbeat for ${formatDuration(silent)} (guards.heartbeat.timeout ${formatDuration(this.settings.heartbeat.timeout ?? 0)})${where}`;
    const fields = { silentMs: silent, ...(thread ? { threadState: thread.state } : {}) };
    if (role === 'serving') {
      worker.stuckSince = sent.at;
      this.replace(worker, 'unresponsive', message, fields, { urgent: true });
    } else {
      // A successor that hangs fails its reload; one that hangs while it drains would never finish.
      this.kill(worker, 'unresponsive', `${message}: killed, it cannot drain`, fields);
    }
  }

  private checkAge(): void {
    const { maxAge, jitter } = this.settings.recycle;
    if (maxAge === null) return;
    const now = this.host.now();
    for (const { worker, role } of this.host.workers()) {
      if (role !== 'serving') continue;
      const watch = this.watch(worker);
      watch.jitter ??= Math.floor(this.host.random() * jitter);
      const age = now - worker.startedAt;
      if (age >= maxAge + watch.jitter)
        this.replace(
          worker,
          'max-age',
          `it is ${formatDuration(age)} old (guards.recycle.maxAge ${formatDuration(maxAge)})`,
          {
            ageMs: age,
          },
        );
    }
  }

  private scheduled(): void {
    const { cron, jitter } = this.settings.recycle;
    for (const { worker, role } of this.host.workers()) {
      if (role !== 'serving') continue;
      const turn = () => {
        const still = this.host.workers().find((w) => w.worker === worker);
        if (this.running && still?.role === 'serving')
          this.replace(worker, 'schedule', `its recycling time came (guards.recycle.cron "${cron}")`, {});
      };
      const delay = Math.floor(this.host.random() * jitter);
      if (delay === 0) turn();
      else {
        const cancel = this.host.timer(delay, () => {
          this.cancels.delete(cancel);
          turn();
        });
        this.cancels.add(cancel);
      }
    }
  }
}
