// What an AppRunner asks of its primary and how the answers come back: each request tracked by id and
// answered exactly once (requests.ts), held while the primary spawns and refused at once when it cannot
// take it; the pieces of a `stream` request's answer before its reply (`profile`); and the one ping on
// its way, which every caller shares. Apart from app-runner.ts, which steps the primary's machine and
// carries out its effects: this is only the traffic, with the machine's state and the process injected.
import type { Failure } from '../errors.js';
import type { OpResults, Outcome, PrimaryMessage, PrimaryRequest, RootMessage } from '../protocol.js';
import type { PrimaryEffect } from './primary-machine.js';
import { exitedBefore, Requests } from './requests.js';

/** A request the runner's callers make (a start is the runner's own). */
export type Request = Exclude<PrimaryRequest, { op: 'start' }>;

/** A piece of a `stream` request's answer, before its reply. */
export type StreamPiece = Extract<PrimaryMessage, { type: 'profiling' | 'chunk' }>;

/** What the requests need of their runner. */
export interface LinkedPrimary {
  /** Why the primary cannot take a request now, or null. */
  refusal(): Failure | null;
  /** True while the primary spawns: a request waits for its hello. */
  spawning(): boolean;
  /** To the primary now; nothing when there is none. */
  send(message: RootMessage): void;
  /** Which spawn the primary is: a ping answered by one before says nothing of this one. */
  generation(): number;
  /** Tells the primary's machine of the shared ping (the hang watch). */
  step(event: { type: 'ping sent' } | { type: 'ping answered' }): void;
}

export class PrimaryLink {
  private readonly requests = new Requests();
  /** Where the pieces of the answers under way to `stream` requests go, by request id. */
  private readonly streams = new Map<number, (piece: StreamPiece) => void>();
  /** The ping on its way to the primary: every caller (health, watchdog, hang watch) shares it. */
  private pinging: Promise<Outcome<OpResults['ping']>> | null = null;

  constructor(private readonly primary: LinkedPrimary) {}

  /** `AppRunner.request`: refused at once, or held until the hello, or sent now. */
  request<O extends Request['op']>(request: Extract<Request, { op: O }>): Promise<Outcome<OpResults[O]>> {
    const refusal = this.primary.refusal();
    if (refusal) return Promise.resolve({ ok: false, ...refusal });
    return new Promise((resolve) => {
      const message = this.requests.track(request, resolve as (outcome: Outcome) => void);
      if (this.primary.spawning()) this.requests.hold(message);
      else this.primary.send(message);
    });
  }

  /** `AppRunner.stream`: a request whose pieces go to `piece` until it is answered. */
  stream<O extends Request['op']>(
    request: Extract<Request, { op: O }>,
    piece: (piece: StreamPiece) => void,
  ): { outcome: Promise<Outcome<OpResults[O]>>; ack(seq: number): void; cancel(): void } {
    const refusal = this.primary.refusal();
    if (refusal)
      return { outcome: Promise.resolve({ ok: false, ...refusal }), ack: () => {}, cancel: () => {} };
    let id = 0;
    const outcome = new Promise<Outcome<OpResults[O]>>((resolve) => {
      const message = this.requests.track(request, (outcome) => {
        this.streams.delete(id);
        resolve(outcome as Outcome<OpResults[O]>);
      });
      id = message.id;
      this.streams.set(id, piece);
      if (this.primary.spawning()) this.requests.hold(message);
      else this.primary.send(message);
    });
    const tell = (message: RootMessage) => {
      if (this.streams.has(id)) this.primary.send(message);
    };
    return {
      outcome,
      ack: (seq) => tell({ type: 'ack', id, seq }),
      cancel: () => tell({ type: 'cancel', id }),
    };
  }

  /** A piece of a `stream` request's answer, to its caller (none once the request is answered). */
  piece(piece: StreamPiece): void {
    this.streams.get(piece.id)?.(piece);
  }

  /** `AppRunner.ping`: the ping on its way is shared, and the primary's machine hears of it. */
  ping(): Promise<Outcome<OpResults['ping']>> {
    if (this.pinging) return this.pinging;
    if (this.primary.refusal()) return this.request({ op: 'ping' });
    const generation = this.primary.generation();
    const ping = this.request({ op: 'ping' }).then((outcome) => {
      if (this.pinging === ping) this.pinging = null;
      if (outcome.ok && generation === this.primary.generation())
        this.primary.step({ type: 'ping answered' });
      return outcome;
    });
    this.pinging = ping;
    this.primary.step({ type: 'ping sent' });
    return ping;
  }

  /** The runner's own request (start, stop, kill), sent now; `answered` gets its outcome. */
  sendNow(request: PrimaryRequest, answered: (outcome: Outcome) => void): void {
    this.primary.send(this.requests.track(request, answered));
  }

  /** Settles request `id` with the primary's answer; false if no such request is pending. */
  answer(id: number, outcome: Outcome): boolean {
    return this.requests.answer(id, outcome);
  }

  /** The primary said hello: the requests held until then go now. */
  releaseHeld(): void {
    for (const message of this.requests.release()) this.primary.send(message);
  }

  /** The primary will never say hello: the held requests are refused. */
  refuseHeld(failure: Failure): void {
    this.requests.refuseHeld(failure.code, failure.reason);
  }

  /** The primary will answer nothing more: every pending request is, with why. */
  refusePending({ code, reason, exited }: Extract<PrimaryEffect, { type: 'refuse pending' }>): void {
    this.requests.refuseAll(code, exited ? exitedBefore(exited.how, exited.after) : () => reason);
  }

  /** A new primary is spawned: the next ping goes to it, not shared with one to the primary before. */
  respawned(): void {
    this.pinging = null;
  }
}
