// The control protocol: JSON lines over the root's Unix socket. Each request carries an id; the reply
// carries the same id. `logs --follow` keeps the connection and receives `output` messages.
import type { AppState, WorkerState } from '../lifecycle/states.js';

export const CONTROL_VERSION = 1;
/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export type Command =
  | { cmd: 'status' }
  | { cmd: 'reload'; app?: string }
  | { cmd: 'restart'; app?: string }
  | { cmd: 'scale'; app: string; instances: string }
  | { cmd: 'stop'; app?: string }
  | { cmd: 'start'; app: string }
  | { cmd: 'shutdown' }
  | { cmd: 'logs'; app?: string; lines?: number; follow?: boolean };

export type Request = Command & { v: number; id: string | number };

export interface WorkerStatus {
  id: number;
  pid: number | null;
  state: WorkerState;
  restarts: number;
  /** ms since this worker started. */
  uptime: number;
  cpu: number | null;
  memory: number | null;
}

export interface AppStatus {
  name: string;
  state: AppState;
  instances: number;
  primary: number | null;
  workers: WorkerStatus[];
}

export interface Status {
  pid: number;
  config: string;
  environment: string | null;
  uptime: number;
  apps: AppStatus[];
}

export type Reply =
  | { v: number; id: string | number | null; ok: true; result: unknown }
  | { v: number; id: string | number | null; ok: false; error: { code: string; message: string } }
  | { v: number; id: string | number; output: string };

export const COMMANDS: Record<Command['cmd'], true> = {
  status: true,
  reload: true,
  restart: true,
  scale: true,
  stop: true,
  start: true,
  shutdown: true,
  logs: true,
};
