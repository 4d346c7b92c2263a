// The root's relay writes whole lines only, so two sources sharing one output never split a line.
import { PassThrough, Writable } from 'node:stream';
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
});
