// The runner's effects: what it asks of a primary process, and the real one in the root (forkPrimary:
// child_process.fork of primary/entry.js), its output relayed whole lines at a time, real timers.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { compileCacheInUse } from '../compile-cache.js';
import { relayLines } from '../log/relay.js';
import { killGroup, linuxProc } from '../primary/stop/descendants-proc.js';
import type { RootMessage } from '../protocol.js';

/** What the runner asks of a primary process. */
export interface PrimaryChild {
  readonly pid: number | null;
  send(message: RootMessage): void;
  kill(signal: NodeJS.Signals): void;
}

/** What a primary process tells the runner. */
export interface PrimaryHandlers {
  message(message: unknown): void;
  /** `failure`: why it never ran (the fork failed). */
  exit(code: number | null, signal: NodeJS.Signals | null, failure?: string): void;
  output(chunk: Buffer): void;
  error(error: Error): void;
}

export interface RunnerEffects {
  /** Forks a primary. May throw: that is a failed start of the primary. */
  spawn(handlers: PrimaryHandlers): PrimaryChild;
  timer(ms: number, fn: () => void): () => void;
  now(): number;
  /**
   * SIGKILLs a worker its dead primary left behind, if it still runs; a program's instance (the leader
   * of its own process group, with the app's name in its environment) with its whole group.
   */
  killLeftover(pid: number, app: string): boolean;
  /** SIGKILLs what a dead primary's process group still holds (`group`: its pid); returns their pids. */
  killGroup(group: number): number[];
}

// primary/entry.js enables the compile cache the root uses (its directory the one argument), then loads
// primary/main.js.
export const PRIMARY_ENTRY = new URL('../primary/entry.js', import.meta.url);

/** The arguments that hand a primary (an app's own or a shared one) the root's compile cache. */
export const compileCacheArgs = (): string[] => {
  const cache = compileCacheInUse();
  return cache ? ['--compile-cache', cache] : [];
};

/** Whether `pid` runs with `CLUSTERD_APP=app` in its environment (as clusterd started its workers). */
function isAppInstance(pid: number, app: string): boolean {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(`\0CLUSTERD_APP=${app}\0`);
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A forked primary process: a PrimaryChild (an app's own) or a HostChild (a shared one). */
export interface ForkedPrimary {
  readonly pid: number | null;
  send(message: object): void;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Forks primary/entry.js: an app's own primary, or with `--group <name>` a shared one (`extra`, never a
 * shell's words). Its own output (Node.js's warnings; for an app's own primary, its workers' too) is
 * written out whole lines at a time and handed to `onOutput`.
 */
export function forkPrimary(
  extra: string[],
  output: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
  handlers: Pick<PrimaryHandlers, 'message' | 'exit' | 'error'>,
  onOutput?: (chunk: Buffer) => void,
): ForkedPrimary {
  const child = fork(PRIMARY_ENTRY, [...compileCacheArgs(), ...extra], {
    // The primary gets the supervisor's plain environment; each worker's is built from it, per fork.
    env: process.env,
    // A primary holds little but allocates steadily (every line of its workers' output): V8 would grow
    // its young generation to 16 MiB per semi-space and keep it; 1 MiB keeps its RSS flat (measured
    // in test/reliability/crash-loop.test.ts and bench/supervisor-memory.ts).
    execArgv: ['--max-semi-space-size=1'],
    // Its output comes back through the root, which writes whole lines (see log/relay.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own session and process group (setsid): a terminal's Ctrl-C reaches the root only, which then
    // stops gracefully; its workers and what they start inherit the group, so whatever is left of
    // the app once the primary is gone is found by the group (see killGroup).
    detached: true,
    serialization: 'json',
  });
  if (child.stdout) relayLines(child.stdout, output.out as Writable, onOutput);
  if (child.stderr) relayLines(child.stderr, output.err as Writable, onOutput);
  child.on('message', handlers.message);
  child.on('exit', (code, signal) => handlers.exit(code, signal));
  child.on('error', (error) => {
    // A spawn that failed (EAGAIN, ...) emits this and never an exit.
    if (child.pid === undefined) handlers.exit(null, null, `could not start: ${error.message}`);
    else handlers.error(error);
  });
  return {
    get pid() {
      return child.pid ?? null;
    },
    // A message to a primary that is gone is dropped: its exit answers what is pending on it.
    send: (message) => {
      if (child.connected) child.send(message);
    },
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

export function primaryEffects(
  output: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = {
    out: process.stdout,
    err: process.stderr,
  },
): RunnerEffects {
  return {
    spawn: (handlers) => forkPrimary([], output, handlers, handlers.output),
    timer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    now: Date.now,
    killGroup: (group) => killGroup(linuxProc(), group),
    killLeftover: (pid, app) => {
      if (!alive(pid)) return false;
      try {
        // A program's instance leads a process group of its own: all of it goes (its children too). A
        // pid reused since by another group's leader (another app's primary or instance) is not ours:
        // its environment names another app, or none.
        const leads = linuxProc().entry(pid)?.pgid === pid && isAppInstance(pid, app);
        process.kill(leads ? -pid : pid, 'SIGKILL');
        return true;
      } catch {
        return false;
      }
    },
  };
}
