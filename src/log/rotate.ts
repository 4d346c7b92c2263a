// A log file rotated by size: FILE, FILE.1 ... FILE.N, the oldest dropped. Every (re)open goes through
// openLogTarget (the path checked, O_NOFOLLOW, explicit modes), which rotating-file-stream could not do:
// it opens by path with flags "a" and no way to add O_NOFOLLOW. rename() never follows a symbolic link
// at either end, and the directory is one only trusted users can write (checked on every open).
import { closeSync, renameSync, write, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { type LogOwner, openLogTarget } from './open.js';

export interface RotationOptions {
  maxSize: number;
  maxFiles: number;
  owner?: LogOwner | undefined;
}

/** Renames FILE.(N-1) to FILE.N ... FILE to FILE.1; names that do not exist are skipped. */
export function shiftFiles(file: string, maxFiles: number): void {
  for (let index = maxFiles; index > 0; index -= 1) {
    try {
      renameSync(index === 1 ? file : `${file}.${index - 1}`, `${file}.${index}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Errors once opening, writing or rotating fails; the owner (LogFile) then opens a new one later. */
export class RotatingFile extends Writable {
  private fd: number | null;
  private size: number;
  private writing = false;
  private closeLater = false;

  /** Takes over `opened`, the fd (and size) of `file` as openLogTarget gave it. */
  constructor(
    readonly file: string,
    private readonly options: RotationOptions,
    opened: { fd: number; size: number },
  ) {
    super({ decodeStrings: true });
    this.fd = opened.fd;
    this.size = opened.size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.writeAll([chunk], done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    this.close();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.close();
    done(error);
  }

  // Never while a write is in flight: its fd number could be reused by another file before it runs.
  private close(): void {
    if (this.writing) {
      this.closeLater = true;
      return;
    }
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) closeSync(fd);
  }

  // Writes `chunks` in batches that stop where the file reaches maxSize, rotating between them: a file
  // grows past maxSize by at most one chunk, and a burst is still one writev per file.
  private writeAll(chunks: Buffer[], done: (error?: Error | null) => void): void {
    if (chunks.length === 0) {
      done();
      return;
    }
    try {
      if (this.size >= this.options.maxSize && this.size > 0) this.rotate();
    } catch (error) {
      done(error as Error);
      return;
    }
    const fd = this.fd;
    if (fd === null) {
      done(new Error(`${this.file} is closed`));
      return;
    }
    let count = 0;
    let total = 0;
    while (count < chunks.length && (count === 0 || this.size + total < this.options.maxSize))
      total += (chunks[count++] as Buffer).length;
    const batch = chunks.slice(0, count);
    const next = (error?: Error | null) => (error ? done(error) : this.writeAll(chunks.slice(count), done));
    this.writing = true;
    writev(fd, batch, (error, written) => {
      if (error) this.written(next, error);
      else if (written >= total) this.written(next, null, written);
      else this.writeRest(fd, Buffer.concat(batch).subarray(written), next, written);
    });
  }

  // After a short write (a full disk, a signal): the remainder, until written or failed.
  private writeRest(fd: number, rest: Buffer, done: (error?: Error | null) => void, so: number): void {
    write(fd, rest, 0, rest.length, null, (error, written) => {
      if (error) this.written(done, error, so);
      else if (written === 0)
        this.written(done, Object.assign(new Error(`EIO: short write to ${this.file}`), { code: 'EIO' }), so);
      else if (written < rest.length) this.writeRest(fd, rest.subarray(written), done, so + written);
      else this.written(done, null, so + written);
    });
  }

  private written(done: (error?: Error | null) => void, error: Error | null, bytes = 0): void {
    this.size += bytes;
    this.writing = false;
    if (this.closeLater) {
      this.closeLater = false;
      this.close();
    }
    done(error);
  }

  private rotate(): void {
    this.close();
    shiftFiles(this.file, this.options.maxFiles);
    const target = openLogTarget(this.file, this.options.owner);
    if (target.kind !== 'file')
      throw Object.assign(new Error(`${this.file} is no longer a regular file`), { code: 'ENOTFILE' });
    this.fd = target.fd;
    this.size = target.size;
  }
}
