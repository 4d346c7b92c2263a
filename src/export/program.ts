// What the exporters say of an app that is a program (`command`, not a Node.js `script`; its resolved
// `program` in config/resolved.ts, docs/programs.md): how its executable was named, and its listen.
import type { ResolvedProgram } from '../config/resolved.js';

/** Whether a command's executable was named by a path (relative to cwd, or absolute), not found on PATH. */
export function namedByPath(program: ResolvedProgram): boolean {
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
export function describeListen(listen: NonNullable<ResolvedProgram['listen']>): string {
  if (listen.host === null) return `port ${listen.port} (every address)`;
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
