// Every message between the root supervisor, the app primaries and the workers. One versioned module
// with discriminated unions: a message that is not declared here is not sent.
import type { ResolvedApp } from './config/resolved.js';
import type { AppState, WorkerState } from './lifecycle/states.js';
import type { LogFileReport } from './log/file.js';

/** Bumped on any incompatible change; a primary of another version is refused by the root. */
export const PROTOCOL_VERSION = 1;

export type LogFormat = 'json' | 'pretty';

// Root -> primary.
export type RootMessage =
  | {
      type: 'start';
      app: ResolvedApp;
      /** The exact environment the workers get (supervisor env + app env, removals applied). */
      env: Record<string, string>;
      logFormat: LogFormat;
    }
  /** Graceful: drain every worker, signal, SIGKILL after the shutdown timeout. */
  | { type: 'stop' }
  /** Immediate: SIGKILL every worker. */
  | { type: 'kill' }
  /** Rolling reload with these settings and this worker environment. */
  | { type: 'reload'; app: ResolvedApp; env: Record<string, string> }
  /** Run this many workers: start new ones, or drain the highest slots. */
  | { type: 'scale'; instances: number };

export interface WorkerTransition {
  /** Slot id: NODE_APP_INSTANCE, 0..instances-1, reused across restarts. */
  worker: number;
  pid: number | null;
  from: WorkerState | null;
  to: WorkerState;
  reason?: string;
  code?: number | null;
  signal?: string | null;
  /** Where the worker listens, on `ready` with listening readiness. */
  address?: string;
}

export interface ExitRecord {
  worker: number;
  pid: number | null;
  at: string;
  reason: string;
}

// Primary -> root.
export type PrimaryMessage =
  | { type: 'hello'; version: number; pid: number }
  | { type: 'worker'; transition: WorkerTransition }
  | {
      type: 'app';
      from: AppState;
      to: AppState;
      reason?: string;
      /** With `errored`: the last exits that led there. */
      lastExits?: ExitRecord[];
    }
  /** A restart is scheduled for a slot. */
  | { type: 'backoff'; worker: number; delay: number; attempt: number }
  | { type: 'error'; message: string }
  | { type: 'reload'; phase: 'started' }
  | { type: 'reload'; phase: 'done'; replaced: number; ms: number }
  | { type: 'reload'; phase: 'failed'; reason: string }
  /** The app's file watcher has scanned its paths and is watching. */
  | { type: 'watching'; paths: string[] }
  /** Watched files changed: a rolling reload follows. */
  | { type: 'watch'; files: string[]; count: number }
  | { type: 'scaled'; from: number; to: number }
  /** The app's `logs.file` started failing, or is written again. */
  | ({ type: 'logfile' } & LogFileReport)
  /** Sent last: the primary exits on purpose (its app is stopped or errored). */
  | { type: 'bye' };

// Worker -> primary. A bare 'ready' string is what PM2 apps send (`process.send('ready')`).
export type WorkerMessage = 'ready' | { clusterd: 'ready' };

export function isWorkerReady(message: unknown): boolean {
  return (
    message === 'ready' ||
    (typeof message === 'object' &&
      message !== null &&
      (message as { clusterd?: unknown }).clusterd === 'ready')
  );
}

// Records with every type as a key: adding a message type without listing it here fails to compile.
const ROOT_TYPES: Record<RootMessage['type'], true> = {
  start: true,
  stop: true,
  kill: true,
  reload: true,
  scale: true,
};
const PRIMARY_TYPES: Record<PrimaryMessage['type'], true> = {
  hello: true,
  worker: true,
  app: true,
  backoff: true,
  error: true,
  reload: true,
  watch: true,
  watching: true,
  scaled: true,
  logfile: true,
  bye: true,
};

const typeIn = (types: Record<string, true>, value: unknown) =>
  typeof value === 'object' &&
  value !== null &&
  Object.hasOwn(types, (value as { type?: string }).type ?? '');

export function isRootMessage(value: unknown): value is RootMessage {
  return typeIn(ROOT_TYPES, value);
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return typeIn(PRIMARY_TYPES, value);
}
