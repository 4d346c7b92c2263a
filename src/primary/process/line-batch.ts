// A chunk of a worker's output as lines of bytes, and the bytes the operator (and a log file) get of
// them, built in one allocation per write. This is the hot path of an app that logs: the bytes are
// never decoded to strings and encoded back, except for the few lines that need it.
//
// A line goes through as it came (between the head and the tail of its format) when it is valid UTF-8
// and, in JSON, has nothing JSON.stringify would escape (a control character, `"` or `\`). Such a line
// is its own JSON string body: JSON.stringify leaves every other character as it is. Any other line
// takes the slow way, per line:
// - valid UTF-8 that needs escaping (or ends with a CR, which is dropped): JSON.stringify of the line
//   read as latin1, one char per byte, written back as latin1. JSON.stringify escapes only ASCII
//   (below 0x20, `"`, `\`), and every byte of a multi-byte UTF-8 character is 0x80 or above, so this
//   is byte for byte JSON.stringify of the decoded line, encoded as UTF-8;
// - invalid UTF-8: decoded (each bad sequence becomes U+FFFD, as a StringDecoder makes it), then
//   stringified and encoded, so what comes out is always valid UTF-8 and valid JSON.
// lineFormat (output.ts) is the reference these bytes must equal: test/primary/line-batch.test.ts.
import { isUtf8 } from 'node:buffer';

export const NEWLINE = 0x0a;
const CR = 0x0d;

/** What the scan sees in a byte: 0 nothing, 1 the end of a line, 2 a byte that sends its line the slow way. */
function table(escapes: boolean): Uint8Array {
  const classes = new Uint8Array(256);
  if (escapes) {
    for (let b = 0; b < 0x20; b++) classes[b] = 2;
    classes[0x22] = 2;
    classes[0x5c] = 2;
  }
  classes[CR] = 2;
  classes[NEWLINE] = 1;
  return classes;
}
const JSON_CLASSES = table(true);
const PRETTY_CLASSES = table(false);

const EMPTY = Buffer.alloc(0);
const NO_WORDS = new Int32Array(0);

/**
 * The lines of one write: the complete lines of a chunk (the first maybe begun in earlier chunks), or
 * one line alone (cut at MAX_LINE, or the last one when the stream ends). Reused from chunk to chunk.
 * The lines of the chunk are kept as the positions of their newlines, and the few that do not go as
 * they came (escaped, decoded, or a CR dropped) as their bodies, made once for every build.
 */
export class LineBatch {
  private readonly json: boolean;
  private readonly classes: Uint8Array;
  /** The line begun in earlier chunks, whole, or the one line of `line()`: the batch's line 0. */
  private first: Buffer | null = null;
  /** The chunk, and the index of the newline ending each of its lines (after `first`, if any). */
  private chunk: Buffer = EMPTY;
  private from = 0;
  private ends: Int32Array = new Int32Array(1024);
  count = 0;
  /** The lines (by index, ascending) that do not go as they came, and their bodies. */
  private slow: number[] = [];
  private bodies: Buffer[] = [];
  /** The bytes of all the bodies (in JSON with the quotes of those that go as they came). */
  private bytes = 0;

  constructor(format: 'json' | 'pretty') {
    this.json = format === 'json';
    this.classes = this.json ? JSON_CLASSES : PRETTY_CLASSES;
  }

  /**
   * The complete lines of `chunk[0, last]` (`last`: the index of its last newline), the first of them
   * after `prefix` (the unfinished line of earlier chunks). A CR before a newline is dropped.
   */
  lines(prefix: Buffer | null, chunk: Buffer, last: number): void {
    this.reset(chunk);
    let from = 0;
    if (prefix) {
      // The first line, whole, in a buffer of its own: a character may be split across the two.
      const end = chunk.indexOf(NEWLINE);
      this.only(Buffer.concat([prefix, chunk.subarray(0, end)]), true);
      from = end + 1;
    }
    this.from = from;
    const lines = this.json ? this.scan(chunk, from, last) : this.find(chunk, from, last);
    // Checked for the whole chunk at once (fast, SIMD); only a chunk with invalid UTF-8 is checked line
    // by line, so that one bad byte only sends its own line the slow way.
    const invalid = from < last && !isUtf8(chunk.subarray(from, last));
    const base = prefix ? 1 : 0;
    const count = this.count - base;
    const startOf = (i: number) => (i === 0 ? from : (this.ends[i - 1] as number) + 1);
    if (!invalid) {
      for (const i of lines) this.body(base + i, chunk, startOf(i), this.ends[i] as number, false, true);
    } else {
      let next = 0;
      for (let i = 0; i < count; i++) {
        const start = startOf(i);
        const end = this.ends[i] as number;
        const flagged = next < lines.length && lines[next] === i;
        if (flagged) next++;
        const bad = !isUtf8(chunk.subarray(start, end));
        if (bad || flagged) this.body(base + i, chunk, start, end, bad, true);
      }
    }
    this.bytes += last + 1 - from - count;
  }

  /** One line without its newline: cut at MAX_LINE, or the last at the end of the stream. */
  line(bytes: Buffer): void {
    this.reset(EMPTY);
    this.only(bytes, false);
  }

  /**
   * The bytes of the lines, each between a head and `tail`: `first` the first line's head, `rest` the
   * others'. One allocation: the operator's and a log file's copies are built apart only when their
   * heads differ (a timestamp).
   */
  build(first: Buffer, rest: Buffer, tail: Buffer): Buffer {
    const n = this.count;
    const out = Buffer.allocUnsafe(first.length + (n - 1) * rest.length + n * tail.length + this.bytes);
    const json = this.json;
    const chunk = this.chunk;
    const ends = this.ends;
    const slow = this.slow;
    let at = 0;
    let i = 0;
    let start = this.from;
    let next = slow.length ? (slow[0] as number) : -1;
    let s = 0;
    const short = tail.length === 1 || tail.length === 2;
    const t0 = tail[0] as number;
    const t1 = tail.length === 2 ? (tail[1] as number) : -1;
    if (this.first) {
      out.set(first, at);
      at += first.length;
      if (next === 0) {
        const body = this.bodies[s++] as Buffer;
        out.set(body, at);
        at += body.length;
        next = s < slow.length ? (slow[s] as number) : -1;
      } else {
        if (json) out[at++] = 0x22;
        out.set(this.first, at);
        at += this.first.length;
        if (json) out[at++] = 0x22;
      }
      out.set(tail, at);
      at += tail.length;
      i = 1;
      first = rest;
    }
    for (let k = 0; i < n; i++, k++) {
      const end = ends[k] as number;
      const head = i === 0 ? first : rest;
      out.set(head, at);
      at += head.length;
      if (i === next) {
        const body = this.bodies[s++] as Buffer;
        out.set(body, at);
        at += body.length;
        next = s < slow.length ? (slow[s] as number) : -1;
      } else if (json) {
        out[at++] = 0x22;
        at += chunk.copy(out, at, start, end);
        out[at++] = 0x22;
      } else at += chunk.copy(out, at, start, end);
      // The tails are a byte or two ("\n", "}\n"): stored, not copied.
      if (short) {
        out[at++] = t0;
        if (t1 !== -1) out[at++] = t1;
      } else {
        out.set(tail, at);
        at += tail.length;
      }
      start = end + 1;
    }
    return out;
  }

  /** The text of line `i`, decoded (for the crash tail). */
  text(i: number): string {
    const first = this.first;
    if (first) {
      if (i === 0) return first.toString('utf8');
      i -= 1;
    }
    const start = i === 0 ? this.from : (this.ends[i - 1] as number) + 1;
    let end = this.ends[i] as number;
    if (end > start && this.chunk[end - 1] === CR) end -= 1;
    return this.chunk.toString('utf8', start, end);
  }

  private reset(chunk: Buffer): void {
    this.first = null;
    this.chunk = chunk;
    this.from = 0;
    this.count = 0;
    this.bytes = 0;
    if (this.slow.length) {
      this.slow.length = 0;
      this.bodies.length = 0;
    }
  }

  /** Line 0 from a buffer of its own (`first`), scanned here. */
  private only(bytes: Buffer, dropCr: boolean): void {
    const end =
      dropCr && bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    this.first = bytes.subarray(0, end);
    this.count = 1;
    const classes = this.classes;
    let flagged = false;
    for (let i = 0; i < end && !flagged; i++) flagged = classes[bytes[i] as number] === 2;
    const invalid = !isUtf8(this.first);
    if (invalid || flagged) this.body(0, bytes, 0, end, invalid, false);
    else this.bytes += end + (this.json ? 2 : 0);
  }

  /**
   * JSON: finds the lines of `chunk[from, last]`, their newlines in `ends` (after the lines already
   * there), and returns those (by index in this chunk) with a byte JSON escapes or a CR.
   */
  private scan(chunk: Buffer, from: number, last: number): number[] {
    const classes = this.classes;
    let ends = this.ends;
    let n = 0;
    let flagged = false;
    const lines: number[] = [];
    // Four bytes at a time where they are aligned: a word without a byte below 0x20 (newlines
    // included), a `"` or a `\` is skipped whole (the usual bit tricks: a byte below n, a zero byte
    // after an XOR); a word with one is gone through byte by byte.
    const stop = last + 1;
    const offset = chunk.byteOffset;
    const aligned = from + ((4 - ((offset + from) & 3)) & 3);
    const count = aligned < stop ? (stop - aligned) >> 2 : 0;
    const words = count ? new Int32Array(chunk.buffer, offset + aligned, count) : NO_WORDS;
    const wordsEnd = aligned + words.length * 4;
    for (let i = from; i < stop; ) {
      if (i >= aligned && i < wordsEnd && ((i - aligned) & 3) === 0) {
        const x = words[(i - aligned) >> 2] as number;
        const q = x ^ 0x22222222;
        const b = x ^ 0x5c5c5c5c;
        if (
          ((((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080) ===
          0
        ) {
          i += 4;
          continue;
        }
      }
      const c = classes[chunk[i] as number];
      if (c === 1) {
        if (flagged) {
          lines.push(n);
          flagged = false;
        }
        if (n === ends.length) ends = this.grow();
        ends[n++] = i;
      } else if (c === 2) flagged = true;
      i += 1;
    }
    this.count += n;
    // Two quotes per line; those of a flagged line are taken back with its span by body().
    this.bytes += 2 * n;
    return lines;
  }

  /** Pretty: the same, with nothing to escape: only a CR before a newline is flagged (and dropped). */
  private find(chunk: Buffer, from: number, last: number): number[] {
    let ends = this.ends;
    let n = 0;
    const lines: number[] = [];
    for (let i = chunk.indexOf(NEWLINE, from); i !== -1 && i <= last; i = chunk.indexOf(NEWLINE, i + 1)) {
      if (chunk[i - 1] === CR) lines.push(n);
      if (n === ends.length) ends = this.grow();
      ends[n++] = i;
    }
    this.count += n;
    return lines;
  }

  private grow(): Int32Array {
    const ends = new Int32Array(this.ends.length * 2);
    ends.set(this.ends);
    this.ends = ends;
    return ends;
  }

  /**
   * Makes the body of line `index` (`source[start, end)`, in the chunk unless `own`), which does not go
   * as it came: decoded from UTF-8 (`decode`) or read as latin1, then JSON-escaped, a CR before its
   * end dropped.
   */
  private body(
    index: number,
    source: Buffer,
    start: number,
    end: number,
    decode: boolean,
    own: boolean,
  ): void {
    // What the chunk's count took for this line: its span, and in JSON its quotes.
    if (own) this.bytes -= end - start + (this.json ? 2 : 0);
    let stop = end;
    if (own && stop > start && source[stop - 1] === CR) stop -= 1;
    let body: Buffer;
    if (decode) {
      const text = source.toString('utf8', start, stop);
      body = Buffer.from(this.json ? JSON.stringify(text) : text, 'utf8');
    } else if (this.json)
      body = Buffer.from(JSON.stringify(source.toString('latin1', start, stop)), 'latin1');
    else body = source.subarray(start, stop);
    this.slow.push(index);
    this.bodies.push(body);
    this.bytes += body.length;
  }
}

/** Where `bytes` can be cut without splitting a UTF-8 character: before an unfinished one at its end. */
export function characterBoundary(bytes: Buffer): number {
  const end = bytes.length;
  // The last lead byte within the last 4 bytes, and whether its character is complete.
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = bytes[i] as number;
    if (b < 0x80) return end;
    if (b >= 0xc0) {
      const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return end - i < size ? i : end;
    }
  }
  return end;
}
