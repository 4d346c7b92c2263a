// One app's pool of node:cluster workers, inside the app's primary: `instances` slots, each holding a
// worker; crashes restarted per the restart policy; rolling reloads that replace each worker only once
// its successor is ready; graceful stop.
import type { ResolvedApp } from '../config/resolved.js';
import { decideRestart, describeExit } from '../lifecycle/policy.js';
import { type AppState, assertAppTransition } from '../lifecycle/states.js';
import type { ExitRecord, LogFormat, PrimaryMessage } from '../protocol.js';
import { crashLine, type Sink } from './output.js';
import { setupCluster, WorkerHandle } from './worker-handle.js';

interface Slot {
  readonly id: number;
  /** The worker serving this slot. */
  current: WorkerHandle | null;
  /** Its successor during a rolling reload, until ready. */
  next: WorkerHandle | null;
  /** Consecutive restarts since this slot was last stable. */
  attempts: number;
  restartTimer: NodeJS.Timeout | null;
  /** The policy said not to restart this slot. */
  finished: boolean;
}

interface Replacement {
  settle: (error: string | null) => void;
}

export type ReloadOutcome = { ok: true; replaced: number; ms: number } | { ok: false; reason: string };

export interface PoolOptions {
  app: ResolvedApp;
  env: Record<string, string>;
  logFormat: LogFormat;
  send: (message: PrimaryMessage) => void;
  /** Where worker output goes (default: this process's stdout/stderr). */
  sinks?: { stdout: Sink; stderr: Sink };
}

const LAST_EXITS = 5;

const newSlot = (id: number): Slot => ({
  id,
  current: null,
  next: null,
  attempts: 0,
  restartTimer: null,
  finished: false,
});

// cluster.fork() copies process.env; making it exactly the workers' environment drops removed keys.
function applyEnv(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
}

export class Pool {
  private app: ResolvedApp;
  private readonly slots: Slot[];
  /** Old workers being drained after their replacement took over. */
  private readonly retiring = new Set<WorkerHandle>();
  private readonly replacements = new Map<WorkerHandle, Replacement>();
  private appState: AppState = 'starting';
  private restarts: number[] = [];
  private readonly lastExits: ExitRecord[] = [];
  private stopping = false;
  private erroredReason: string | null = null;
  private reloading: Promise<ReloadOutcome> | null = null;
  private queuedReload: Promise<ReloadOutcome> | null = null;
  private settle: (() => void) | null = null;
  /** Resolves once no worker is alive and none will be started again. */
  readonly done: Promise<void>;

  constructor(private readonly options: PoolOptions) {
    this.app = options.app;
    this.slots = Array.from({ length: this.app.instances }, (_, id) => newSlot(id));
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  start(): void {
    applyEnv(this.options.env);
    setupCluster(this.app);
    for (const slot of this.slots) slot.current = this.fork(slot);
  }

  private fork(slot: Slot): WorkerHandle {
    slot.restartTimer = null;
    return new WorkerHandle(slot.id, {
      app: this.app,
      logFormat: this.options.logFormat,
      sinks: this.options.sinks ?? { stdout: process.stdout, stderr: process.stderr },
      send: this.options.send,
      onReady: (h) => this.onReady(h),
      onExit: (h, code, signal) => this.onExit(h, code, signal),
    });
  }

  // A slot removed by scaling down is gone from `slots`; its draining workers still exit through here.
  private slotOf(handle: WorkerHandle): Slot {
    return this.slots[handle.slot] ?? newSlot(handle.slot);
  }

  /** The settings workers are started with now. */
  get settings(): ResolvedApp {
    return this.app;
  }

  private onReady(handle: WorkerHandle): void {
    const replacement = this.replacements.get(handle);
    if (replacement) replacement.settle(null);
    else this.updateAppState();
  }

  private onExit(handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const slot = this.slotOf(handle);
    const now = Date.now();
    this.retiring.delete(handle);
    if (handle.state === 'draining') {
      handle.transition('stopped', { code, signal });
      if (slot.current === handle) slot.current = null;
      if (slot.next === handle) slot.next = null;
      this.updateAppState();
      return;
    }
    // The reason names the error the worker printed last ("exit code 1: Error: listen EADDRINUSE ...").
    const detail = handle.failure || (code === 0 && !signal) ? undefined : crashLine(handle.tail());
    const failure = handle.failure ?? (detail ? `${describeExit({ code, signal })}: ${detail}` : undefined);
    const exit = {
      code,
      signal,
      uptime: now - handle.startedAt,
      ready: handle.state === 'ready',
      ...(failure ? { reason: failure } : {}),
    };
    const reason = describeExit(exit);
    handle.transition('crashed', { code, signal, reason });
    this.lastExits.push({ worker: slot.id, pid: handle.pid, at: new Date(now).toISOString(), reason });
    if (this.lastExits.length > LAST_EXITS) this.lastExits.shift();

    const replacement = this.replacements.get(handle);
    if (replacement) {
      // A new version that dies before it is ready fails the reload; it is not a restart of the app.
      replacement.settle(reason);
      return;
    }
    if (slot.current !== handle) return;
    slot.current = null;
    // Its successor is on the way (rolling reload): it takes the slot over once ready.
    if (!slot.next) this.restartOrGiveUp(slot, exit, now);
    this.updateAppState(this.erroredReason ?? reason);
  }

  private restartOrGiveUp(slot: Slot, exit: Parameters<typeof decideRestart>[1], now: number): void {
    if (this.stopping || this.erroredReason) {
      slot.finished = true;
      return;
    }
    const decision = decideRestart(
      this.app.restart,
      exit,
      { attempts: slot.attempts, restarts: this.restarts },
      now,
    );
    if (decision.action === 'restart') {
      slot.attempts = decision.history.attempts;
      this.restarts = [...decision.history.restarts];
      this.options.send({ type: 'backoff', worker: slot.id, delay: decision.delay, attempt: slot.attempts });
      slot.restartTimer = setTimeout(() => {
        slot.current = this.fork(slot);
      }, decision.delay);
    } else if (decision.action === 'errored') {
      slot.finished = true;
      this.erroredReason = decision.reason;
      // No more restarts for this app; workers still serving keep serving.
      for (const s of this.slots) this.cancelRestart(s);
    } else {
      slot.finished = true;
    }
  }

  private cancelRestart(slot: Slot): void {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
  }

  private handles(): WorkerHandle[] {
    const all = this.slots.flatMap((s) => [s.current, s.next]).filter((h): h is WorkerHandle => h !== null);
    return [...all, ...this.retiring].filter((h) => h.alive);
  }

  // The app state follows from the slots; this is the only place it is set.
  private deriveAppState(): AppState {
    const alive = this.handles().length > 0;
    const waiting = this.slots.some((s) => s.restartTimer !== null);
    if (this.stopping) return alive ? 'stopping' : 'stopped';
    if (this.erroredReason) return 'errored';
    if (!alive && !waiting) return 'stopped';
    if (waiting) return 'backoff';
    const serving = this.slots.filter((s) => !s.finished);
    if (serving.every((s) => s.current?.state === 'ready')) return 'running';
    // Workers on their way up (a scale-up, a restart whose delay is over) do not change the state.
    return this.appState;
  }

  private updateAppState(reason?: string): void {
    const to = this.deriveAppState();
    const from = this.appState;
    if (to !== from) {
      assertAppTransition(from, to);
      this.appState = to;
      this.options.send({
        type: 'app',
        from,
        to,
        ...(reason && to !== 'running' ? { reason } : {}),
        ...(to === 'errored' ? { lastExits: [...this.lastExits] } : {}),
      });
    }
    const terminal = to === 'stopped' || (to === 'errored' && this.handles().length === 0);
    if (terminal) this.settle?.();
  }

  /**
   * Rolling reload: for `reload.parallel` slots at a time, start a successor (new code, the given
   * settings and env), wait until it is ready, then drain its predecessor. A successor that crashes or is
   * not ready in time stops the reload; the old workers that are left keep serving.
   * A reload asked for while one runs is queued, once: every request made meanwhile shares it.
   */
  reload(app: ResolvedApp, env: Record<string, string>): Promise<ReloadOutcome> {
    if (this.stopping) return Promise.resolve({ ok: false, reason: 'the app is stopping' });
    if (!this.reloading) {
      this.reloading = this.rollingReload(app, env).finally(() => {
        this.reloading = null;
      });
      return this.reloading;
    }
    this.queuedReload ??= this.reloading.then(() => {
      this.queuedReload = null;
      return this.reload(app, env);
    });
    return this.queuedReload;
  }

  private async rollingReload(app: ResolvedApp, env: Record<string, string>): Promise<ReloadOutcome> {
    const started = Date.now();
    this.options.send({ type: 'reload', phase: 'started' });
    this.app = { ...app, instances: this.app.instances };
    applyEnv(env);
    setupCluster(this.app);
    if (this.erroredReason) this.recoverFromErrored();
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += this.app.reload.parallel) {
      if (this.stopping) return this.reloadFailed('the app is stopping');
      const group = slots.slice(i, i + this.app.reload.parallel);
      const results = await Promise.all(group.map((slot) => this.replace(slot)));
      const failure = results.find((r) => r !== null);
      if (failure) {
        for (const slot of group) this.discardSuccessor(slot);
        return this.reloadFailed(failure);
      }
      for (const slot of group) this.promote(slot);
    }
    const ms = Date.now() - started;
    this.options.send({ type: 'reload', phase: 'done', replaced: slots.length, ms });
    this.updateAppState();
    return { ok: true, replaced: slots.length, ms };
  }

  // Resolves with null once the successor is ready, or with why it failed.
  private replace(slot: Slot): Promise<string | null> {
    this.cancelRestart(slot);
    slot.finished = false;
    const handle = this.fork(slot);
    slot.next = handle;
    return new Promise((resolve) => {
      this.replacements.set(handle, {
        settle: (error) => {
          this.replacements.delete(handle);
          resolve(error);
        },
      });
    });
  }

  private promote(slot: Slot): void {
    const old = slot.current;
    slot.current = slot.next;
    slot.next = null;
    slot.attempts = 0;
    if (old?.alive) {
      this.retiring.add(old);
      old.drain('replaced by a rolling reload');
    }
  }

  private discardSuccessor(slot: Slot): void {
    const successor = slot.next;
    slot.next = null;
    if (successor?.alive) {
      this.retiring.add(successor);
      successor.drain('reload failed');
    }
    // A slot whose old worker died meanwhile restarts by the policy, as after any crash.
    if (!slot.current && !slot.restartTimer)
      this.restartOrGiveUp(
        slot,
        { code: null, signal: null, uptime: 0, reason: 'reload failed' },
        Date.now(),
      );
  }

  private reloadFailed(reason: string): ReloadOutcome {
    this.options.send({ type: 'reload', phase: 'failed', reason });
    this.updateAppState();
    return { ok: false, reason };
  }

  // A reload is a new attempt: an app errored by a crash loop gets a fresh restart budget.
  private recoverFromErrored(): void {
    this.erroredReason = null;
    this.restarts = [];
    for (const slot of this.slots) {
      slot.attempts = 0;
      slot.finished = false;
    }
    assertAppTransition(this.appState, 'starting');
    this.options.send({ type: 'app', from: this.appState, to: 'starting', reason: 'reload' });
    this.appState = 'starting';
  }

  /**
   * Runs `instances` workers: new slots start at once; the highest slots are drained. Waits for the
   * rolling reloads in progress or queued before it to end first, so the two never interleave.
   */
  async scale(instances: number): Promise<void> {
    while (this.reloading) await this.reloading;
    const from = this.slots.length;
    if (this.stopping || instances === from) {
      this.options.send({ type: 'scaled', from, to: from });
      return;
    }
    if (instances > from) {
      for (let id = from; id < instances; id++) {
        const slot = newSlot(id);
        this.slots.push(slot);
        slot.current = this.fork(slot);
      }
    } else {
      for (const slot of this.slots.splice(instances)) {
        this.cancelRestart(slot);
        for (const handle of [slot.current, slot.next]) {
          if (!handle?.alive) continue;
          this.retiring.add(handle);
          handle.drain('scaled down');
        }
      }
    }
    this.app = { ...this.app, instances };
    this.options.send({ type: 'scaled', from, to: instances });
    this.updateAppState();
  }

  /** Drains and stops every worker; resolves when all have exited. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const slot of this.slots) this.cancelRestart(slot);
      for (const r of this.replacements.values()) r.settle('the app is stopping');
      for (const handle of this.handles()) handle.drain('stop requested');
      this.updateAppState('stop requested');
    }
    return this.done;
  }

  /** Kills every worker at once (SIGKILL). */
  kill(): Promise<void> {
    void this.stop();
    for (const handle of this.handles()) handle.kill();
    return this.done;
  }
}
