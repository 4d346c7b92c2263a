// Worker output is split into lines across chunk boundaries, tagged, and batched into atomic writes.
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { timestampFormatter } from '../../src/log/timestamp.js';
import {
  crashLine,
  type FileOutput,
  formatLine,
  forwardLines,
  lineFormat,
  MAX_LINE,
} from '../../src/primary/process/output.js';

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

  it('writes a JSON line stamped with a timestamp field when the file asks for one', () => {
    const stamp = timestampFormatter(true);
    const t = { app: 'api', worker: 0, pid: 7, stream: 'stdout', format: 'json' } as const;
    expect(JSON.parse(formatLine(t, 'hi', 1000, stamp))).toEqual({
      level: 30,
      time: 1000,
      timestamp: '1970-01-01T00:00:01.000Z',
      app: 'api',
      worker: 0,
      pid: 7,
      stream: 'stdout',
      msg: 'hi',
    });
    expect(formatLine({ ...t, format: 'pretty' }, 'hi', 1000, stamp)).toBe(
      '1970-01-01T00:00:01.000Z api[0] hi\n',
    );
  });

  it('makes the same text in one pass as from the bodies it shares with a stamped file', () => {
    const lines = ['plain', 'quote " and \\ backslash', '€ and \u0001', ''];
    for (const format of ['json', 'pretty'] as const) {
      const f = lineFormat({ app: 'a"b', worker: 3, pid: 5, stream: 'stdout', format });
      expect(f.text(lines, 1234)).toBe(f.join(f.encode(lines), 1234));
    }
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

// The log file side: the same text as the console without a timestamp, the stamped text with one, each
// line stamped with the time it began, and the file asked for each chunk.
describe('worker output to a log file', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function withFile(format: 'json' | 'pretty', timestamp: string | boolean) {
    const input = new PassThrough();
    const console: string[] = [];
    const written: string[] = [];
    const collect = (into: string[]) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          into.push(chunk.toString());
          done();
        },
      });
    let file: FileOutput | null = { sink: collect(written), timestamp: timestampFormatter(timestamp) };
    forwardLines(input, {
      app: 'api',
      worker: 1,
      pid: 9,
      stream: 'stderr',
      format,
      sink: collect(console),
      file: () => file,
    });
    const chunk = async (text: string, at: number) => {
      vi.setSystemTime(at);
      input.write(text);
      await new Promise((r) => setImmediate(r));
    };
    return { input, console, written, chunk, setFile: (next: FileOutput | null) => (file = next) };
  }

  it('writes the console text itself to the file when there is no timestamp', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const f = withFile('json', false);
    await f.chunk('one\ntwo\n', 5_000);
    expect(f.written).toEqual(f.console);
    expect(JSON.parse(f.written.join('').split('\n')[0] as string)).not.toHaveProperty('timestamp');
  });

  it('stamps each line with the time it began, a line split across chunks with its first chunk', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const f = withFile('pretty', 'HH:mm:ss.SSS');
    const at = (s: number) => new Date(2025, 0, 1, 10, 0, s).getTime();
    await f.chunk('par', at(1));
    expect(f.written).toEqual([]);
    await f.chunk('tial\nnext\nstar', at(2));
    await f.chunk('ted here\n', at(3));
    expect(f.written.join('')).toBe(
      '10:00:01.000 api[1] partial\n10:00:02.000 api[1] next\n10:00:02.000 api[1] started here\n',
    );
    // The console is not stamped.
    expect(f.console.join('')).toBe('api[1] partial\napi[1] next\napi[1] started here\n');
  });

  it('stamps JSON lines with a timestamp field beside their time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const f = withFile('json', true);
    await f.chunk('a', 1_000);
    await f.chunk('b\nc\n', 2_000);
    const lines = f.written
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.msg, l.time, l.timestamp, l.level])).toEqual([
      ['ab', 2_000, '1970-01-01T00:00:01.000Z', 50],
      ['c', 2_000, '1970-01-01T00:00:02.000Z', 50],
    ]);
  });

  it('stamps a line cut at MAX_LINE, and the last line at the end, with the time they began', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const f = withFile('pretty', 'ss');
    await f.chunk('x'.repeat(MAX_LINE - 5), 1_000);
    await f.chunk('y'.repeat(10), 7_000);
    await f.chunk('tail', 9_000);
    vi.setSystemTime(11_000);
    const ended = new Promise((r) => f.input.on('end', r));
    f.input.end();
    await ended;
    expect(f.written.map((w) => w.slice(0, 10))).toEqual(['01 api[1] ', '09 api[1] ']);
  });

  it('asks for the file at each chunk: a reload that changes it takes effect at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const f = withFile('pretty', false);
    await f.chunk('before\n', 1_000);
    const other: string[] = [];
    f.setFile({
      sink: new Writable({
        write(chunk: Buffer, _encoding, done) {
          other.push(chunk.toString());
          done();
        },
      }),
      timestamp: timestampFormatter('[at] s'),
    });
    await f.chunk('after\n', 2_000);
    f.setFile(null);
    await f.chunk('none\n', 3_000);
    expect([f.written.join(''), other.join('')]).toEqual(['api[1] before\n', 'at 2 api[1] after\n']);
    expect(f.console).toHaveLength(3);
  });
});
