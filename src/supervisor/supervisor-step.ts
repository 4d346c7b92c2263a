// The root supervisor's own lifecycle, as a pure step: (snapshot, event) -> (snapshot, effects). The
// apps each have their primary's machine (primary-step.ts); this one says what the whole supervisor is
// doing: starting its apps, running, stopping them (gracefully, or at once), stopped; and whether a
// reload may begin. supervisor.ts turns signals, commands and its apps' ends into events, and carries
// out the effects.
import { constants } from 'node:os';
import { ExitCode } from '../errors.js';
import { assertTransition, type Transitions } from '../lifecycle/machine.js';
import type { OpResults, Outcome } from '../protocol.js';

export const SUPERVISOR_STATES = ['starting', 'running', 'stopping', 'killing', 'stopped'] as const;
/**
 * `starting` until every app's first start is answered; `running`; `stopping`: a graceful stop of
 * every app (SIGTERM, SIGINT, `clusterd stop`); `killing`: an immediate one (a second signal);
 * `stopped`: nothing is left running, and `run` ends with the exit code.
 */
export type SupervisorState = (typeof SUPERVISOR_STATES)[number];

export const SUPERVISOR_TRANSITIONS: Transitions<SupervisorState> = {
  // stopped: every app ended by itself (clean exits, or errored) before or after they all started.
  starting: ['running', 'stopping', 'killing', 'stopped'],
  running: ['stopping', 'killing', 'stopped'],
  stopping: ['killing', 'stopped'],
  killing: ['stopped'],
  stopped: [],
};

export type StopKind = 'graceful' | 'immediate';
/** `config`: the file re-read (SIGHUP, --watch-config); `apps`: a rolling reload of every app (SIGUSR2). */
export type ReloadKind = 'config' | 'apps';

/**
 * What the supervisor as a whole goes through, for observers (systemd's notify protocol, health
 * endpoints). `ready`: every app's first start has been answered (the apps that did not start are named).
 * `reloading`/`reloaded` come in pairs and may overlap (a SIGHUP during a SIGUSR2 reload).
 * `stopping`: a graceful or immediate stop of everything began.
 */
export interface SupervisorEvents {
  ready: [{ failed: AppOutcome<OpResults['start']>[] }];
  reloading: [ReloadKind];
  reloaded: [ReloadKind];
  stopping: [StopKind];
}

/** One app's answer to a command. */
export type AppOutcome<T> = { app: string } & Outcome<T>;

export interface SupervisorSnapshot {
  readonly state: SupervisorState;
  /** The stop asked for, and the signal that asked, if any: the exit code says how it ended. */
  readonly stop: { readonly kind: StopKind; readonly signal: NodeJS.Signals | null } | null;
  /** Reloads under way (a SIGHUP during a SIGUSR2 reload overlaps it): reloading while above 0. */
  readonly reloads: number;
}

export type SupervisorEvent =
  /** Every app's first start has been answered. */
  | { type: 'started'; failed: AppOutcome<OpResults['start']>[] }
  | { type: 'reload asked'; kind: ReloadKind }
  | { type: 'reload done'; kind: ReloadKind }
  | { type: 'stop asked'; signal: NodeJS.Signals | null }
  | { type: 'kill asked'; signal: NodeJS.Signals | null }
  /** Every app's primary has ended; `held`: some were stopped by `clusterd stop <app>`. */
  | { type: 'apps ended'; held: boolean };

export type SupervisorEffect =
  /** Tell the observers (systemd's notify, the health server) what the supervisor goes through. */
  | { type: 'emit'; event: 'ready'; failed: AppOutcome<OpResults['start']>[] }
  | { type: 'emit'; event: 'reloading' | 'reloaded'; kind: ReloadKind }
  | { type: 'emit'; event: 'stopping'; kind: StopKind }
  /** Stop every app gracefully (each after its shutdown.delay). */
  | { type: 'stop apps' }
  /** End the shutdown.delay waits under way, and kill every app. */
  | { type: 'kill apps' }
  /** `run` ends, once the answers already on their way are out. */
  | { type: 'finish' };

export const initialSupervisor: SupervisorSnapshot = { state: 'starting', stop: null, reloads: 0 };

/** A reload may begin only while no stop has: a stop wins over any reload asked after it. */
export const acceptsReload = (s: SupervisorSnapshot): boolean => s.stop === null && s.state !== 'stopped';

export function supervisorStep(
  s: SupervisorSnapshot,
  event: SupervisorEvent,
): { snapshot: SupervisorSnapshot; effects: SupervisorEffect[] } {
  const to = (state: SupervisorState): SupervisorSnapshot => {
    if (state !== s.state) assertTransition('supervisor', SUPERVISOR_TRANSITIONS, s.state, state);
    return { ...s, state };
  };
  switch (event.type) {
    case 'started':
      // After a stop began, systemd is told STOPPING, not READY. Apps that all ended on their own may
      // have stopped the supervisor already: their starts were answered all the same.
      if (s.stop !== null) return { snapshot: s, effects: [] };
      return {
        snapshot: s.state === 'starting' ? to('running') : s,
        effects: [{ type: 'emit', event: 'ready', failed: event.failed }],
      };
    case 'reload asked':
      if (!acceptsReload(s)) return { snapshot: s, effects: [] };
      return {
        snapshot: { ...s, reloads: s.reloads + 1 },
        effects: [{ type: 'emit', event: 'reloading', kind: event.kind }],
      };
    case 'reload done':
      return {
        snapshot: { ...s, reloads: Math.max(0, s.reloads - 1) },
        effects: [{ type: 'emit', event: 'reloaded', kind: event.kind }],
      };
    case 'stop asked':
      if (s.stop !== null || s.state === 'stopped') return { snapshot: s, effects: [] };
      return {
        snapshot: { ...to('stopping'), stop: { kind: 'graceful', signal: event.signal } },
        effects: [{ type: 'emit', event: 'stopping', kind: 'graceful' }, { type: 'stop apps' }],
      };
    case 'kill asked': {
      if (s.state === 'stopped') return { snapshot: s, effects: [] };
      // A kill during a graceful stop ends it at once; systemd was told STOPPING already.
      const told: SupervisorEffect[] =
        s.stop === null ? [{ type: 'emit', event: 'stopping', kind: 'immediate' }] : [];
      return {
        snapshot: { ...to('killing'), stop: { kind: 'immediate', signal: event.signal } },
        effects: [...told, { type: 'kill apps' }],
      };
    }
    case 'apps ended':
      // Apps stopped by command keep the supervisor up (`clusterd start <app>` brings them back) until
      // it is told to stop.
      if (s.state === 'stopped' || (s.stop === null && event.held)) return { snapshot: s, effects: [] };
      return { snapshot: to('stopped'), effects: [{ type: 'finish' }] };
  }
}

/**
 * How the supervisor ends: 128+N for an immediate stop by signal N (1 without one), 0 for a graceful
 * stop, else (every app ended by itself) 3 if one errored, 0 if all exited cleanly.
 */
export function exitCodeOf(s: SupervisorSnapshot, errored: readonly string[]): number {
  if (s.stop?.kind === 'immediate') {
    const signal = s.stop.signal;
    return signal ? 128 + (constants.signals[signal] ?? 0) : ExitCode.FAILURE;
  }
  if (s.stop) return ExitCode.OK;
  return errored.length ? ExitCode.APP_ERRORED : ExitCode.OK;
}
