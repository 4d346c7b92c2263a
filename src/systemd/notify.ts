// What clusterd tells systemd (sd_notify(3), Type=notify), and when: READY=1 once every app's first start
// is answered, RELOADING=1 with MONOTONIC_USEC then READY=1 around reloads (which may overlap: a SIGHUP
// during a SIGUSR2 reload is one RELOADING ... READY), STOPPING=1 when a stop begins, and WATCHDOG=1 every
// WATCHDOG_USEC/2, only when every primary answered a ping since the last tick. Pure: the supervisor's
// events come in as calls, time, the pings and the sending are injected (docs/deploy.md#systemd).

/** Sends one notification: `KEY=value` fields, one datagram. Never throws; ordered. */
export interface NotifyTransport {
  send(fields: readonly string[]): void;
}

/** An app as the watchdog sees it: its primary must answer (or refuse, when it is not running) a ping. */
export interface WatchedApp {
  readonly name: string;
  /** Resolves when the primary answered, or the root refused at once (restarting, stopped, errored). */
  ping(): Promise<unknown>;
}

export interface NotifyEffects {
  transport: NotifyTransport;
  /** CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC wants it. */
  monotonicUsec(): bigint;
  /** Calls `fn` every `ms`; returns its cancel. */
  every(ms: number, fn: () => void): () => void;
  /** The apps whose primaries the watchdog pings, as they are now. */
  apps(): readonly WatchedApp[];
  /** The watchdog held back WATCHDOG=1: these apps' primaries did not answer within one interval. */
  hung(apps: readonly string[]): void;
  /** Every primary answers again after `hung`. */
  recovered(): void;
}

export interface NotifySettings {
  /** WATCHDOG_USEC for this process, or null: no watchdog. */
  watchdogUsec: number | null;
}

export type ReadyReport = { failed: readonly { app: string; reason: string }[]; apps: readonly string[] };

const RELOAD_STATUS = { config: 'reloading the config', apps: 'rolling reload of every app' } as const;

export class SystemdNotifier {
  private phase: 'starting' | 'ready' | 'stopping' = 'starting';
  /** Reloads in progress (they may overlap). */
  private reloads = 0;
  /** RELOADING=1 was sent and its READY=1 is still owed. */
  private reloadingSent = false;
  private status = '';
  /** Apps with a ping not answered yet. */
  private readonly pending = new Set<string>();
  private hungShown = '';
  private round = 0;
  private cancelTick: (() => void) | null = null;

  constructor(
    private readonly fx: NotifyEffects,
    private readonly settings: NotifySettings,
  ) {}

  /** Milliseconds between watchdog ticks: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises. */
  get watchdogIntervalMs(): number | null {
    const usec = this.settings.watchdogUsec;
    return usec === null ? null : Math.max(1, Math.floor(usec / 2_000));
  }

  /** Starts the watchdog, if systemd asked for one; its first round is at once. */
  start(): void {
    const interval = this.watchdogIntervalMs;
    if (interval === null || this.cancelTick) return;
    this.cancelTick = this.fx.every(interval, () => this.tick());
    this.tick();
  }

  close(): void {
    this.cancelTick?.();
    this.cancelTick = null;
  }

  /** Every app's first start was answered: systemd's start job is done, even if some failed. */
  ready(report: ReadyReport): void {
    if (this.phase !== 'starting') return;
    this.phase = 'ready';
    this.status = runningStatus(report);
    this.fx.transport.send(['READY=1', `STATUS=${this.status}`]);
    if (this.reloads > 0) this.sendReloading(RELOAD_STATUS.config);
  }

  reloading(kind: keyof typeof RELOAD_STATUS): void {
    this.reloads += 1;
    if (this.phase === 'ready' && !this.reloadingSent) this.sendReloading(RELOAD_STATUS[kind]);
  }

  reloaded(): void {
    this.reloads = Math.max(0, this.reloads - 1);
    if (this.reloads > 0 || !this.reloadingSent || this.phase !== 'ready') return;
    this.reloadingSent = false;
    this.fx.transport.send(['READY=1', `STATUS=${this.status}`]);
  }

  stopping(): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.fx.transport.send(['STOPPING=1', 'STATUS=stopping']);
  }

  private sendReloading(status: string): void {
    this.reloadingSent = true;
    this.fx.transport.send(['RELOADING=1', `MONOTONIC_USEC=${this.fx.monotonicUsec()}`, `STATUS=${status}`]);
  }

  // One watchdog round: the primaries still owing the last ping are hung; every other one is pinged, and
  // WATCHDOG=1 goes out once all of this round have answered while none is hung.
  private tick(): void {
    const round = ++this.round;
    const apps = this.fx.apps();
    const hung = apps.filter((a) => this.pending.has(a.name)).map((a) => a.name);
    // An app that left the config meanwhile no longer holds the watchdog back.
    for (const name of this.pending) if (!apps.some((a) => a.name === name)) this.pending.delete(name);
    const shown = hung.join(',');
    if (shown !== this.hungShown) {
      if (hung.length > 0) this.fx.hung(hung);
      else this.fx.recovered();
      this.hungShown = shown;
    }
    const fresh = apps.filter((a) => !this.pending.has(a.name));
    let waiting = fresh.length;
    const answered = () => {
      waiting -= 1;
      if (waiting === 0 && round === this.round && hung.length === 0) this.fx.transport.send(['WATCHDOG=1']);
    };
    if (fresh.length === 0 && hung.length === 0) this.fx.transport.send(['WATCHDOG=1']);
    for (const app of fresh) {
      this.pending.add(app.name);
      const settle = () => {
        this.pending.delete(app.name);
        answered();
      };
      app.ping().then(settle, settle);
    }
  }
}

function runningStatus(report: ReadyReport): string {
  const failed = report.failed.map((f) => f.app);
  const running = report.apps.filter((a) => !failed.includes(a));
  const parts = [running.length ? `running: ${running.join(', ')}` : 'no app running'];
  if (report.failed.length)
    parts.push(`failed to start: ${report.failed.map((f) => `${f.app} (${f.reason})`).join('; ')}`);
  return parts.join('; ');
}

/** What systemd set in our environment for the notify protocol, or null when it is not our manager's. */
export interface NotifyEnv {
  socket: string;
  watchdogUsec: number | null;
}

/**
 * NOTIFY_SOCKET and the watchdog settings, as sd_notify(3) and sd_watchdog_enabled(3) read them: the
 * watchdog is ours only if WATCHDOG_PID is unset or our pid. The variables are removed from `env`, so the
 * primaries and the apps' workers do not inherit them (an app built for systemd would send its own
 * READY=1 and WATCHDOG=1 for the whole service).
 */
export function takeNotifyEnv(env: NodeJS.ProcessEnv, pid: number): NotifyEnv | null {
  const socket = env.NOTIFY_SOCKET;
  const usec = env.WATCHDOG_USEC;
  const watchdogPid = env.WATCHDOG_PID;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socket) return null;
  const ours = watchdogPid === undefined || watchdogPid === '' || Number(watchdogPid) === pid;
  const value = usec !== undefined && /^\d+$/.test(usec) ? Number(usec) : 0;
  return { socket, watchdogUsec: ours && value > 0 && Number.isSafeInteger(value) ? value : null };
}
