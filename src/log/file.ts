// Log files with size-based rotation (`logs.file` per app, and `start --detach`): FILE, FILE.1 ... FILE.N.
// A file that cannot be written (a full disk, a parent that is not a directory) must neither take its
// process down nor hold up the output it copies: its lines are dropped, the problem is reported once,
// the file is tried again every RETRY_MS, and its recovery is reported with the count of lines lost.
import { closeSync, createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../errors.js';
import { DEVICE_FLAGS, type LogOwner, openLogTarget } from './open.js';
import { RotatingFile } from './rotate.js';

/** A failed log file is opened again at most this often. */
export const RETRY_MS = 10_000;
/** Output waiting for a slow disk beyond this is dropped (and reported) rather than kept in memory. */
export const MAX_BUFFERED = 8 * 1024 * 1024;

export type LogFileReport =
  | { state: 'failing'; file: string; error: string; message: string }
  | { state: 'writing'; file: string; dropped: number };

export interface LogFileOptions {
  maxSize: number;
  maxFiles: number;
  /** The owner its files are given (FILE and the rotated ones); ours when not set. */
  owner?: LogOwner | undefined;
  /** Called once when the file starts failing (again once per new error code), and once it recovers. */
  report: (report: LogFileReport) => void;
  retryMs?: number;
}

function countLines(chunk: string | Buffer): number {
  let count = 0;
  for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) count += 1;
  return count || 1;
}

// The stream under a LogFile: rotated for a regular file, as it is for a device or a FIFO
// (/dev/stdout, /dev/full), which there is nothing to rotate in. Both are opened without following a
// symbolic link, in a directory only trusted users can write: see open.ts.
function openTarget(file: string, { maxSize, maxFiles, owner }: LogFileOptions): Writable {
  const target = openLogTarget(file, owner);
  // Numeric flags go to fs.open as they are (the types only say strings).
  if (target.kind === 'device') return createWriteStream(file, { flags: DEVICE_FLAGS as unknown as string });
  return new RotatingFile(file, { maxSize, maxFiles, owner }, target);
}

/** A log file that never errors, never throws and never applies backpressure: see the top of this file. */
export class LogFile extends Writable {
  private target: Writable | null = null;
  /** The error code while failing. */
  private fault: string | null = null;
  private retryAt = 0;
  private dropped = 0;

  constructor(
    readonly file: string,
    private readonly options: LogFileOptions,
  ) {
    super({ decodeStrings: false });
    this.open();
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.forward(chunk);
    done();
  }

  override _final(done: () => void): void {
    const target = this.target;
    this.target = null;
    if (!target) {
      done();
      return;
    }
    // Called once the file is flushed, or with the error that stopped it (already reported, if any).
    target.end(() => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.target?.destroy();
    this.target = null;
    done(error);
  }

  private forward(chunk: string | Buffer): void {
    if (!this.target && Date.now() >= this.retryAt) this.open();
    const target = this.target;
    if (!target) {
      this.dropped += countLines(chunk);
      return;
    }
    if (target.writableLength > MAX_BUFFERED) {
      this.dropped += countLines(chunk);
      if (!this.fault)
        this.failing('BACKLOG', `more than ${MAX_BUFFERED} bytes wait to be written (the disk is too slow)`);
      return;
    }
    target.write(chunk, (error) => {
      if (error) this.dropped += countLines(chunk);
      else if (this.fault && target === this.target && target.writableLength <= MAX_BUFFERED / 2)
        this.recovered();
    });
  }

  private open(): void {
    this.retryAt = Date.now() + (this.options.retryMs ?? RETRY_MS);
    let target: Writable;
    try {
      target = openTarget(this.file, this.options);
    } catch (error) {
      this.fail(error);
      return;
    }
    target.on('error', (error) => {
      if (target === this.target) this.fail(error);
    });
    this.target = target;
  }

  private fail(error: unknown): void {
    const target = this.target;
    this.target = null;
    target?.destroy();
    this.retryAt = Date.now() + (this.options.retryMs ?? RETRY_MS);
    const code = (error as NodeJS.ErrnoException)?.code ?? 'EIO';
    // The same problem found again by a retry is not news.
    if (this.fault !== code) this.failing(code, errorMessage(error));
  }

  private failing(code: string, message: string): void {
    this.fault = code;
    this.options.report({ state: 'failing', file: this.file, error: code, message });
  }

  private recovered(): void {
    const dropped = this.dropped;
    this.fault = null;
    this.dropped = 0;
    this.options.report({ state: 'writing', file: this.file, dropped });
  }
}

export function openLogFile(
  file: string,
  maxSize: number,
  maxFiles: number,
  report: LogFileOptions['report'],
  owner?: LogOwner,
): LogFile {
  return new LogFile(file, { maxSize, maxFiles, report, owner });
}

/** Throws a one-line error unless `file` can be opened for appending, as LogFile would open it. */
export function checkLogFile(file: string): void {
  try {
    const target = openLogTarget(file);
    if (target.kind === 'file') closeSync(target.fd);
  } catch (error) {
    throw new ClusterdError(
      ErrorCode.LOG_FILE,
      `cannot open log file ${file}: ${(error as Error).message}`,
      ExitCode.FAILURE,
      { cause: error },
    );
  }
}
