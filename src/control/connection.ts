// One client of the control socket. Its requests are read and answered one at a time, and nothing it does
// (or fails to do) makes the root hold more than a bounded amount for it:
// - a request line is at most MAX_REQUEST_BYTES, else the client gets an error line and is closed;
// - while more than MAX_PENDING_OUTPUT of answers waits for the client to read it, no further request is
//   read, and a `logs --follow` client that falls that far behind is disconnected;
// - a client that has no request running and sends no complete request for IDLE_TIMEOUT_MS is closed;
// - a connection being closed gets LINGER_MS to take its last line, then it is dropped.
import type { Socket } from 'node:net';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type Answer, failure } from './commands.js';
import {
  CONTROL_VERSION,
  IDLE_TIMEOUT_MS,
  MAX_PENDING_OUTPUT,
  MAX_REQUEST_BYTES,
  type Reply,
} from './protocol.js';

const NEWLINE = 0x0a;
/** How long a closed connection may take to read its last line. */
export const LINGER_MS = 2_000;

type Handler = (line: string, progress: (reply: Reply) => void) => Promise<Answer>;

export class Connection {
  private state: 'reading' | 'following' | 'closing' = 'reading';
  /** The request line being read (bytes, so a multi-byte character split between reads stays whole). */
  private partial = Buffer.alloc(0);
  private partialLength = 0;
  /** Complete lines read but not yet run. */
  private lines: string[] = [];
  private busy = false;
  /** The client has half-closed: it sends no more, but its requests are still answered. */
  private ended = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** A stream whose end, when the client half-closes, is the client's leaving (a profile: it stops it). */
  private leavesOnEnd = false;

  constructor(
    private readonly socket: Socket,
    private readonly handle: Handler,
    private readonly log: Logger,
  ) {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('drain', () => this.pump());
    socket.on('end', () => this.end());
    socket.once('close', () => this.closed());
    this.arm();
  }

  // Ends the connection with `reply` as its last line (none: a plain end).
  private close(reply?: Reply, lingerMs = LINGER_MS): void {
    if (this.state === 'closing') return;
    this.state = 'closing';
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.lines = [];
    // Whatever else the client sends is read and dropped, so that closing does not reset it.
    this.socket.resume();
    if (reply) this.socket.end(`${JSON.stringify(reply)}\n`);
    else this.socket.end();
    this.disarm();
    this.timer = setTimeout(() => this.socket.destroy(), lingerMs);
  }

  private send(message: Reply, written?: () => void): void {
    if (this.socket.writable)
      this.socket.write(`${JSON.stringify(message)}\n`, (error) => {
        if (!error) written?.();
      });
  }

  private read(chunk: Buffer): void {
    if (this.state !== 'reading') return;
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (!this.append(chunk.subarray(start, end))) return;
      const line = this.partial.toString('utf8', 0, this.partialLength);
      this.partialLength = 0;
      if (line.trim()) this.lines.push(line);
      start = end + 1;
    }
    if (this.append(chunk.subarray(start))) this.pump();
  }

  // Adds to the line being read; false (and the connection closing) once it is too long.
  private append(bytes: Buffer): boolean {
    const length = this.partialLength + bytes.length;
    if (length > MAX_REQUEST_BYTES) {
      this.close(failure(null, ErrorCode.CONTROL, `request larger than ${MAX_REQUEST_BYTES} bytes`));
      return false;
    }
    if (length > this.partial.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(MAX_REQUEST_BYTES, Math.max(length, this.partial.length * 2)),
      );
      this.partial.copy(grown, 0, 0, this.partialLength);
      this.partial = grown;
    }
    bytes.copy(this.partial, this.partialLength);
    this.partialLength = length;
    return true;
  }

  // `printf '{...}' | nc -U`: the last line may lack its newline; the answers still go out, then the end.
  private end(): void {
    this.ended = true;
    // The socket stays open after the client's end (half-close): a profile would run on for nobody.
    if (this.state === 'following' && this.leavesOnEnd) this.close();
    if (this.state !== 'reading') return;
    const line = this.partial.toString('utf8', 0, this.partialLength);
    this.partialLength = 0;
    if (line.trim()) this.lines.push(line);
    this.pump();
  }

  // Runs the next request if none is running and the client takes its answers; reads more only then.
  private pump(): void {
    if (this.state !== 'reading') return;
    const backedUp = () => this.socket.writableLength > MAX_PENDING_OUTPUT;
    if (!this.busy && !backedUp()) {
      const line = this.lines.shift();
      if (line !== undefined) this.run(line);
    }
    if (this.state !== 'reading') return;
    if (this.ended && !this.busy && !this.lines.length) this.close();
    else if (this.busy || this.lines.length || backedUp()) this.socket.pause();
    else this.socket.resume();
  }

  private run(line: string): void {
    this.busy = true;
    this.disarm();
    void this.handle(line, (reply) => this.send(reply)).then((answer) => {
      this.busy = false;
      if ('follow' in answer) {
        if (this.state === 'reading') this.follow(answer.follow);
        // Gone meanwhile: subscribed and at once unsubscribed, so that a stream with work behind it (a
        // profile) stops it.
        else
          answer.follow.subscribe(
            () => {},
            () => {},
          )();
        return;
      }
      // A client that left before its answer still had its request carried out (a shutdown, say).
      this.send(answer.reply);
      answer.after?.();
      if (this.state !== 'reading') return;
      this.arm();
      this.pump();
    });
  }

  private follow({ id, what, first, subscribe }: Extract<Answer, { follow: unknown }>['follow']): void {
    this.state = 'following';
    this.leavesOnEnd = what === 'profile' || what === 'heap';
    this.lines = [];
    // Input is no longer read as requests, but is read, so that a client that goes away is noticed.
    this.socket.resume();
    this.send({ v: CONTROL_VERSION, id, following: true });
    for (const message of first) this.send(message);
    // The recent lines may be more than the limit on their own; live output may add the limit to them.
    const limit = this.socket.writableLength + MAX_PENDING_OUTPUT;
    const end = (last: Reply) => {
      if (this.state === 'following') this.close(last);
    };
    this.unsubscribe = subscribe((message, written) => {
      if (this.state !== 'following') return;
      if (this.socket.writableLength > limit) {
        // Closed first: the warning is an event itself, which an events follower would be sent.
        const behind = what === 'events' ? 'the events' : what === 'monitor' ? 'the samples' : 'the output';
        const message = `${what} fell more than ${MAX_PENDING_OUTPUT} bytes behind ${behind}; disconnected`;
        this.close(failure(id, ErrorCode.CONTROL, message), IDLE_TIMEOUT_MS);
        this.log.warn(
          { follower: id, pending: this.socket.writableLength },
          `control: ${what === 'events' ? 'an' : 'a'} ${what} client fell more than ${MAX_PENDING_OUTPUT} bytes behind; disconnected it`,
        );
        return;
      }
      this.send(message, written);
    }, end);
    // Gone before its stream began: stopped at once.
    if (this.ended && this.leavesOnEnd) this.close();
  }

  // Closes a connection that has gone IDLE_TIMEOUT_MS without a complete request.
  private arm(): void {
    this.disarm();
    this.timer = setTimeout(() => {
      // One that has not even read its last answer is not sent another.
      if (this.socket.writableLength > 0) {
        this.socket.destroy();
        return;
      }
      this.close(
        failure(null, ErrorCode.CONTROL, `no complete request within ${IDLE_TIMEOUT_MS} ms; closing`),
      );
    }, IDLE_TIMEOUT_MS);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private closed(): void {
    this.disarm();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.state = 'closing';
    this.lines = [];
  }
}
