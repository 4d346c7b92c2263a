// Workers' stdout/stderr to the operator, line by line, tagged with app and worker id, and to the app's
// log file. This is the one data path through clusterd for an app that logs, so it works per chunk, not
// per line, where it can: a chunk's lines share one time, and without `logs.timestamp` the file gets
// the very text the operator gets.
import type { Readable, Writable } from 'node:stream';
import type { Timestamp } from '../../log/timestamp.js';
import type { LogFormat } from '../../protocol.js';
import { characterBoundary, LineBatch, NEWLINE } from './line-batch.js';

/** A line longer than this (in bytes) is cut, so a worker that never writes a newline cannot grow our memory. */
export const MAX_LINE = 64 * 1024;
/** Lines of stderr kept per worker to explain a crash. */
const TAIL_LINES = 40;

/** Where forwarded lines go: a writable such as process.stdout, whose backpressure pauses the worker's stream. */
export interface Sink {
  /** Whole tagged lines: a chunk's as one buffer (line-batch.ts), always valid UTF-8. */
  write(text: string | Buffer): boolean;
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

/** The parts of a line around its body: the head (for a time, and the time the line began) and the tail. */
function lineParts(
  t: Tags,
  timestamp: Timestamp | null,
): { head: (time: number, at: number) => string; tail: string } {
  const json = t.format === 'json';
  const level = t.stream === 'stderr' ? 50 : 30;
  const fields = json
    ? `"app":${JSON.stringify(t.app)},"worker":${t.worker},"pid":${t.pid},"stream":"${t.stream}","msg":`
    : `${t.app}[${t.worker}] `;
  return {
    tail: json ? '}\n' : '\n',
    head: (time, at) => {
      if (!json) return timestamp ? `${timestamp(at)} ${fields}` : fields;
      const stamp = timestamp ? `"timestamp":${JSON.stringify(timestamp(at))},` : '';
      return `{"level":${level},"time":${time},${stamp}${fields}`;
    },
  };
}

/**
 * Lines for the operator, and for log files: pino-compatible JSON, or `app[worker] line` on a
 * terminal. With a timestamp, a pretty line starts with it and a JSON line has it as `timestamp`.
 * The strings' way, line by line: the reference for forwardLines's bytes (line-batch.ts).
 */
export function lineFormat(t: Tags, timestamp: Timestamp | null = null): LineFormat {
  const json = t.format === 'json';
  const { head, tail } = lineParts(t, timestamp);
  const encode = json
    ? (lines: string[]) => lines.map((line) => JSON.stringify(line))
    : (lines: string[]) => lines;
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

/** The heads and tail of a format as bytes; a chunk's lines share a time, so the last heads are kept. */
function byteParts(t: Tags, timestamp: Timestamp | null) {
  const parts = lineParts(t, timestamp);
  let key = Number.NaN;
  let keyAt = Number.NaN;
  let last = Buffer.alloc(0);
  return {
    tail: Buffer.from(parts.tail),
    head(time: number, at: number): Buffer {
      if (time !== key || at !== keyAt) {
        key = time;
        keyAt = at;
        last = Buffer.from(parts.head(time, at));
      }
      return last;
    },
  };
}

/**
 * Forwards a worker stream; returns the last stderr lines seen, for crash reasons. It works on bytes,
 * a write per chunk read: the lines of a chunk are found, tagged and put in one buffer (line-batch.ts),
 * which the operator's side and the log file both get when their text is the same.
 */
export function forwardLines(stream: Readable, target: OutputTarget): { tail: () => string[] } {
  const tail: string[] = [];
  const batch = new LineBatch(target.format);
  const own = byteParts(target, null);
  // The file's heads, made again when its timestamp setting changes.
  let stamped: { timestamp: Timestamp; parts: ReturnType<typeof byteParts> } | null = null;
  // The unfinished last line, as bytes, and when it began.
  let pending: Buffer | null = null;
  let pendingSince = 0;
  const emit = (now: number, start: number) => {
    if (!batch.count) return;
    const file = target.file?.();
    const head = own.head(now, now);
    const text = batch.build(head, head, own.tail);
    if (file?.timestamp) {
      if (stamped?.timestamp !== file.timestamp)
        stamped = { timestamp: file.timestamp, parts: byteParts(target, file.timestamp) };
      const { parts } = stamped;
      file.sink.write(batch.build(parts.head(now, start), parts.head(now, now), parts.tail));
    } else {
      // The common path: the file (if any) gets the very bytes the console gets.
      file?.sink.write(text);
    }
    // Backpressure: while the operator's side is slow, stop reading, so the worker's writes wait
    // instead of this process buffering without bound. A log file never holds it up.
    if (!target.sink.write(text) && !stream.isPaused()) {
      stream.pause();
      target.sink.once('drain', () => stream.resume());
    }
    if (target.stream === 'stderr') {
      // The last lines that are not blank, decoded: only they are ever strings.
      const last: string[] = [];
      for (let i = batch.count - 1; i >= 0 && last.length < TAIL_LINES; i--) {
        const line = batch.text(i);
        if (line.trim()) last.push(line);
      }
      tail.push(...last.reverse());
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    }
  };
  stream.on('data', (data: Buffer | string) => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const now = Date.now();
    if (!pending) pendingSince = now;
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      if (pending.length > MAX_LINE) {
        // Cut, but not inside a character: its first bytes wait for the rest.
        const cut = characterBoundary(pending);
        batch.line(pending.subarray(0, cut));
        emit(now, pendingSince);
        pending = cut < pending.length ? Buffer.from(pending.subarray(cut)) : null;
        pendingSince = now;
      }
      return;
    }
    batch.lines(pending, chunk, last);
    emit(now, pendingSince);
    pending = last + 1 < chunk.length ? chunk.subarray(last + 1) : null;
    pendingSince = now;
  });
  stream.on('end', () => {
    if (pending) {
      batch.line(pending);
      emit(Date.now(), pendingSince);
    }
    pending = null;
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
