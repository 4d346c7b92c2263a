// What the exporters read of an app that is a program (`command`, not a Node.js `script`): its
// resolved `program` (config/resolved.ts; docs/programs.md), null for a Node.js app.
import type { ResolvedApp } from '../config/resolved.js';

/** The fields of ResolvedApp.program the exporters use. */
export interface ExportedProgram {
  /** As written; its first element with a slash is a path (relative to cwd), else a name found on PATH. */
  readonly command: readonly string[];
  /** The absolute executable the loader found for it. */
  readonly file: string;
  /** The socket clusterd's primary opens for the instances; host null: every address. */
  readonly listen: { readonly host: string | null; readonly port: number; readonly name: string } | null;
}

/**
 * The app's program, or null for a Node.js app. Written against the field the issue 29 spec names
 * (`ResolvedApp.program`), read through a cast so that this compiles before and after the loader adds it;
 * once it has, `app.program` is the same thing.
 */
export function programOf(app: ResolvedApp): ExportedProgram | null {
  return (app as ResolvedApp & { readonly program?: ExportedProgram | null }).program ?? null;
}

/** Whether a command's executable was named by a path (relative to cwd, or absolute), not found on PATH. */
export function namedByPath(program: ExportedProgram): boolean {
  return (program.command[0] ?? '').includes('/');
}

/** A listen host that only this machine (or this pod) can reach. */
export function isLoopback(host: string | null): boolean {
  if (host === null) return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '::1' ||
    /^(0{0,4}:){7}0{0,3}1$/.test(h) ||
    /^::ffff:127\./.test(h)
  );
}

/** `port 8000 (every address)` or `127.0.0.1:8000`, for messages. */
export function describeListen(listen: NonNullable<ExportedProgram['listen']>): string {
  if (listen.host === null) return `port ${listen.port} (every address)`;
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
