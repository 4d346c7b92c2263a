// The root's relay writes whole lines only, so two sources sharing one output never split a line.
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relayLines } from '../../src/log/relay.js';

function collector() {
  const writes: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { sink, writes };
}

describe('relayLines', () => {
  it('holds a partial line until its end arrives, even when another source writes meanwhile', async () => {
    const { sink, writes } = collector();
    const a = new PassThrough();
    const b = new PassThrough();
    relayLines(a, sink);
    relayLines(b, sink);
    a.write('app a: first line\napp a: sec');
    await new Promise((r) => setImmediate(r));
    b.write('app b: whole line\n');
    await new Promise((r) => setImmediate(r));
    a.write('ond line\n');
    await new Promise((r) => setImmediate(r));
    expect(writes.join('')).toBe('app a: first line\napp b: whole line\napp a: second line\n');
    for (const w of writes) expect(w.endsWith('\n')).toBe(true);
  });

  it('ends a last line that has no newline when the source ends', async () => {
    const { sink, writes } = collector();
    const a = new PassThrough();
    relayLines(a, sink);
    a.end('no newline');
    await new Promise((r) => a.on('end', r));
    expect(writes.join('')).toBe('no newline\n');
  });

  it('finishes a line begun in an earlier chunk and passes the lines after it on, all of them tapped', async () => {
    const { sink, writes } = collector();
    const tapped: string[] = [];
    const a = new PassThrough();
    const b = new PassThrough();
    relayLines(a, sink, (chunk) => tapped.push(chunk.toString()));
    relayLines(b, sink);
    a.write('one\ntw');
    await new Promise((r) => setImmediate(r));
    b.write('other app\n');
    await new Promise((r) => setImmediate(r));
    a.write('o\nthree\nfour\nfi');
    await new Promise((r) => setImmediate(r));
    a.write('ve\n');
    await new Promise((r) => setImmediate(r));
    expect(writes.join('')).toBe('one\nother app\ntwo\nthree\nfour\nfive\n');
    expect(tapped.join('')).toBe('one\ntwo\nthree\nfour\nfive\n');
    for (const w of [...writes, ...tapped]) expect(w.endsWith('\n')).toBe(true);
  });

  it('passes a chunk of whole lines on without copying it', async () => {
    const written: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk);
        done();
      },
    });
    const second = Buffer.from('c\nd\ne\n');
    const source = new Readable({ read() {} });
    relayLines(source, sink);
    source.push(Buffer.from('a\nb'));
    source.push(second);
    source.push(null);
    await new Promise((r) => source.on('end', r));
    expect(written.map((w) => w.toString())).toEqual(['a\n', 'bc\n', 'd\ne\n']);
    // After the line it finishes, the rest of the chunk is a view of the bytes the source read.
    expect(written[2]?.buffer).toBe(second.buffer);
  });
});
