// What following a launch gives (launch.ts, bins.ts): the project it is read from, and the Node.js file
// it comes to, or why it comes to none.
import type { NodeCommand } from './command.js';

export interface LaunchContext {
  /** Whether a regular file exists at a path relative to the app's directory. */
  isFile: (file: string) => boolean;
  /** A JSON file relative to the app's directory, or null when it is missing or not JSON. */
  readJson: (file: string) => unknown;
  /**
   * The JavaScript file `node_modules/.bin/<bin>` runs, relative to the app's directory, or null when
   * the bin is not installed (or is no JavaScript file: a binary, a shell script of its own).
   */
  binTarget: (bin: string) => string | null;
}

/** A command resolved to a Node.js file; `cwd` when a `cd dir &&` moved it (relative). */
export interface Launch {
  command: NodeCommand;
  cwd?: string;
  /** What differs from running the command as written, one sentence each. */
  notes: string[];
}

export type LaunchResult =
  | { ok: true; launch: Launch }
  /** `notNode`: it runs a program that is not Node.js (as opposed to a form clusterd cannot follow). */
  | { ok: false; reason: string; notNode?: boolean };

export const fail = (reason: string, notNode = false): LaunchResult => ({ ok: false, reason, notNode });

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
