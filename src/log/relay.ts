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
    const data = pending ? Buffer.concat([pending, chunk]) : chunk;
    const end = data.lastIndexOf(NEWLINE);
    if (end === -1 && data.length < MAX_PENDING) {
      pending = data;
      return;
    }
    const cut = end === -1 ? data.length : end + 1;
    pending = cut < data.length ? data.subarray(cut) : null;
    write(data.subarray(0, cut));
  });
  source.on('end', () => {
    if (pending) write(Buffer.concat([pending, Buffer.from('\n')]));
    pending = null;
  });
}
