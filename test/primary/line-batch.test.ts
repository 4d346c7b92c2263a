// forwardLines works on bytes (line-batch.ts): whatever the chunks, its output must be byte for byte
// what the strings' way makes (a StringDecoder, lines split and tagged by lineFormat), and valid JSON.

import { PassThrough, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Timestamp, timestampFormatter } from '../../src/log/timestamp.js';
import { characterBoundary, LineBatch } from '../../src/primary/process/line-batch.js';
import { type FileOutput, forwardLines, lineFormat, MAX_LINE } from '../../src/primary/process/output.js';

type Format = 'json' | 'pretty';
const TAGS = { app: 'api', worker: 3, pid: 77 } as const;

/** The strings' way, as forwardLines was before it worked on bytes: the console's text and the file's. */
function reference(
  chunks: { bytes: Buffer; at: number }[],
  format: Format,
  timestamp: Timestamp | null,
  endAt: number,
): { console: string; file: string } {
  const t = { ...TAGS, stream: 'stdout' as const, format };
  const plain = lineFormat(t);
  const stamped = timestamp ? lineFormat(t, timestamp) : null;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let since = 0;
  let console = '';
  let file = '';
  const emit = (lines: string[], now: number, start: number) => {
    const bodies = plain.encode(lines);
    console += plain.join(bodies, now);
    file += stamped ? stamped.join(bodies, now, start) : plain.join(bodies, now);
  };
  for (const { bytes, at } of chunks) {
    // A line begins with its first byte, even the first of a character the decoder still holds.
    if (!pending && !(decoder as unknown as { lastNeed: number }).lastNeed) since = at;
    pending += decoder.write(bytes);
    const last = pending.lastIndexOf('\n');
    if (last === -1) continue;
    const lines = pending.slice(0, last).split('\n');
    pending = pending.slice(last + 1);
    emit(
      lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
      at,
      since,
    );
    since = at;
  }
  pending += decoder.end();
  if (pending) emit([pending], endAt, since);
  return { console, file };
}

async function forward(
  chunks: { bytes: Buffer; at: number }[],
  format: Format,
  timestamp: Timestamp | null,
  endAt: number,
): Promise<{ console: Buffer; file: Buffer; writes: Buffer[] }> {
  const input = new PassThrough();
  const collect = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(chunk);
        done();
      },
    });
  const console: Buffer[] = [];
  const file: Buffer[] = [];
  const output: FileOutput = { sink: collect(file), timestamp };
  forwardLines(input, { ...TAGS, stream: 'stdout', format, sink: collect(console), file: () => output });
  for (const { bytes, at } of chunks) {
    vi.setSystemTime(at);
    input.write(bytes);
    await new Promise((r) => setImmediate(r));
  }
  vi.setSystemTime(endAt);
  const ended = new Promise((r) => input.on('end', r));
  input.end();
  await ended;
  return { console: Buffer.concat(console), file: Buffer.concat(file), writes: console };
}

/** A small seeded generator (mulberry32), so a failure can be run again. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Plain text mostly, and everything that takes the slow way: escapes, CRs, multi-byte characters,
// invalid UTF-8 (a lone continuation byte, a truncated character, an encoded surrogate, 0xff).
const PIECES = [
  'plain text ',
  'x',
  ' ',
  '"',
  '\\',
  '\t',
  '\r',
  '\u0001',
  '\u007f',
  'é',
  '€',
  '😀',
  '\u2028',
  '\n',
  '\n',
  '\r\n',
].map((s) => Buffer.from(s));
const INVALID = [[0xff], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc3]].map((b) => Buffer.from(b));

function generate(next: () => number, invalid: boolean, sparse: boolean): Buffer {
  const parts: Buffer[] = [];
  // Long runs of plain bytes with one piece between, at every offset within a 4-byte word: JSON's
  // scan skips such words whole.
  if (sparse) {
    for (let i = 0; i < 40; i++) {
      parts.push(Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.slice(0, Math.floor(next() * 36))));
      parts.push(PIECES[Math.floor(next() * PIECES.length)] as Buffer);
    }
    return Buffer.concat(parts);
  }
  const count = 1 + Math.floor(next() * 300);
  for (let i = 0; i < count; i++) {
    if (invalid && next() < 0.05) parts.push(INVALID[Math.floor(next() * INVALID.length)] as Buffer);
    else parts.push(PIECES[Math.floor(next() * PIECES.length)] as Buffer);
  }
  return Buffer.concat(parts);
}

/** `bytes` cut at random places, inside characters too, each piece at its own time. */
function split(next: () => number, bytes: Buffer): { bytes: Buffer; at: number }[] {
  const chunks: { bytes: Buffer; at: number }[] = [];
  let at = 0;
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(next() * 80);
    chunks.push({ bytes: bytes.subarray(i, i + size), at: 1_000 + 1_000 * at++ });
    i += size;
  }
  return chunks;
}

describe('worker output as bytes', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes what the strings’ way writes, for any text in any chunks, to the console and a stamped file', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const stamp = timestampFormatter('[at] ss');
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const format: Format = seed % 2 ? 'json' : 'pretty';
      const chunks = split(next, generate(next, seed % 3 === 0, seed % 4 < 2));
      const timestamp = seed % 5 === 0 ? stamp : null;
      const want = reference(chunks, format, timestamp, 999_000);
      const got = await forward(chunks, format, timestamp, 999_000);
      expect({ seed, console: got.console.toString() }).toEqual({ seed, console: want.console });
      expect({ seed, file: got.file.toString() }).toEqual({ seed, file: want.file });
      // Byte for byte too: a toString of invalid UTF-8 would hide a difference.
      expect(got.console.equals(Buffer.from(want.console))).toBe(true);
      for (const write of got.writes) expect(write.at(-1)).toBe(0x0a);
      if (format === 'json')
        for (const line of got.console.toString().trimEnd().split('\n'))
          expect(JSON.parse(line)).toMatchObject({ app: 'api', worker: 3 });
    }
  });

  it('copies a line with nothing to escape as it came, and escapes the one that needs it', () => {
    const batch = new LineBatch('json');
    const chunk = Buffer.from('plain €\nsays "hi"\\\ttab\r\nbad \xff\n', 'latin1');
    // 'plain €' must be UTF-8: write it so.
    const bytes = Buffer.concat([Buffer.from('plain €\n'), chunk.subarray(chunk.indexOf(0x0a) + 1)]);
    batch.lines(null, bytes, bytes.length - 1);
    const out = batch
      .build(Buffer.from('{"msg":'), Buffer.from('{"msg":'), Buffer.from('}\n'))
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(out).toEqual(['plain €', 'says "hi"\\\ttab', 'bad \ufffd']);
  });

  it('takes the first line whole from the bytes before the chunk, a character split between them', () => {
    const batch = new LineBatch('pretty');
    const euro = Buffer.from('€');
    const chunk = Buffer.concat([euro.subarray(2), Buffer.from(' end\nnext\n')]);
    batch.lines(Buffer.concat([Buffer.from('a '), euro.subarray(0, 2)]), chunk, chunk.length - 1);
    expect(batch.count).toBe(2);
    expect([batch.text(0), batch.text(1)]).toEqual(['a € end', 'next']);
    expect(batch.build(Buffer.from('> '), Buffer.from('> '), Buffer.from('\n')).toString()).toBe(
      '> a € end\n> next\n',
    );
  });

  it('cuts a line without a newline at MAX_LINE bytes, never inside a character', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // Three-byte characters: MAX_LINE is not a multiple of 3, so a cut at a byte count would split one.
    const text = Buffer.from('€'.repeat(Math.ceil(MAX_LINE / 3) + 10));
    const { writes } = await forward(
      [
        { bytes: text.subarray(0, 40_000), at: 1_000 },
        // The cut comes in this chunk, 65,540 bytes in: two bytes into a character, which waits.
        { bytes: text.subarray(40_000, 65_540), at: 2_000 },
        { bytes: text.subarray(65_540), at: 2_500 },
      ],
      'pretty',
      null,
      3_000,
    );
    expect(writes).toHaveLength(2);
    const lines = writes.map((w) => w.toString().slice('api[3] '.length, -1));
    for (const line of lines) {
      expect(line).not.toContain('\ufffd');
      expect([...line].every((c) => c === '€')).toBe(true);
    }
    expect(lines.join('')).toBe(text.toString());
  });

  it('finds where a buffer can be cut without splitting a character', () => {
    const euro = Buffer.from('a€');
    expect(characterBoundary(euro)).toBe(4);
    expect(characterBoundary(euro.subarray(0, 3))).toBe(1);
    expect(characterBoundary(euro.subarray(0, 2))).toBe(1);
    expect(characterBoundary(Buffer.from('😀').subarray(0, 3))).toBe(0);
    expect(characterBoundary(Buffer.from('abc'))).toBe(3);
    expect(characterBoundary(Buffer.alloc(0))).toBe(0);
  });

  it('writes nothing for a chunk without a newline, and the line once it ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { writes } = await forward(
      [
        { bytes: Buffer.from('no newline yet'), at: 1_000 },
        { bytes: Buffer.from(', still none'), at: 2_000 },
      ],
      'json',
      null,
      3_000,
    );
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]?.toString() ?? '')).toMatchObject({
      msg: 'no newline yet, still none',
      time: 3_000,
    });
  });
});
