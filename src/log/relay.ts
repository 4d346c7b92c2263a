// The root is the only process that writes to the operator's stdout/stderr. Each primary's output
// arrives on its own pipe and is copied through here whole lines at a time, so lines from different
// apps (and the root's own events) never interleave mid-line, whatever the pipe sizes.
import type { Readable, Writable } from 'node:stream';

const NEWLINE = 0x0a;
/** A primary that writes this much without a newline gets it flushed anyway. */
const MAX_PENDING = 1024 * 1024;

/**
 * Copies `source` to `target` in whole lines, pausing `source` while `target` is backed up. `tap` sees
 * every chunk written (whole lines), for `clusterd logs`.
 */
export function relayLines(source: Readable, target: Writable, tap?: (chunk: Buffer) => void): void {
  let pending: Buffer | null = null;
  const write = (chunk: Buffer) => {
    tap?.(chunk);
    // Nobody reads our output any more (a closed pipe): drop it rather than stall the apps behind it.
    if (target.destroyed) return;
    if (!target.write(chunk) && !source.isPaused()) {
      source.pause();
      const resume = () => {
        target.off('drain', resume);
        target.off('close', resume);
        source.resume();
      };
      target.once('drain', resume);
      target.once('close', resume);
    }
  };
  source.on('data', (chunk: Buffer) => {
    const end = chunk.lastIndexOf(NEWLINE);
    if (end === -1) {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      if (pending.length >= MAX_PENDING) {
        write(pending);
        pending = null;
      }
      return;
    }
    // The chunk is not copied: the line begun in earlier chunks is finished with the bytes up to the
    // chunk's first newline, and the whole lines after it are written as they are, in the same turn
    // (nothing else can write in between), corked into one writev.
    const whole = chunk.subarray(0, end + 1);
    if (pending) {
      const first = chunk.indexOf(NEWLINE) + 1;
      target.cork();
      write(Buffer.concat([pending, chunk.subarray(0, first)]));
      if (first < whole.length) write(whole.subarray(first));
      target.uncork();
    } else write(whole);
    pending = end + 1 < chunk.length ? chunk.subarray(end + 1) : null;
  });
  source.on('end', () => {
    if (pending) write(Buffer.concat([pending, Buffer.from('\n')]));
    pending = null;
  });
}
