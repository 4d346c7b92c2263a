// Stopping one worker gracefully: it is told to drain (the preload marks responses `Connection: close`
// and keeps idle keep-alive sockets from being reset), cluster's disconnect closes its servers and waits
// for requests in flight, then it gets the configured signal, and SIGKILL once the timeout is up.
// What the worker started (its descendants, seen in /proc while it lives) gets the same signal at the
// same moment, and SIGKILL at the same deadline, even if the worker itself has ended by then.
//
// The decisions are a pure step function (`stopBegin`, `stopStep`): states draining, signalled, killed,
// exited; events disconnect, drained, exit, deadline; effects as data. `stopWorker` only turns the
// node:cluster worker's events into those events and carries the effects out, on an injected clock.
import type { Worker } from 'node:cluster';
import { DRAIN, isWorkerDrained } from '../../protocol.js';
import type { ProcEntry } from './descendants.js';
import type { ProcessTrees } from './descendants-proc.js';

export type StopState =
  /** Told to drain; its servers close (the disconnect) before it is signalled. */
  | 'draining'
  /** Got the stop signal (so did its descendants); SIGKILL at the deadline unless it exits. */
  | 'signalled'
  /** Got SIGKILL at the deadline, with its descendants. */
  | 'killed'
  /** It exited: nothing more is done to it. */
  | 'exited';

export type StopEvent =
  /** Its IPC channel closed: its servers are closed, requests in flight answered. */
  | 'disconnect'
  /** It says it closed its own servers (balancings other than round-robin): time to disconnect it. */
  | 'drained'
  | 'exit'
  /** `shutdown.spread + shutdown.timeout` after the stop began. */
  | 'deadline';

export type StopEffect =
  /** Send the drain message; round-robin disconnects once it is sent (cluster closes the servers). */
  | { type: 'drain'; disconnectWhenSent: boolean }
  | { type: 'disconnect' }
  /** Fire the `deadline` event in `ms`. */
  | { type: 'schedule-deadline'; ms: number }
  | { type: 'cancel-deadline' }
  /** The stop signal to the worker and its descendants; theirs SIGKILL in `within` ms (the deadline). */
  | { type: 'signal'; signal: NodeJS.Signals; within: number }
  /** The worker ended before it was signalled: its descendants get the signal, SIGKILL at the deadline. */
  | { type: 'signal-descendants'; signal: NodeJS.Signals; within: number }
  /** SIGKILL to the worker and to every descendant seen. */
  | { type: 'kill' };

export interface StopSnapshot {
  readonly state: StopState;
  /** When SIGKILL is due, on the injected clock. */
  readonly deadline: number;
  readonly signal: NodeJS.Signals;
}

export interface StopStepResult {
  snapshot: StopSnapshot;
  effects: StopEffect[];
}

/** The start of a stop: a connected worker drains first; one whose channel is closed is signalled at once. */
export function stopBegin(options: {
  now: number;
  signal: NodeJS.Signals;
  /** The app's long-lived connections get `spread` to close (its onDrain handlers), then the timeout. */
  spread: number;
  timeout: number;
  connected: boolean;
  ownServers: boolean;
}): StopStepResult {
  const budget = options.spread + options.timeout;
  const deadline = options.now + budget;
  const schedule: StopEffect = { type: 'schedule-deadline', ms: budget };
  if (!options.connected)
    return {
      snapshot: { state: 'signalled', deadline, signal: options.signal },
      effects: [schedule, { type: 'signal', signal: options.signal, within: budget }],
    };
  return {
    snapshot: { state: 'draining', deadline, signal: options.signal },
    effects: [schedule, { type: 'drain', disconnectWhenSent: !options.ownServers }],
  };
}

/** One event of a stop: the next snapshot and what to do. An event a state does not expect changes nothing. */
export function stopStep(snapshot: StopSnapshot, event: StopEvent, now: number): StopStepResult {
  const within = Math.max(0, snapshot.deadline - now);
  const to = (state: StopState, ...effects: StopEffect[]): StopStepResult => ({
    snapshot: { ...snapshot, state },
    effects,
  });
  const same: StopStepResult = { snapshot, effects: [] };
  switch (snapshot.state) {
    case 'draining':
      switch (event) {
        case 'drained':
          return to('draining', { type: 'disconnect' });
        case 'disconnect':
          return to('signalled', { type: 'signal', signal: snapshot.signal, within });
        case 'exit':
          // It ended by itself while draining: what it started may still run, and gets the signal now
          // and SIGKILL at the deadline it would have had.
          return to(
            'exited',
            { type: 'cancel-deadline' },
            { type: 'signal-descendants', signal: snapshot.signal, within },
          );
        case 'deadline':
          return to('killed', { type: 'kill' });
      }
      return same;
    case 'signalled':
      switch (event) {
        case 'exit':
          // Its descendants keep their SIGKILL at the deadline (the process trees hold it).
          return to('exited', { type: 'cancel-deadline' });
        case 'deadline':
          return to('killed', { type: 'kill' });
        default:
          return same;
      }
    case 'killed':
      return event === 'exit' ? to('exited') : same;
    case 'exited':
      return same;
  }
}

/** Time as stopWorker needs it; tests pass a fake one. */
export interface StopClock {
  now(): number;
  /** Runs `fn` in `ms`; returns how to cancel it. */
  timer(ms: number, fn: () => void): () => void;
}

export const realClock: StopClock = {
  now: () => Date.now(),
  timer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** Stops a node:cluster worker: its events into `stopStep`, the effects carried out. */
export function stopWorker(
  worker: Worker,
  shutdown: { signal: NodeJS.Signals | string; timeout: number; spread?: number },
  /** `balancing` other than round-robin: the worker closes its own servers and says `drained` before the disconnect. */
  ownServers = false,
  trees?: ProcessTrees,
  clock: StopClock = realClock,
): void {
  const pid = worker.process.pid;
  // Seen at the start too: a worker that ends by itself during its drain leaves these behind, and one
  // that left the process group (setsid) cannot be found afterwards.
  const seen = new Map<string, ProcEntry>();
  const look = () => {
    for (const e of trees?.descendants(pid) ?? []) seen.set(`${e.pid}:${e.start}`, e);
    return [...seen.values()];
  };
  look();
  let cancelDeadline = () => {};
  const disconnect = () => {
    if (worker.isConnected()) worker.disconnect();
  };
  const carryOut = (effects: readonly StopEffect[]) => {
    for (const effect of effects) {
      switch (effect.type) {
        case 'drain':
          // Sent first on the same channel, so the worker knows it is draining before its servers close.
          if (effect.disconnectWhenSent) worker.send(DRAIN, disconnect);
          else worker.send(DRAIN);
          break;
        case 'disconnect':
          disconnect();
          break;
        case 'schedule-deadline':
          cancelDeadline = clock.timer(effect.ms, () => on('deadline'));
          break;
        case 'cancel-deadline':
          cancelDeadline();
          break;
        case 'signal':
          worker.process.kill(effect.signal);
          trees?.stop(look(), effect.signal, effect.within);
          break;
        case 'signal-descendants':
          trees?.stop([...seen.values()], effect.signal, effect.within);
          break;
        case 'kill': {
          const kill = () => worker.process.kill('SIGKILL');
          if (!trees) kill();
          else {
            trees.killTree(pid, kill);
            // Those seen earlier that are no longer below it (re-parented when a parent between ended).
            trees.signal([...seen.values()], 'SIGKILL');
          }
          break;
        }
      }
    }
  };
  let snapshot: StopSnapshot;
  const on = (event: StopEvent) => {
    const next = stopStep(snapshot, event, clock.now());
    snapshot = next.snapshot;
    carryOut(next.effects);
  };
  worker.once('exit', () => on('exit'));
  // A 'disconnect' that comes with the exit (the process is gone) is no reason to signal it.
  worker.once('disconnect', () => {
    if (worker.process.exitCode === null && worker.process.signalCode === null) on('disconnect');
  });
  if (ownServers)
    worker.on('message', (message: unknown) => {
      if (isWorkerDrained(message)) on('drained');
    });
  const begun = stopBegin({
    now: clock.now(),
    signal: shutdown.signal as NodeJS.Signals,
    spread: shutdown.spread ?? 0,
    timeout: shutdown.timeout,
    connected: worker.isConnected(),
    ownServers,
  });
  snapshot = begun.snapshot;
  carryOut(begun.effects);
}
