// Worker output is split into lines across chunk boundaries, tagged, and batched into atomic writes.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { crashLine, formatLine, forwardLines, MAX_LINE } from '../../src/primary/output.js';

function forward(format: 'json' | 'pretty', stream: 'stdout' | 'stderr' = 'stdout') {
  const input = new PassThrough();
  const writes: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  const { tail } = forwardLines(input, { app: 'api', worker: 2, pid: 42, stream, format, sink });
  const ended = new Promise((r) => input.on('end', r));
  const end = async () => {
    input.end();
    await ended;
  };
  return { input, writes, tail, end };
}

describe('worker output', () => {
  it('tags complete lines and joins lines split across chunks, including multi-byte characters', async () => {
    const f = forward('pretty');
    const euro = Buffer.from('€');
    f.input.write('first\nsec');
    f.input.write(Buffer.concat([Buffer.from('ond '), euro.subarray(0, 1)]));
    f.input.write(Buffer.concat([euro.subarray(1), Buffer.from('\r\nno newline at end')]));
    await f.end();
    expect(f.writes.join('')).toBe('api[2] first\napi[2] second €\napi[2] no newline at end\n');
  });

  it('writes pino-compatible JSON lines, stderr at error level', () => {
    const line = formatLine(
      { app: 'api', worker: 0, pid: 7, stream: 'stderr', format: 'json' },
      'bad "thing"',
      1000,
    );
    expect(JSON.parse(line)).toEqual({
      level: 50,
      time: 1000,
      app: 'api',
      worker: 0,
      pid: 7,
      stream: 'stderr',
      msg: 'bad "thing"',
    });
  });

  it('forwards a large burst completely, one write per chunk read', async () => {
    const f = forward('json');
    f.input.write(`${Array.from({ length: 2_000 }, (_, i) => `line ${i}`).join('\n')}\n`);
    await f.end();
    const lines = f.writes.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(2_000);
    expect(JSON.parse(lines[1_999] as string).msg).toBe('line 1999');
    expect(f.writes.length).toBeLessThan(10);
    for (const w of f.writes) expect(w.endsWith('\n')).toBe(true);
  });

  it('cuts a line that never ends instead of buffering it forever', async () => {
    const f = forward('pretty');
    f.input.write('x'.repeat(MAX_LINE + 10));
    await new Promise((r) => setImmediate(r));
    expect(f.writes).toHaveLength(1);
    await f.end();
  });

  it('stops reading while the sink asks to wait, and resumes on drain', async () => {
    const input = new PassThrough();
    const pending: (() => void)[] = [];
    let open = false;
    const sink = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, done) {
        if (open) done();
        else pending.push(done);
      },
    });
    forwardLines(input, { app: 'api', worker: 0, pid: 1, stream: 'stdout', format: 'pretty', sink });
    input.write(`${'y'.repeat(2_000)}\n`);
    await new Promise((r) => setImmediate(r));
    expect(input.isPaused()).toBe(true);
    const drained = new Promise((r) => sink.once('drain', r));
    open = true;
    for (const done of pending.splice(0)) done();
    await drained;
    await new Promise((r) => setImmediate(r));
    expect(input.isPaused()).toBe(false);
  });

  it('keeps the last stderr lines and finds the error that explains a crash', async () => {
    const f = forward('json', 'stderr');
    f.input.write(
      [
        '/srv/app/server.js:3',
        "  throw new Error('listen EADDRINUSE')",
        '  ^',
        '',
        'Error: listen EADDRINUSE: address already in use 127.0.0.1:3000',
        '    at Server.setupListenHandle [as _listen2] (node:net:1940:16)',
        '',
        'Node.js v24.0.0',
        '',
      ].join('\n'),
    );
    await f.end();
    expect(crashLine(f.tail())).toBe('Error: listen EADDRINUSE: address already in use 127.0.0.1:3000');
    expect(crashLine(['just a last line'])).toBe('just a last line');
    expect(crashLine([])).toBeUndefined();
  });
});
