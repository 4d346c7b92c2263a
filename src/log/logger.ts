// The supervisor's log: pino, JSON lines by default (systemd, containers, files), pretty on a terminal.
import { type Logger, pino } from 'pino';
import type { LogFormat } from '../protocol.js';
import type { LogEvents } from './events.js';

export type { Logger };

/** The format to use when none is asked for: pretty on a terminal, JSON otherwise. */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

/** JSON lines on stderr, for what cannot go to the main log (a problem with the log file itself). */
export function stderrLogger(): Logger {
  return pino({ base: null }, process.stderr);
}

export async function createLogger(
  format: LogFormat,
  out: NodeJS.WritableStream = process.stdout,
  /** Hears every event as the JSON line pino makes of it, in either format (`clusterd events`). */
  events?: LogEvents,
): Promise<Logger> {
  // No base fields: events carry the pid of the process they are about, not the supervisor's.
  const options = { base: null, ...(events ? { hooks: { streamWrite: events.hook } } : {}) };
  // Through process.stdout, the one queue all of the root's output shares (see relay.ts).
  if (format === 'json')
    return pino(options, out as NodeJS.WritableStream & { write: (s: string) => boolean });
  // pino-pretty only loads for a terminal; it runs in this process (no worker thread).
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    destination: out,
    colorize: process.stdout.isTTY ?? false,
    translateTime: 'HH:MM:ss.l',
    // The message already says these; the rest (code, signal, delay, lastExits) follows it.
    ignore: 'pid,hostname,app,worker,from,to,address,primary,apps,config,environment,reason,exitCode',
    singleLine: true,
    messageFormat: (log: Record<string, unknown>, key: string) => {
      const worker = log.worker === undefined ? '' : `[${String(log.worker)}]`;
      return log.app === undefined ? String(log[key]) : `${String(log.app)}${worker} ${String(log[key])}`;
    },
  });
  return pino(options, stream);
}
