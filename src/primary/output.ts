// Workers' stdout/stderr to the operator, line by line, tagged with app and worker id. This is the one
// data path through clusterd for an app that logs, so it works per chunk, not per line, where it can.
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { LogFormat } from '../protocol.js';

/** A line longer than this is cut, so a worker that never writes a newline cannot grow our memory. */
export const MAX_LINE = 64 * 1024;
/** Lines of stderr kept per worker to explain a crash. */
const TAIL_LINES = 40;

/** Where forwarded lines go: a writable such as process.stdout, whose backpressure pauses the worker's stream. */
export type Sink = Pick<Writable, 'write' | 'once'>;

export interface OutputTarget {
  app: string;
  worker: number;
  pid: number;
  stream: 'stdout' | 'stderr';
  format: LogFormat;
  sink: Sink;
}

/** Formats lines for the operator: pino-compatible JSON, or `app[worker] line` on a terminal. */
export function lineFormatter(t: Omit<OutputTarget, 'sink'>): (lines: string[], time: number) => string[] {
  if (t.format === 'pretty') {
    const prefix = `${t.app}[${t.worker}] `;
    return (lines) => lines.map((line) => `${prefix}${line}\n`);
  }
  const level = t.stream === 'stderr' ? 50 : 30;
  const fields = `"app":${JSON.stringify(t.app)},"worker":${t.worker},"pid":${t.pid},"stream":"${t.stream}","msg":`;
  return (lines, time) => {
    const head = `{"level":${level},"time":${time},${fields}`;
    return lines.map((line) => `${head}${JSON.stringify(line)}}\n`);
  };
}

/** One line, formatted as `lineFormatter` does. */
export function formatLine(t: Omit<OutputTarget, 'sink'>, line: string, time: number): string {
  return lineFormatter(t)([line], time)[0] as string;
}

/** Forwards a worker stream; returns the last stderr lines seen, for crash reasons. */
export function forwardLines(stream: Readable, target: OutputTarget): { tail: () => string[] } {
  const decoder = new StringDecoder('utf8');
  const tail: string[] = [];
  const format = lineFormatter(target);
  let pending = '';
  const emit = (lines: string[]) => {
    if (!lines.length) return;
    const now = Date.now();
    // Backpressure: while the operator's side is slow, stop reading, so the worker's writes wait
    // instead of this process buffering without bound.
    if (!target.sink.write(format(lines, now).join('')) && !stream.isPaused()) {
      stream.pause();
      target.sink.once('drain', () => stream.resume());
    }
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

/** A sink that also copies everything to `copy` (an app's log file); backpressure follows `main` only. */
export function teeSink(main: Sink, copy: Writable): Sink {
  return {
    write: ((chunk: string) => {
      copy.write(chunk);
      return main.write(chunk);
    }) as Sink['write'],
    once: ((event: string, listener: () => void) => main.once(event, listener)) as Sink['once'],
  };
}
