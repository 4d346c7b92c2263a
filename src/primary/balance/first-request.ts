// `stickyHeader`: the key of a connection is a header of its first request (the proxy's
// `X-Forwarded-For`), so the primary reads that request's head before it hands the connection over, and
// hands the bytes it read along with it (the worker puts them back in front of the socket's data).
// The head is read with bounds: at most MAX_HEAD_BYTES and HEAD_TIMEOUT_MS; a connection that is not
// HTTP/1 (TLS starts with a handshake record, not a request line) is decided at its first byte.
import type net from 'node:net';

export const MAX_HEAD_BYTES = 16 * 1024;
export const HEAD_TIMEOUT_MS = 2_000;

const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/\d\.\d$/;
// The first byte of an HTTP/1 request: a method's first character.
const METHOD_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * The sticky key in (the start of) a request head: the first comma-separated value of the first
 * `header` line (`header` in lower case), or null when there is none or the bytes are not HTTP/1.
 */
export function headerKey(head: Buffer, header: string): string | null {
  const end = head.indexOf('\r\n\r\n');
  const lines = head
    .subarray(0, end === -1 ? head.length : end)
    .toString('latin1')
    .split('\r\n');
  if (!REQUEST_LINE.test(lines[0] ?? '')) return null;
  // Without the head's end, the last line may be cut short: only complete lines count.
  const complete = end === -1 ? lines.slice(1, -1) : lines.slice(1);
  for (const line of complete) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.slice(0, colon).toLowerCase() !== header) continue;
    const value = line
      .slice(colon + 1)
      .split(',')[0]
      ?.trim();
    return value ? value : null;
  }
  return null;
}

/** Whether what was read so far decides the key: a whole head, too much, or not HTTP/1 at all. */
export function headDecided(read: Buffer): boolean {
  if (read.length === 0) return false;
  if (!METHOD_START.test(String.fromCharCode(read[0] ?? 0))) return true;
  return read.length >= MAX_HEAD_BYTES || read.indexOf('\r\n\r\n') !== -1;
}

/**
 * Reads `socket` until its first request head decides its key, then stops reading and calls `done`
 * with the key (null: key it by its address) and every byte read. A connection that closes or fails
 * first is destroyed, and `gone` is called instead.
 */
export function readFirstRequest(
  socket: net.Socket,
  header: string,
  done: (key: string | null, read: Buffer) => void,
  gone: () => void,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  const finish = () => {
    cleanup();
    // No byte may be read after this one: the worker reads the rest from the same descriptor.
    (socket as unknown as { _handle?: { readStop?(): unknown } })._handle?.readStop?.();
    socket.pause();
    const read = Buffer.concat(chunks, length);
    done(headerKey(read, header), read);
  };
  const fail = () => {
    cleanup();
    socket.destroy();
    gone();
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    if (headDecided(chunks.length === 1 ? chunk : Buffer.concat(chunks, length))) finish();
  };
  const timer = setTimeout(finish, HEAD_TIMEOUT_MS);
  const cleanup = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', fail);
    socket.off('error', fail);
    socket.off('close', fail);
  };
  socket.on('data', onData);
  // A client that half-closes before its head is complete is dropped: its end would stay in the primary.
  socket.once('end', fail);
  socket.once('error', fail);
  socket.once('close', fail);
}
