// The requests of clusterd/worker's `request` and `requestAll` under way, kept by the primary, which
// alone sees every sibling answer, exit or run out of time. Each ends exactly once with a `msg-result` to
// its requester (`finish`), never later than its timeout:
// - `request` (all: false) ends with the first answer of a handler to reach the primary, whether the
//   handler returned or threw (the arrival order on the primary's channel decides "first"); or, when no
//   sibling is left to answer (none had a handler, they exited), with no answer and who was missing;
// - `requestAll` ends once every sibling asked has answered or is missing: no handler for the topic,
//   exited (or its channel closed: it cannot answer any more, so it is missing at once), or the timeout;
// - a request asked of nobody (no other worker is up) ends at once, with no answer;
// - a requester that exits takes its requests with it: the answers still to come are ignored.
// Pure but for the timer, which is given (fake time in the tests).
import type { MsgReply, MsgResult } from '../../protocol.js';
import type { Peer } from './route.js';

type Answer = MsgResult['answers'][number];
type Missing = MsgResult['missing'][number];

interface Pending {
  requester: number;
  /** The requester's own id. */
  id: number;
  all: boolean;
  /** The siblings asked that have not answered yet, by node:cluster id. */
  waiting: Map<number, Peer>;
  answers: Answer[];
  missing: Missing[];
  cancel: () => void;
}

export type Timer = (ms: number, fn: () => void) => () => void;

export class RequestBook {
  private nextAsk = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly timer: Timer,
    /** Sends the result to the requester (node:cluster id). */
    private readonly finish: (requester: number, result: MsgResult) => void,
  ) {}

  /** Requests under way. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * A request of worker `requester` (its `id`) asked of `targets`; returns the primary's ask id to send
   * them, or null if it ended at once (nobody to ask).
   */
  open(
    requester: number,
    id: number,
    all: boolean,
    targets: readonly Peer[],
    timeout: number,
  ): number | null {
    if (!targets.length) {
      this.finish(requester, { clusterd: 'msg-result', id, answers: [], missing: [] });
      return null;
    }
    const ask = this.nextAsk++;
    const cancel = this.timer(timeout, () => this.expire(ask));
    const waiting = new Map(targets.map((p) => [p.id, p]));
    this.pending.set(ask, { requester, id, all, waiting, answers: [], missing: [], cancel });
    return ask;
  }

  /** Worker `from` answered ask `ask`. An answer to nothing pending (ended, or not asked of it) is ignored. */
  reply(from: number, reply: Pick<MsgReply, 'ask' | 'outcome' | 'data' | 'error'>): void {
    const p = this.pending.get(reply.ask);
    const peer = p?.waiting.get(from);
    if (!p || !peer) return;
    p.waiting.delete(from);
    const who = { worker: peer.slot, pid: peer.pid };
    if (reply.outcome === 'no-handler') p.missing.push({ ...who, reason: 'no-handler' });
    else if (reply.outcome === 'answer')
      p.answers.push(
        reply.data === undefined ? { ...who, ok: true } : { ...who, ok: true, data: reply.data },
      );
    else p.answers.push({ ...who, ok: false, error: reply.error ?? 'the handler failed' });
    if ((!p.all && p.answers.length) || !p.waiting.size) this.end(reply.ask, p);
  }

  /** Worker `id` exited or its channel closed: missing from every request asked of it; its own end. */
  gone(id: number): void {
    for (const [ask, p] of this.pending) {
      if (p.requester === id) {
        p.cancel();
        this.pending.delete(ask);
        continue;
      }
      const peer = p.waiting.get(id);
      if (!peer) continue;
      p.waiting.delete(id);
      p.missing.push({ worker: peer.slot, pid: peer.pid, reason: 'exited' });
      if (!p.waiting.size) this.end(ask, p);
    }
  }

  private expire(ask: number): void {
    const p = this.pending.get(ask);
    if (!p) return;
    for (const peer of p.waiting.values())
      p.missing.push({ worker: peer.slot, pid: peer.pid, reason: 'timeout' });
    p.waiting.clear();
    this.end(ask, p);
  }

  private end(ask: number, p: Pending): void {
    p.cancel();
    this.pending.delete(ask);
    // A `request` ended by an answer does not list those still asked (they were not waited for).
    const missing = !p.all && p.answers.length ? [] : p.missing;
    this.finish(p.requester, { clusterd: 'msg-result', id: p.id, answers: p.answers, missing });
  }
}
