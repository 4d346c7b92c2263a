// The primary's part of `clusterd profile` and `clusterd heap`: choose the worker (target.ts), ask it for
// the profile (worker/profile.cts), and pass its chunks on to the root one by one, and the root's
// acknowledgements back to the worker. Nothing is kept here: at most the worker's few unacknowledged
// chunks are on their way. During a heap snapshot the worker's heartbeat guard is paused, from the
// request until the worker says the snapshot is taken (or the profile ends otherwise).
import type { Worker } from 'node:cluster';
import { ErrorCode } from '../../errors.js';
import type { WorkerState } from '../../lifecycle/states.js';
import {
  failed,
  type OpResults,
  type Outcome,
  type PrimaryMessage,
  type PrimaryRequest,
  type ProfileResult,
} from '../../protocol.js';
import workerMessages from '../../worker/messages.cjs';
import { chooseProfiled } from './target.js';

/** A live worker of the pool, as the profiles need it. */
export interface ProfiledWorker {
  slot: number;
  pid: number | null;
  state: WorkerState;
  /** Pauses its heartbeat guard; returns how to resume it. */
  pauseHeartbeat(): () => void;
}

export interface ProfileHost {
  /** The app's slots and live workers; 'program' for a program, null before the app started. */
  workers(): { slots: readonly number[]; workers: readonly ProfiledWorker[] } | 'program' | null;
  /** The node:cluster worker of `pid`. */
  channel(pid: number): Worker | undefined;
  send(message: PrimaryMessage): void;
}

type Answer = (outcome: Outcome<OpResults['profile']>) => void;

interface Active {
  pid: number;
  channel: Worker;
  end(outcome: Outcome<OpResults['profile']>): void;
}

export class Profiles {
  /** Under way, by the root's request id. */
  private readonly active = new Map<number, Active>();

  constructor(private readonly host: ProfileHost) {}

  start(id: number, request: Extract<PrimaryRequest, { op: 'profile' }>, answer: Answer): void {
    const pool = this.host.workers();
    if (pool === 'program') {
      answer(failed(ErrorCode.NOT_PROFILABLE, 'the app runs a program, not Node.js cluster workers'));
      return;
    }
    if (!pool) {
      answer(failed(ErrorCode.WORKER_NOT_READY, 'the app has not started its workers yet'));
      return;
    }
    const busy = new Set([...this.active.values()].map((a) => a.pid));
    const choice = chooseProfiled(pool.workers, pool.slots, request.worker, busy);
    if (!choice.ok) {
      answer(failed(choice.code, choice.reason));
      return;
    }
    const { slot, pid } = choice.worker;
    const channel = this.host.channel(pid);
    if (!channel?.isConnected()) {
      answer(failed(ErrorCode.WORKER_NOT_READY, `worker ${slot} (pid ${pid}) is not connected`));
      return;
    }
    const what = request.kind === 'heap' ? 'heap snapshot' : 'CPU profile';
    let resume = request.kind === 'heap' ? choice.worker.pauseHeartbeat() : () => {};
    let taken: Omit<ProfileResult, 'kind' | 'worker' | 'pid'> | null = null;
    const end = (outcome: Outcome<OpResults['profile']>) => {
      if (!this.active.has(id)) return;
      this.active.delete(id);
      channel.off('message', onMessage);
      channel.off('exit', onExit);
      resume();
      answer(outcome);
    };
    const fail = (reason: string) =>
      end(failed(ErrorCode.PROFILE_FAILED, `worker ${slot} (pid ${pid}): ${reason}`));
    const onMessage = (message: unknown) => {
      if (workerMessages.isProfileChunk(message) && message.id === id)
        this.host.send({ type: 'chunk', id, seq: message.seq, data: message.data });
      else if (workerMessages.isProfileBegin(message) && message.id === id) {
        // Taken: its loop turns again, and the chunks are sent as the root acknowledges them.
        resume();
        resume = () => {};
        taken = { bytes: message.bytes, pauseMs: message.pauseMs, ms: message.ms };
      } else if (workerMessages.isProfileEnd(message) && message.id === id) {
        if (taken) end({ ok: true, result: { kind: request.kind, worker: slot, pid, ...taken } });
        else fail(`its ${what} ended before it began`);
      } else if (workerMessages.isProfileError(message) && message.id === id) fail(message.error);
    };
    const onExit = () => fail(`it exited before its ${what} was written`);
    this.active.set(id, { pid, channel, end });
    channel.on('message', onMessage);
    channel.once('exit', onExit);
    this.host.send({ type: 'profiling', id, worker: slot, pid });
    channel.send(workerMessages.profile(id, request.kind, request.durationMs));
  }

  /** The root passed on the chunks up to `seq`: the worker may send more. */
  ack(id: number, seq: number): void {
    const active = this.active.get(id);
    if (active?.channel.isConnected()) active.channel.send(workerMessages.profileAck(id, seq));
  }

  /** Its client left: the worker stops, and the request is answered so. */
  cancel(id: number): void {
    const active = this.active.get(id);
    if (!active) return;
    if (active.channel.isConnected()) active.channel.send(workerMessages.profileCancel(id));
    active.end(failed(ErrorCode.PROFILE_FAILED, 'cancelled: nobody reads it any more'));
  }
}
