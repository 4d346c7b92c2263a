// The driver of leader-step.ts in a primary: the pool's effects (PoolEffects) wrapped, so that the pool
// is not changed. What it reads:
// - `send`: every worker transition the pool reports (ready, draining, and the exits: stopped, exited,
//   crashed) becomes a step event, after the transition itself has gone to the root;
// - `fork`: a worker's pid, slot and settings (its `shutdown.timeout` is its stop handlers' time), and its
//   `drain`, which is held while its leadership is revoked (so that its stop handlers run with the
//   channel up: a round-robin drain disconnects the worker at once) and goes on at the step's `release`;
// - the workers' messages (`leader-want`, `leader-stopped`) from the channel (node:cluster in a primary).
// What it does: the step's effects, in order (grant and revoke messages, the revoke's timer, SIGKILL,
// the held drain), and a `leader` report to the root for each change (its log, `clusterd events`, the
// metrics). A worker that never asks for leadership costs a map entry, and no message is sent to it.
import type { PrimaryMessage, PrimaryToWorker } from '../../protocol.js';
import workerMessages from '../../worker/messages.cjs';
import type { PoolEffects, WorkerProcess } from '../pool/tracked-worker.js';
import { holdsDrain, initialLeader, type LeaderEffect, type LeaderEvent, leaderStep } from './leader-step.js';

/** The workers' channel, by pid: node:cluster in a primary (cluster-channel.ts), a fake in the tests. */
export interface LeaderChannel {
  /** Calls `fn` with every message a worker sends. */
  listen(fn: (pid: number, message: unknown) => void): void;
  send(pid: number, message: PrimaryToWorker): void;
}

interface Known {
  slot: number;
  stopTimeout: number;
  process: WorkerProcess;
  /** Its drain, held while its leadership is revoked. */
  held: (() => void) | null;
  cancel: (() => void) | null;
  /** When it was revoked, for the report of how long its stop took. */
  revokedAt: number;
}

const EXITS = new Set(['stopped', 'exited', 'crashed']);

/** The pool's effects, with one leader per app among the workers that ask for it. */
export function withLeadership(fx: PoolEffects, channel: LeaderChannel): PoolEffects {
  let snapshot = initialLeader;
  const known = new Map<number, Known>();

  const dispatch = (event: LeaderEvent) => {
    const step = leaderStep(snapshot, event);
    snapshot = step.snapshot;
    for (const effect of step.effects) perform(effect);
  };

  const perform = (effect: LeaderEffect) => {
    const worker = known.get(effect.pid);
    switch (effect.type) {
      case 'grant':
        channel.send(effect.pid, workerMessages.leaderGrant(effect.term));
        return;
      case 'revoke':
        if (worker) worker.revokedAt = fx.now();
        channel.send(effect.pid, workerMessages.leaderRevoke(effect.term));
        return;
      case 'schedule':
        if (worker)
          worker.cancel = fx.timer(effect.ms, () => {
            worker.cancel = null;
            dispatch({ type: 'timeout', pid: effect.pid, term: effect.term });
          });
        return;
      case 'cancel':
        worker?.cancel?.();
        if (worker) worker.cancel = null;
        return;
      case 'kill':
        worker?.process.kill();
        return;
      case 'release': {
        const drain = worker?.held;
        if (worker) worker.held = null;
        drain?.();
        return;
      }
      case 'report': {
        // How long its fence took since the revoke (its stop handlers, or the timeout and the kill).
        const fenced = effect.change !== 'granted' && effect.change !== 'revoked' && worker?.revokedAt;
        fx.send({
          type: 'leader',
          change: effect.change,
          worker: worker?.slot ?? -1,
          pid: effect.pid,
          term: effect.term,
          ...(fenced ? { ms: fx.now() - fenced } : {}),
        });
        return;
      }
    }
  };

  channel.listen((pid, message) => {
    const worker = known.get(pid);
    if (!worker) return;
    if (workerMessages.isLeaderWant(message))
      dispatch({ type: 'wants', pid, stopTimeout: worker.stopTimeout });
    else if (workerMessages.isLeaderStopped(message)) dispatch({ type: 'stopped', pid, term: message.term });
  });

  const onTransition = (message: PrimaryMessage) => {
    if (message.type !== 'worker') return;
    const { pid, to } = message.transition;
    const worker = pid === null ? undefined : known.get(pid);
    if (pid === null || !worker) return;
    if (to === 'ready') dispatch({ type: 'ready', pid, stopTimeout: worker.stopTimeout });
    else if (to === 'draining') dispatch({ type: 'draining', pid });
    else if (EXITS.has(to)) {
      // Dead: a drain it held has nothing left to do.
      worker.held = null;
      dispatch({ type: 'exited', pid });
      known.delete(pid);
    }
  };

  return {
    ...fx,
    fork(slot, app, events) {
      const process = fx.fork(slot, app, events);
      const pid = process.pid;
      // A program (`command`) has no channel to ask on; a fork without a pid will not live.
      if (pid === null || app.program) return process;
      const worker: Known = {
        slot,
        stopTimeout: app.shutdown.timeout,
        process,
        held: null,
        cancel: null,
        revokedAt: 0,
      };
      known.set(pid, worker);
      // The instance keeps its class (the pool and the primary may know it by it); only its drain waits.
      const drain = process.drain.bind(process);
      process.drain = () => {
        if (holdsDrain(snapshot, pid)) worker.held = drain;
        else drain();
      };
      return process;
    },
    send(message) {
      fx.send(message);
      onTransition(message);
    },
  };
}
