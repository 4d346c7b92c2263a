// Workers' stdout/stderr to the operator, line by line, tagged with app and worker id. This is the one
// data path through clusterd for an app that logs, so it works per chunk, not per line, where it can.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { LogFormat } from '../protocol.js';

/** A line longer than this is cut, so a worker that never writes a newline cannot grow our memory. */
export const MAX_LINE = 64 * 1024;
/** Writes to a pipe up to PIPE_BUF bytes are atomic, so lines of different apps never interleave. */
const PIPE_BUF = 4096;
/** Lines of stderr kept per worker to explain a crash. */
const TAIL_LINES = 40;

export interface OutputTarget {
  app: string;
  worker: number;
  pid: number;
  stream: 'stdout' | 'stderr';
  format: LogFormat;
  write: (text: string) => void;
}

/** Formats one line for the operator: pino-compatible JSON, or `app[worker] line` on a terminal. */
export function formatLine(t: Omit<OutputTarget, 'write'>, line: string, time: number): string {
  if (t.format === 'pretty') return `${t.app}[${t.worker}] ${line}\n`;
  const level = t.stream === 'stderr' ? 50 : 30;
  return `{"level":${level},"time":${time},"app":${JSON.stringify(t.app)},"worker":${t.worker},"pid":${t.pid},"stream":"${t.stream}","msg":${JSON.stringify(line)}}\n`;
}

// Joins formatted lines into writes of at most PIPE_BUF bytes, each ending on a line boundary.
function writeBatched(lines: string[], write: (text: string) => void): void {
  let batch = '';
  for (const line of lines) {
    if (batch && batch.length + line.length > PIPE_BUF) {
      write(batch);
      batch = '';
    }
    batch += line;
  }
  if (batch) write(batch);
}

/** Forwards a worker stream; returns the last stderr lines seen, for crash reasons. */
export function forwardLines(stream: Readable, target: OutputTarget): { tail: () => string[] } {
  const decoder = new StringDecoder('utf8');
  const tail: string[] = [];
  let pending = '';
  const emit = (lines: string[]) => {
    if (!lines.length) return;
    const now = Date.now();
    writeBatched(
      lines.map((l) => formatLine(target, l, now)),
      target.write,
    );
    if (target.stream === 'stderr') {
      tail.push(...lines.filter((l) => l.trim()).slice(-TAIL_LINES));
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    }
  };
  stream.on('data', (chunk: Buffer) => {
    pending += decoder.write(chunk);
    const last = pending.lastIndexOf('\n');
    if (last === -1) {
      if (pending.length > MAX_LINE) {
        emit([pending]);
        pending = '';
      }
      return;
    }
    const lines = pending.slice(0, last).split('\n');
    pending = pending.slice(last + 1);
    emit(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
  });
  stream.on('end', () => {
    pending += decoder.end();
    if (pending) emit([pending]);
    pending = '';
  });
  return { tail: () => [...tail] };
}

/** The line of a worker's last stderr output that best explains a crash ("Error: listen EADDRINUSE ..."). */
export function crashLine(tail: string[]): string | undefined {
  const error = tail.find(
    (l) => /^\s*(\w*Error|\w*Exception)\b.*:/.test(l) || /^\s*(Uncaught|Error)\b/.test(l),
  );
  const line = error ?? tail.at(-1);
  return line?.trim().slice(0, 300);
}
