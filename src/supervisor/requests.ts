// The requests pending on one primary, by id. Each is answered exactly once: by the primary's reply, or,
// once that cannot come any more (the primary exited, the app is stopping), with the reason.
import type { ErrorCode } from '../errors.js';
import { failed, type Op, type Outcome, type PrimaryRequest, type RootMessage } from '../protocol.js';

type Pending = { op: Op; settle: (outcome: Outcome) => void };

const OP_NAMES: Record<Op, string> = {
  start: 'start',
  reload: 'reload',
  scale: 'scale',
  stop: 'stop',
  kill: 'stop',
  ping: 'ping',
  metrics: 'metrics scrape',
  requests: 'request figures',
  send: 'send',
  profile: 'profile',
};

/** The answer to a request whose primary exited first: "the primary exited (how) before the reload was done; after". */
export const exitedBefore =
  (how: string, after: string) =>
  (op: Op): string =>
    `the primary exited (${how}) before the ${OP_NAMES[op]} was done; ${after}`;

export class Requests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Made before the primary could take them (no hello yet): sent once it can. */
  private held: RootMessage[] = [];

  /** A new request with its id; `settle` gets its answer. */
  track(request: PrimaryRequest, settle: (outcome: Outcome) => void): RootMessage {
    const id = this.nextId++;
    this.pending.set(id, { op: request.op, settle });
    return { type: 'request', id, request };
  }

  hold(message: RootMessage): void {
    this.held.push(message);
  }

  /** The held requests, to send now. */
  release(): RootMessage[] {
    return this.held.splice(0);
  }

  /** Settles request `id` with the primary's answer; false if no such request is pending. */
  answer(id: number, outcome: Outcome): boolean {
    const pending = this.pending.get(id);
    if (!pending) return false;
    this.pending.delete(id);
    pending.settle(outcome);
    return true;
  }

  /** Answers the held requests, which will never be sent, with `reason`. */
  refuseHeld(code: ErrorCode, reason: string): void {
    for (const message of this.release()) this.answer(message.id, failed(code, reason));
  }

  /** Answers every pending request with why the primary never will. */
  refuseAll(code: ErrorCode, why: (op: Op) => string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.held = [];
    for (const { op, settle } of pending) settle(failed(code, why(op)));
  }
}
