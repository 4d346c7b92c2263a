// An app's log files against real processes: stdout to logs.file and stderr to logs.errorFile, each
// line with logs.timestamp in its format; both streams to one file without errorFile; errorFile opened
// as safely as file; and a config reload that changes the files, rotation or timestamp applied to the
// running app (it used to keep the files it started with).
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/files.js';
import { get } from '../helpers/http.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

const twoStreams = (extra: Record<string, unknown> = {}) =>
  fixtureApp('two', 'two-streams.cjs', { instances: 1, restart: { policy: 'never' }, ...extra });

// A log file's lines, oldest first: FILE.N ... FILE.1, then FILE.
function fileLines(file: string): string[] {
  const dir = join(file, '..');
  const base = file.slice(dir.length + 1);
  const rotated = readdirSync(dir)
    .filter((name) => name.startsWith(`${base}.`))
    .map((name) => Number(name.slice(base.length + 1)))
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
  return [...rotated, file].flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
}

const parsed = (file: string) => fileLines(file).map((line) => JSON.parse(line) as Record<string, unknown>);

async function stop(root: Root): Promise<void> {
  root.signal('SIGTERM');
  expect((await root.waitForExit()).code).toBe(0);
}

describe('logs.file, logs.errorFile and logs.timestamp', () => {
  it('writes stdout to file and stderr to errorFile, each line stamped in the configured format', async () => {
    const before = Date.now();
    const root = startRoot({
      apps: [
        twoStreams({
          logs: {
            file: 'logs/out.log',
            errorFile: 'logs/err.log',
            timestamp: 'YYYY-MM-DDTHH:mm:ss.SSSZ',
            maxSize: 1000,
          },
        }),
      ],
    });
    const address = await root.address('two');
    // Two bursts, the second once the first was relayed (so written apart, and rotated between).
    await get(address, '/write?n=20&tag=a');
    await root.waitForCount((e) => e.app === 'two' && / 19$/.test(e.msg), 2, 'the first burst relayed');
    await get(address, '/write?n=20&tag=b');
    await stop(root);
    const after = Date.now();
    const out = parsed(join(root.dir, 'logs/out.log'));
    const err = parsed(join(root.dir, 'logs/err.log'));
    const numbered = (what: string) =>
      ['a', 'b'].flatMap((tag) => Array.from({ length: 20 }, (_, i) => `${tag} ${what} ${i}`));
    expect(out.map((l) => l.msg)).toEqual(numbered('out'));
    expect(err.map((l) => l.msg)).toEqual(numbered('err'));
    expect(new Set(out.map((l) => [l.stream, l.level].join()))).toEqual(new Set(['stdout,30']));
    expect(new Set(err.map((l) => [l.stream, l.level].join()))).toEqual(new Set(['stderr,50']));
    // Rotated at maxSize like file: both were.
    expect(existsSync(join(root.dir, 'logs/out.log.1'))).toBe(true);
    expect(existsSync(join(root.dir, 'logs/err.log.1'))).toBe(true);
    for (const line of [...out, ...err]) {
      expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
      // The local time and offset name the same instant as the line's time, or the moment it began.
      const at = Date.parse(line.timestamp as string);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Math.min(after, line.time as number));
    }
    // clusterd's own log is not stamped: the lines it relays have their time only.
    const relayed = root.events.filter((e) => e.app === 'two' && typeof e.stream === 'string');
    expect(relayed).toHaveLength(80);
    for (const e of relayed) expect(e).not.toHaveProperty('timestamp');
  });

  it('writes both streams to file without errorFile, as pretty lines that start with the time', async () => {
    const root = startRoot(
      { apps: [twoStreams({ env: { LINES: 3 }, logs: { file: 'both.log', timestamp: true } })] },
      { args: ['--log-format', 'pretty'] },
    );
    expect((await root.waitForExit()).code).toBe(0);
    const lines = fileLines(join(root.dir, 'both.log'));
    expect(lines).toHaveLength(6);
    for (const line of lines)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z two\[0\] boot (out|err) \d$/);
    const text = (stream: string) => lines.filter((l) => l.includes(` ${stream} `)).map((l) => l.slice(25));
    expect(text('out')).toEqual(['two[0] boot out 0', 'two[0] boot out 1', 'two[0] boot out 2']);
    expect(text('err')).toEqual(['two[0] boot err 0', 'two[0] boot err 1', 'two[0] boot err 2']);
  });

  it('refuses a symbolic link at errorFile as at file, and keeps writing stdout', async () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(dir, 'secret'), 'untouched\n');
    symlinkSync(join(dir, 'secret'), join(logs, 'err.log'));
    const root = startRoot(
      { apps: [twoStreams({ logs: { file: 'logs/out.log', errorFile: 'logs/err.log' } })] },
      { dir },
    );
    const refused = await root.waitFor(
      (e) => e.app === 'two' && e.error === 'SYMLINK',
      'the refusal of the symbolic link',
    );
    expect(refused.file).toBe(join(logs, 'err.log'));
    await get(await root.address('two'), '/write?n=2&tag=t');
    await stop(root);
    expect(readFileSync(join(root.dir, 'secret'), 'utf8')).toBe('untouched\n');
    expect(parsed(join(logs, 'out.log')).map((l) => l.msg)).toEqual(['t out 0', 't out 1']);
  });

  it('applies a config reload that changes the files and the timestamp to the running app', async () => {
    const config = (logs: object) => ({ apps: [twoStreams({ logs })] });
    const root = startRoot(config({ file: 'a.log' }));
    const address = await root.address('two');
    await get(address, '/write?n=2&tag=old');
    const mark = root.events.length;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify(config({ file: 'b.log', errorFile: 'c.log', timestamp: 'x[T]HH' })),
    );
    root.signal('SIGHUP');
    const reloaded = await root.waitFor((e) => String(e.msg).startsWith('config reloaded'), 'the reload', {
      from: mark,
    });
    expect(reloaded.changes).toEqual(['two rolled (logs)']);
    await root.waitFor((e) => e.app === 'two' && e.reload === 'done', 'the roll', { from: mark });
    await get(await root.address('two'), '/write?n=2&tag=new');
    await stop(root);
    const a = parsed(join(root.dir, 'a.log'));
    const msgs = (lines: Record<string, unknown>[], stream: string) =>
      lines.filter((l) => l.stream === stream).map((l) => l.msg);
    expect([msgs(a, 'stdout'), msgs(a, 'stderr')]).toEqual([
      ['old out 0', 'old out 1'],
      ['old err 0', 'old err 1'],
    ]);
    expect(a[0]).not.toHaveProperty('timestamp');
    const b = parsed(join(root.dir, 'b.log'));
    const c = parsed(join(root.dir, 'c.log'));
    expect(b.map((l) => l.msg)).toEqual(['new out 0', 'new out 1']);
    expect(c.map((l) => l.msg)).toEqual(['new err 0', 'new err 1']);
    for (const line of [...b, ...c]) expect(line.timestamp).toMatch(/^xT\d\d$/);
  });
});
