// The root's side of shared primaries (`primaryGroup`, docs/shared-primaries.md). The runner of a grouped
// app talks to its primary through a PrimaryChild as for any app (primary-process.ts); here that child is
// backed by the group's host process (primary/host.ts), forked on the first app that needs it, one per
// group:
// - messages go both ways tagged with the app's name; the host's hello comes first, what is sent before
//   it waits;
// - `kill(signal)` is a request to the host about that app only (SIGKILL: its workers die now and its
//   context ends). A host that does not end the app's context within KILL_HOST_MS of receiving the
//   request (counted from when it was sent to a host that said hello, not while it waited for that) is
//   not answering anyone (its event loop is blocked): it is SIGKILLed, which is every app's exit;
// - the app's context ending is that app's exit; the host's own exit is the exit of every app attached;
// - the apps' workers' output comes as messages tagged with the app: written out whole, and handed to
//   that app's `output` (its `clusterd logs`). Each message is acknowledged (`ack`, counts per app and
//   stream, one message per app for a turn's worth) once the root's stdout/stderr accepted its write, at
//   once or after 'drain': the host keeps a window of unacknowledged output per app and stream
//   (primary/host.ts), so a slow stdout pauses that app's workers as the pipe of a primary of its own
//   does (log/relay.ts), and the root's buffer stays bounded;
// - once no app is attached the host is told to exit; an app attached after that gets a new host. A host
//   that exits with no app attached has its process group swept (what an app's descendants left there),
//   as each app's runner sweeps its primary's group when it exits with apps attached (leftovers.ts).
// The process itself is behind `HostFork`, so all of this is unit-tested with fakes.
import type { Writable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { killGroup, linuxProc } from '../primary/stop/descendants-proc.js';
import { type HostMessage, type HostRootMessage, isHostMessage, PROTOCOL_VERSION } from '../protocol.js';
import {
  forkPrimary,
  type PrimaryChild,
  type PrimaryHandlers,
  type RunnerEffects,
} from './primary-process.js';

/** How long a host has to end an app's context after a SIGKILL for it before the host itself is killed. */
export const KILL_HOST_MS = 2_000;
/** How long a host that has not said hello yet may take to start, when a SIGKILL for an app of it waits. */
export const HOST_START_MS = 10_000;

/** A host process, as the root drives it. */
export interface HostChild {
  readonly pid: number | null;
  send(message: HostRootMessage): void;
  kill(signal: NodeJS.Signals): void;
}

export interface HostHandlers {
  message(message: unknown): void;
  exit(code: number | null, signal: NodeJS.Signals | null, failure?: string): void;
  error(error: Error): void;
}

export interface HostEffects {
  /** Forks the group's host process. May throw: every app attached gets that as a failed start. */
  fork(group: string, handlers: HostHandlers): HostChild;
  timer(ms: number, fn: () => void): () => void;
  /** Calls `fn` once, after what is being handled now (a turn's acknowledgements go together). */
  soon(fn: () => void): void;
  /**
   * Writes the apps' output to the root's stdout or stderr, whole lines at a time. False: the stream is
   * backed up (the write is buffered), until `drained`.
   */
  write(stream: 'stdout' | 'stderr', text: string): boolean;
  /** Calls `fn` once `stream` takes writes again ('drain'), or will never (closed). */
  drained(stream: 'stdout' | 'stderr', fn: () => void): void;
  /** Kills what is left in the process group of a host that exited (`pid`, its leader), and says so. */
  sweep(group: string, pid: number): void;
  /** Something of the host's own to report (a protocol mismatch). */
  warn(group: string, message: string): void;
}

type Stream = 'stdout' | 'stderr';

interface Host {
  readonly group: string;
  child: HostChild | null;
  ready: boolean;
  /** What waits for the host's hello; `sent` once it went. */
  queue: { message: HostRootMessage; sent: (() => void) | undefined }[];
  /** The apps attached, each with its runner's handlers. */
  readonly apps: Map<string, PrimaryHandlers>;
  /**
   * Each attached app's output messages written and not yet acknowledged, per stream. A new object per
   * attachment: what is taken after the app's context ended is not counted for its next one.
   */
  readonly credit: Map<string, Record<Stream, number>>;
  acking: boolean;
  closing: boolean;
  dead: boolean;
}

export class SharedPrimaries {
  private readonly hosts = new Map<string, Host>();
  /** Per stream of the root, while it is backed up: what to do once it drained (acknowledgements). */
  private readonly backedUp: Record<Stream, (() => void)[] | null> = { stdout: null, stderr: null };

  constructor(private readonly fx: HostEffects) {}

  /** The runner effects of an app of `group`: its primary is the group's host. */
  effectsFor(base: RunnerEffects, group: string, app: string): RunnerEffects {
    return { ...base, spawn: (handlers) => this.attach(group, app, handlers) };
  }

  /** The pid of the group's host, while it runs. */
  hostPid(group: string): number | null {
    const host = this.hosts.get(group);
    return host && !host.dead ? (host.child?.pid ?? null) : null;
  }

  private send(host: Host, message: HostRootMessage, sent?: () => void): void {
    if (host.dead) return;
    if (!host.ready) {
      host.queue.push({ message, sent });
      return;
    }
    host.child?.send(message);
    sent?.();
  }

  private start(group: string): Host {
    const host: Host = {
      group,
      child: null,
      ready: false,
      queue: [],
      apps: new Map(),
      credit: new Map(),
      acking: false,
      closing: false,
      dead: false,
    };
    this.hosts.set(group, host);
    try {
      host.child = this.fx.fork(group, {
        message: (message) => this.onMessage(host, message),
        exit: (code, signal, failure) => this.onExit(host, code, signal, failure),
        error: (error) => {
          for (const handlers of host.apps.values()) handlers.error(error);
        },
      });
    } catch (error) {
      host.dead = true;
      this.hosts.delete(group);
      throw error;
    }
    return host;
  }

  private attach(group: string, app: string, handlers: PrimaryHandlers): PrimaryChild {
    const existing = this.hosts.get(group);
    const host = existing && !existing.dead && !existing.closing ? existing : this.start(group);
    host.apps.set(app, handlers);
    host.credit.set(app, { stdout: 0, stderr: 0 });
    this.send(host, { type: 'attach', app });
    const current = () => !host.dead && host.apps.get(app) === handlers;
    return {
      get pid() {
        return host.child?.pid ?? null;
      },
      send: (message) => {
        if (current()) this.send(host, { type: 'to', app, message });
      },
      kill: (signal) => {
        if (!current()) return;
        const message: HostRootMessage = { type: 'signal', app, signal };
        if (signal !== 'SIGKILL') {
          this.send(host, message);
          return;
        }
        const killHost = (why: string) => () => {
          if (!current()) return;
          this.fx.warn(
            group,
            `the shared primary of group ${group} ${why}: killing it (every app of the group restarts)`,
          );
          host.child?.kill('SIGKILL');
        };
        // The host is judged from when it can act on the request: a host still starting (no hello yet)
        // has not got it. One that never says hello (stuck as it loads) would never get it: it has the
        // time a host takes to start on top, counted from the request.
        let cancel = host.ready
          ? null
          : this.fx.timer(
              HOST_START_MS + KILL_HOST_MS,
              killHost(
                `had not started (no hello) ${HOST_START_MS + KILL_HOST_MS} ms after a SIGKILL for app ${app}`,
              ),
            );
        this.send(host, message, () => {
          cancel?.();
          cancel = this.fx.timer(
            KILL_HOST_MS,
            killHost(`did not end app ${app} within ${KILL_HOST_MS} ms of a SIGKILL for it`),
          );
        });
      },
    };
  }

  private onMessage(host: Host, raw: unknown): void {
    if (!isHostMessage(raw)) return;
    const message: HostMessage = raw;
    switch (message.type) {
      case 'host': {
        if (message.version !== PROTOCOL_VERSION) {
          this.fx.warn(
            host.group,
            `the shared primary of group ${host.group} speaks protocol ${message.version}, expected ${PROTOCOL_VERSION}`,
          );
          host.child?.kill('SIGKILL');
          return;
        }
        host.ready = true;
        for (const { message: queued, sent } of host.queue.splice(0)) {
          host.child?.send(queued);
          sent?.();
        }
        return;
      }
      case 'from':
        host.apps.get(message.app)?.message(message.message);
        return;
      case 'output': {
        const credit = host.credit.get(message.app);
        const { stream } = message;
        this.write(stream, message.text, () => {
          if (!credit) return;
          credit[stream] += 1;
          this.ackSoon(host);
        });
        host.apps.get(message.app)?.output(Buffer.from(message.text));
        return;
      }
      case 'ended': {
        const handlers = host.apps.get(message.app);
        if (!handlers) return;
        host.apps.delete(message.app);
        host.credit.delete(message.app);
        handlers.exit(message.code, message.signal);
        if (host.apps.size === 0 && !host.dead) {
          host.closing = true;
          this.send(host, { type: 'close' });
        }
        return;
      }
    }
  }

  private onExit(
    host: Host,
    code: number | null,
    signal: NodeJS.Signals | null,
    failure: string | undefined,
  ): void {
    if (host.dead) return;
    host.dead = true;
    if (this.hosts.get(host.group) === host) this.hosts.delete(host.group);
    const apps = [...host.apps.values()];
    host.apps.clear();
    host.credit.clear();
    for (const handlers of apps) handlers.exit(code, signal, failure);
    // With apps attached, each one's runner sweeps the group (leftovers.ts); without, nobody else would.
    const pid = host.child?.pid ?? null;
    if (apps.length === 0 && pid !== null) this.fx.sweep(host.group, pid);
  }

  /**
   * Writes an app's output; `taken` once the stream accepted it. While a stream is backed up, what is
   * written to it is taken when it drains, in order.
   */
  private write(stream: Stream, text: string, taken: () => void): void {
    const waiting = this.backedUp[stream];
    if (this.fx.write(stream, text) && !waiting) {
      taken();
      return;
    }
    if (waiting) {
      waiting.push(taken);
      return;
    }
    const queue = [taken];
    this.backedUp[stream] = queue;
    this.fx.drained(stream, () => {
      this.backedUp[stream] = null;
      for (const fn of queue) fn();
    });
  }

  /** The acknowledgements of this turn, one message per app (both streams' counts). */
  private ackSoon(host: Host): void {
    if (host.acking) return;
    host.acking = true;
    this.fx.soon(() => {
      host.acking = false;
      for (const [app, credit] of host.credit) {
        if (credit.stdout === 0 && credit.stderr === 0) continue;
        this.send(host, { type: 'ack', app, stdout: credit.stdout, stderr: credit.stderr });
        credit.stdout = 0;
        credit.stderr = 0;
      }
    });
  }
}

/** The real host processes: primary/entry.js with `--group`, forked as an app's own primary is. */
export function hostEffects(
  output: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
  log: Pick<Logger, 'warn'>,
  warn: (group: string, message: string) => void,
): HostEffects {
  const target = (stream: Stream) => (stream === 'stdout' ? output.out : output.err) as Writable;
  return {
    fork: (group, handlers) => {
      // Forked as an app's own primary is (its own process group, the supervisor's environment, a small
      // young generation), the group's name an argument of its own, never a shell's. The host's own
      // output (Node.js's warnings) is written whole lines at a time; the apps' come as messages.
      return forkPrimary(['--group', group], output, handlers);
    },
    timer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    soon: (fn) => {
      setImmediate(fn);
    },
    write: (stream, text) => {
      const to = target(stream);
      // Nobody reads our output any more (a closed pipe): dropped, as relayLines does, and taken.
      if (to.destroyed) return true;
      return to.write(text);
    },
    drained: (stream, fn) => {
      const to = target(stream);
      if (to.destroyed) {
        fn();
        return;
      }
      const done = () => {
        to.off('drain', done);
        to.off('close', done);
        fn();
      };
      to.once('drain', done);
      to.once('close', done);
    },
    sweep: (group, pid) => {
      const pids = killGroup(linuxProc(), pid);
      if (pids.length > 0) log.warn({ group, pids }, "killed processes left in the shared primary's group");
    },
    warn,
  };
}
