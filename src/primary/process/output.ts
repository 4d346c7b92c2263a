// Workers' stdout/stderr to the operator, line by line, tagged with app and worker id, and to the app's
// log file. This is the one data path through clusterd for an app that logs, so it works per chunk, not
// per line, where it can: a chunk's lines share one time, and without `logs.timestamp` the file gets
// the very text the operator gets.
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Timestamp } from '../../log/timestamp.js';
import type { LogFormat } from '../../protocol.js';

/** A line longer than this is cut, so a worker that never writes a newline cannot grow our memory. */
export const MAX_LINE = 64 * 1024;
/** Lines of stderr kept per worker to explain a crash. */
const TAIL_LINES = 40;

/** Where forwarded lines go: a writable such as process.stdout, whose backpressure pauses the worker's stream. */
export interface Sink {
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** An app's log file for one stream (logs.file, or logs.errorFile for stderr). */
/** The app's log file of each stream, asked per chunk (primary/process/log-files.ts). */
export interface AppFiles {
  output(stream: 'stdout' | 'stderr'): FileOutput | null;
}

export interface FileOutput {
  /** Never applies backpressure (log/file.ts). */
  sink: Pick<Writable, 'write'>;
  timestamp: Timestamp | null;
}

export interface OutputTarget {
  app: string;
  worker: number;
  pid: number;
  stream: 'stdout' | 'stderr';
  format: LogFormat;
  sink: Sink;
  /** The log file the stream goes to besides `sink`, asked per chunk: a config reload can change it. */
  file?: () => FileOutput | null;
}

type Tags = Omit<OutputTarget, 'sink' | 'file'>;

/** How lines are written: each line's body made once, then put behind a head per line. */
export interface LineFormat {
  /** The bodies of `lines`, shared by every `join` of them (the console's and the file's). */
  encode(lines: string[]): string[];
  /** The text of the lines; the first began at `start` (maybe in an earlier chunk), the others at `time`. */
  join(bodies: string[], time: number, start?: number): string;
  /** The text of `lines` in one pass, with one time: when no other text is made of them. */
  text(lines: string[], time: number): string;
}

/**
 * Lines for the operator, and for log files: pino-compatible JSON, or `app[worker] line` on a
 * terminal. With a timestamp, a pretty line starts with it and a JSON line has it as `timestamp`.
 */
export function lineFormat(t: Tags, timestamp: Timestamp | null = null): LineFormat {
  const json = t.format === 'json';
  const tail = json ? '}\n' : '\n';
  const encode = json
    ? (lines: string[]) => lines.map((line) => JSON.stringify(line))
    : (lines: string[]) => lines;
  const level = t.stream === 'stderr' ? 50 : 30;
  const fields = json
    ? `"app":${JSON.stringify(t.app)},"worker":${t.worker},"pid":${t.pid},"stream":"${t.stream}","msg":`
    : `${t.app}[${t.worker}] `;
  const head = (time: number, at: number): string => {
    if (!json) return timestamp ? `${timestamp(at)} ${fields}` : fields;
    const stamp = timestamp ? `"timestamp":${JSON.stringify(timestamp(at))},` : '';
    return `{"level":${level},"time":${time},${stamp}${fields}`;
  };
  return {
    encode,
    text: json
      ? (lines, time) => {
          const each = head(time, time);
          return lines.map((line) => `${each}${JSON.stringify(line)}${tail}`).join('');
        }
      : (lines, time) => {
          const each = head(time, time);
          return lines.map((line) => `${each}${line}${tail}`).join('');
        },
    join: (bodies, time, start = time) => {
      const rest = head(time, time);
      const first = start === time ? rest : head(time, start);
      return bodies.map((body, i) => `${i === 0 ? first : rest}${body}${tail}`).join('');
    },
  };
}

/** One line, formatted as `lineFormat` does. */
export function formatLine(t: Tags, line: string, time: number, timestamp: Timestamp | null = null): string {
  const format = lineFormat(t, timestamp);
  return format.join(format.encode([line]), time);
}

/** Forwards a worker stream; returns the last stderr lines seen, for crash reasons. */
export function forwardLines(stream: Readable, target: OutputTarget): { tail: () => string[] } {
  const decoder = new StringDecoder('utf8');
  const tail: string[] = [];
  const format = lineFormat(target);
  // The file's format, made again when its timestamp setting changes.
  let stamped: { timestamp: Timestamp; format: LineFormat } | null = null;
  let pending = '';
  // When the line in `pending` began.
  let pendingSince = 0;
  const emit = (lines: string[], now: number, start: number) => {
    if (!lines.length) return;
    const file = target.file?.();
    let text: string;
    if (file?.timestamp) {
      if (stamped?.timestamp !== file.timestamp)
        stamped = { timestamp: file.timestamp, format: lineFormat(target, file.timestamp) };
      const bodies = format.encode(lines);
      text = format.join(bodies, now);
      file.sink.write(stamped.format.join(bodies, now, start));
    } else {
      // The common path: one pass, and the file (if any) gets the very text the console gets.
      text = format.text(lines, now);
      file?.sink.write(text);
    }
    // Backpressure: while the operator's side is slow, stop reading, so the worker's writes wait
    // instead of this process buffering without bound. A log file never holds it up.
    if (!target.sink.write(text) && !stream.isPaused()) {
      stream.pause();
      target.sink.once('drain', () => stream.resume());
    }
    if (target.stream === 'stderr') {
      tail.push(...lines.filter((l) => l.trim()).slice(-TAIL_LINES));
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    }
  };
  stream.on('data', (chunk: Buffer) => {
    const now = Date.now();
    if (!pending) pendingSince = now;
    pending += decoder.write(chunk);
    const last = pending.lastIndexOf('\n');
    if (last === -1) {
      if (pending.length > MAX_LINE) {
        emit([pending], now, pendingSince);
        pending = '';
      }
      return;
    }
    const lines = pending.slice(0, last).split('\n');
    pending = pending.slice(last + 1);
    emit(
      lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
      now,
      pendingSince,
    );
    pendingSince = now;
  });
  stream.on('end', () => {
    pending += decoder.end();
    if (pending) emit([pending], Date.now(), pendingSince);
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
