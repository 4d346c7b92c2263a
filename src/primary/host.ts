// A shared primary (`primaryGroup`, docs/shared-primaries.md): one process that is the primary of
// several apps, one AppContext each. The root attaches an app (`attach`: its context says hello), talks
// to it wrapped with its name (`to` / `from`), and the context's end is reported as that app's primary's
// exit (`ended`). The apps' workers' output comes to the root as `output` messages tagged with the app
// (whole lines, from primary/process/output.ts), so the root still writes and keeps each app's own lines.
// The process exits when the root says no app is left (`close`), when the root is gone (after killing
// every worker), or on a fault of its own: then the root restarts every app of the group.
import { EventEmitter } from 'node:events';
import type { HostMessage, HostRootMessage, PrimaryMessage } from '../protocol.js';
import { PROTOCOL_VERSION } from '../protocol.js';
import { AppContext } from './app-context.js';
import type { Sink } from './process/output.js';

/**
 * The window of an app's output stream: messages (and bytes) sent to the root and not yet acknowledged
 * by it (`ack`: its own stdout/stderr took them), above which the app's workers' streams are paused. The
 * root acknowledges only what its target stream accepted, so a slow stdout pauses the workers here as
 * the pipe of a primary of its own does, and the root holds at most this much of the app's output.
 */
export const OUTPUT_WINDOW = 64;
export const OUTPUT_WINDOW_BYTES = 1024 * 1024;

/** An app's stdout or stderr in a shared primary: whole lines to the root over IPC, tagged with the app. */
export class IpcSink extends EventEmitter implements Sink {
  /** Posted, not yet handed to the IPC channel: what `flushed` waits for. */
  private posting = 0;
  private waiters: (() => void)[] = [];
  /** The sizes of the messages the root has not acknowledged yet, oldest first (it acknowledges in order). */
  private readonly unacked: number[] = [];
  private bytes = 0;
  /** A write said "pause": 'drain' is owed once the window has room again. */
  private full = false;
  /** Its context ended (`release`): nothing counted, nothing held back. */
  private released = false;

  constructor(
    private readonly post: (message: HostMessage, then: () => void) => void,
    private readonly app: string,
    private readonly stream: 'stdout' | 'stderr',
  ) {
    super();
  }

  write(chunk: string | Buffer): boolean {
    this.posting += 1;
    // Messages are JSON: the lines go as text (whole lines, valid UTF-8: nothing is cut or replaced).
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const size = chunk.length;
    if (!this.released) {
      this.unacked.push(size);
      this.bytes += size;
    }
    this.post({ type: 'output', app: this.app, stream: this.stream, text }, () => {
      this.posting -= 1;
      if (this.posting === 0) for (const resolve of this.waiters.splice(0)) resolve();
    });
    if (this.open()) return true;
    this.full = true;
    return false;
  }

  /** The root took the oldest `count` messages; more than were sent (a stale ack) is taken as all. */
  ack(count: number): void {
    for (let i = 0; i < count && this.unacked.length > 0; i++) this.bytes -= this.unacked.shift() as number;
    if (this.full && this.open()) {
      this.full = false;
      this.emit('drain');
    }
  }

  /**
   * Its app's context ended: the root forgets its count of this attachment, so no acknowledgement comes
   * for what is in flight. Nothing is held back any more: a worker's stream paused on this sink resumes
   * (its last lines still go out), else it stayed paused with its pipe open in the host for good.
   */
  release(): void {
    this.released = true;
    this.unacked.length = 0;
    this.bytes = 0;
    if (this.full) {
      this.full = false;
      this.emit('drain');
    }
  }

  /** Messages sent and not yet acknowledged by the root. */
  get inFlight(): number {
    return this.unacked.length;
  }

  /**
   * Resolves once everything written has left for the root (handed to the IPC channel): not once the
   * root wrote it, so an app's stop does not wait on a stdout nobody reads (the root writes what it got).
   */
  flushed(): Promise<void> {
    if (this.posting === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private open(): boolean {
    return this.unacked.length < OUTPUT_WINDOW && this.bytes < OUTPUT_WINDOW_BYTES;
  }
}

export interface HostProcess {
  readonly baseEnv: Readonly<NodeJS.ProcessEnv>;
  post(message: HostMessage, then?: () => void): void;
  /** The host's own stdout and stderr written out (Node.js's warnings, not the apps'). */
  flushStdio(): Promise<unknown>;
  fatal(error: unknown): void;
  exit(code: number): void;
}

export class SharedHost {
  private readonly byApp = new Map<string, AppContext>();
  /** Each attached app's output streams, for the root's acknowledgements. */
  private readonly sinks = new Map<string, Record<'stdout' | 'stderr', IpcSink>>();
  /** The root has no app here any more: exit once the last context ended. */
  private closing = false;
  private abandoned = false;

  constructor(private readonly p: HostProcess) {}

  hello(): void {
    this.p.post({ type: 'host', version: PROTOCOL_VERSION, pid: process.pid });
  }

  contexts(): Iterable<AppContext> {
    return this.byApp.values();
  }

  /** A message to every app's root side (a fault of the host's); `then` once all have left. */
  tellAll(message: PrimaryMessage, then: () => void): void {
    let left = this.byApp.size;
    if (left === 0) {
      then();
      return;
    }
    for (const app of this.byApp.keys())
      this.p.post({ type: 'from', app, message }, () => {
        left -= 1;
        if (left === 0) then();
      });
  }

  receive(message: HostRootMessage): void {
    switch (message.type) {
      case 'attach':
        this.attach(message.app);
        return;
      case 'to':
        this.byApp.get(message.app)?.receive(message.message);
        return;
      case 'signal': {
        const context = this.byApp.get(message.app);
        if (!context) return;
        if (message.signal === 'SIGKILL') context.killNow();
        else context.stopGracefully();
        return;
      }
      case 'close':
        this.closing = true;
        if (this.byApp.size === 0) this.p.exit(0);
        return;
      case 'ack': {
        // An app no longer attached (its context ended while its output was being written): nothing to move.
        const sinks = this.sinks.get(message.app);
        if (message.stdout > 0) sinks?.stdout.ack(message.stdout);
        if (message.stderr > 0) sinks?.stderr.ack(message.stderr);
        return;
      }
    }
  }

  private attach(app: string): void {
    // An app attached twice without ending (the root's fault): the old context's workers go first.
    this.byApp.get(app)?.killNow();
    this.closing = false;
    const post = (message: HostMessage, then?: () => void) => this.p.post(message, then);
    const sinks = {
      stdout: new IpcSink(post, app, 'stdout'),
      stderr: new IpcSink(post, app, 'stderr'),
    };
    // Once its context ended, what is left of it (a killed pool's last reports) is not sent: the root may
    // have attached the app again already, and those would read as the new primary's.
    let ended = false;
    const context: AppContext = new AppContext({
      baseEnv: this.p.baseEnv,
      send: (message, then) => {
        if (ended) then?.();
        else post({ type: 'from', app, message }, then);
      },
      sinks,
      flush: () => Promise.all([sinks.stdout.flushed(), sinks.stderr.flushed()]),
      end: (code, signal) => {
        ended = true;
        sinks.stdout.release();
        sinks.stderr.release();
        if (this.byApp.get(app) === context) {
          this.byApp.delete(app);
          this.sinks.delete(app);
        }
        post({ type: 'ended', app, code: signal ? null : code, signal: signal ?? null });
        if (this.closing && this.byApp.size === 0) this.p.exit(0);
      },
      fatal: (error) => this.p.fatal(error),
    });
    this.byApp.set(app, context);
    this.sinks.set(app, sinks);
    context.hello();
  }

  /** A signal to the host itself (SIGTERM, SIGINT): every app stops gracefully, as its own primary would. */
  stopAll(): void {
    this.closing = true;
    if (this.byApp.size === 0) this.p.exit(0);
    for (const context of [...this.byApp.values()]) context.stopGracefully();
  }

  /** The root is gone: nothing may outlive it. */
  async abandon(): Promise<void> {
    if (this.abandoned) return;
    this.abandoned = true;
    await Promise.all([...this.byApp.values()].map((context) => context.abandon()));
    await this.p.flushStdio();
    this.p.exit(0);
  }
}
