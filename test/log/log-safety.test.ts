// Log files nobody else can redirect: a symbolic link or a hard link at the file is refused (reported the
// way any failing log file is, never followed), a directory others could write is refused unless sticky,
// and rotation keeps both guarantees. The rule about directories is a pure function, tested here with
// made-up owners and modes; log-users.test.ts runs it against a second real user.
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogFile, type LogFileReport } from '../../src/log/file.js';
import { checkLogDirectory, distrust } from '../../src/log/safe-path.js';
import { tempDir } from '../helpers/files.js';
import { until } from '../helpers/processes.js';

const mode = (path: string) => statSync(path).mode & 0o7777;

function logFile(file: string, maxSize = 1024 * 1024, maxFiles = 2) {
  const reports: LogFileReport[] = [];
  const stream = new LogFile(file, { maxSize, maxFiles, retryMs: 20, report: (r) => reports.push(r) });
  const end = () => new Promise<void>((resolve) => stream.end(resolve));
  return { stream, reports, end };
}

const entry = (uid: number, mode: number, kind: 'dir' | 'link' = 'dir') => ({
  uid,
  mode,
  isDirectory: () => kind === 'dir',
  isSymbolicLink: () => kind === 'link',
});

describe('which directories a log file may be in (pure rule)', () => {
  const me = 1000;
  it.each([
    ['root, 0755', entry(0, 0o40755)],
    ['mine, 0700', entry(me, 0o40700)],
    ['root, world-writable and sticky (/tmp)', entry(0, 0o41777)],
    ['mine, group-writable and sticky', entry(me, 0o41770)],
    ['a link of root', entry(0, 0o120777, 'link')],
  ])('trusts %s', (_, stats) => {
    expect(distrust('/x', stats, me)).toBeNull();
  });

  it.each([
    ['another user, 0755', entry(3999999, 0o40755), /owned by uid 3999999, not by root or the user/],
    ['another user, sticky', entry(3999999, 0o41777), /owned by uid 3999999/],
    ['a link of another user', entry(3999999, 0o120777, 'link'), /symbolic link \/x is owned by uid 3999999/],
    ['root, world-writable, not sticky', entry(0, 0o40777), /writable by others and not sticky/],
    ['mine, group-writable, not sticky', entry(me, 0o40775), /writable by its group and not sticky/],
  ])('refuses %s, naming the directory, its owner and mode', (_, stats, reason) => {
    const why = distrust('/x', stats, me);
    expect(why).toMatch(reason);
    expect(why).toMatch(/\/x/);
    expect(why).toMatch(new RegExp(`mode 0${(stats.mode & 0o7777).toString(8)}`));
  });

  it('names a known owner by name', () => {
    expect(distrust('/x', entry(0, 0o40777), me)).toMatch(/owner root \(uid 0\), mode 0777/);
  });

  it('walks symbolic links on the way, checking each before following it', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'open'), { mode: 0o700 });
    chmodSync(join(dir, 'open'), 0o777);
    symlinkSync(join(dir, 'open'), join(dir, 'via-link'));
    expect(() => checkLogDirectory(join(dir, 'via-link', 'logs'))).toThrow(
      `the directory ${join(dir, 'open')} is writable by others and not sticky`,
    );
    expect(checkLogDirectory(join(dir, 'missing', 'logs'))).toBe(join(dir, 'missing'));
    expect(checkLogDirectory(dir)).toBeNull();
  });
});

describe('a log file nobody else can redirect', () => {
  it('refuses a symbolic link at the file: reported, the target untouched, written once it is removed', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    const file = join(dir, 'app.log');
    symlinkSync(victim, file);
    const { stream, reports, end } = logFile(file);
    for (let i = 0; i < 100; i += 1) stream.write(`line ${i}\n`);
    expect(reports).toEqual([
      {
        state: 'failing',
        file,
        error: 'SYMLINK',
        message: `${file} is a symbolic link; clusterd never writes a log file through one (whoever made it could point it at any file): remove it`,
      },
    ]);
    // Retries (every 20 ms here) refuse it the same way, without a new report.
    const stop = Date.now() + 100;
    while (Date.now() < stop) {
      stream.write('again\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(reports).toHaveLength(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    unlinkSync(file);
    await until(() => stream.write('now written\n') && reports.length === 2, 'the file to be written');
    await end();
    expect(reports[1]).toMatchObject({ state: 'writing', file });
    expect(readFileSync(file, 'utf8')).toMatch(/^now written\n/);
    expect(lstatSync(file).isFile()).toBe(true);
  });

  it('creates what is missing under a symbolic link 0750, leaving the link and its target as they were', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    chmodSync(join(dir, 'real'), 0o755);
    // Longer than its target's name: climbing the literal path by the length of the physical one used to
    // reach the link and chmod what it points to.
    symlinkSync(join(dir, 'real'), join(dir, 'a-link-with-a-long-name'));
    const file = join(dir, 'a-link-with-a-long-name', 'a', 'b', 'app.log');
    const { stream, reports, end } = logFile(file);
    stream.write('line\n');
    await end();
    expect(reports).toEqual([]);
    expect(readFileSync(join(dir, 'real', 'a', 'b', 'app.log'), 'utf8')).toBe('line\n');
    expect([
      mode(join(dir, 'real')),
      mode(join(dir, 'real', 'a')),
      mode(join(dir, 'real', 'a', 'b')),
    ]).toEqual([0o755, 0o750, 0o750]);
  });

  it('refuses a hard link to another file', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const file = join(dir, 'app.log');
    linkSync(victim, file);
    const { stream, reports, end } = logFile(file);
    stream.write('line\n');
    await end();
    expect(reports).toEqual([
      { state: 'failing', file, error: 'HARDLINK', message: expect.stringMatching(/has 2 hard links/) },
    ]);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('refuses a directory others can write that is not sticky, and accepts a sticky one', async () => {
    const dir = tempDir();
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const refused = logFile(join(open, 'app.log'));
    refused.stream.write('line\n');
    await refused.end();
    expect(refused.reports).toEqual([
      {
        state: 'failing',
        file: join(open, 'app.log'),
        error: 'UNSAFE_PATH',
        message: expect.stringContaining(
          `the directory ${open} is writable by others and not sticky (owner `,
        ),
      },
    ]);
    expect(readdirSync(open)).toEqual([]);
    chmodSync(open, 0o1777);
    const accepted = logFile(join(open, 'app.log'));
    accepted.stream.write('line\n');
    await accepted.end();
    expect(accepted.reports).toEqual([]);
    expect(readFileSync(join(open, 'app.log'), 'utf8')).toBe('line\n');
  });

  it('rotates FILE, FILE.1 ... FILE.N, drops the oldest, 0640 each, and renames over a planted link', async () => {
    const dir = tempDir();
    const file = join(dir, 'logs', 'app.log');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const { stream, reports, end } = logFile(file, 100, 2);
    stream.write(`${'a'.repeat(99)}\n`);
    await new Promise((resolve) => stream.write('', resolve));
    // A link planted where the next rotation renames to: rename() replaces the link, never its target.
    symlinkSync(victim, `${file}.2`);
    for (const c of 'bcd') stream.write(`${c.repeat(99)}\n`);
    await end();
    expect(reports).toEqual([]);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readdirSync(join(dir, 'logs')).sort()).toEqual(['app.log', 'app.log.1', 'app.log.2']);
    expect(readFileSync(file, 'utf8')).toBe(`${'d'.repeat(99)}\n`);
    expect(readFileSync(`${file}.1`, 'utf8')).toBe(`${'c'.repeat(99)}\n`);
    expect(readFileSync(`${file}.2`, 'utf8')).toBe(`${'b'.repeat(99)}\n`);
    for (const name of ['app.log', 'app.log.1', 'app.log.2'])
      expect(lstatSync(join(dir, 'logs', name)).mode & 0o7777).toBe(0o640);
    expect(statSync(join(dir, 'logs')).mode & 0o7777).toBe(0o750);
  });

  it('rotates an existing file already past its size before writing more', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, 'x'.repeat(200), { mode: 0o666 });
    chmodSync(file, 0o666);
    const { stream, end } = logFile(file, 100, 1);
    stream.write('new\n');
    await end();
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('x'.repeat(200));
    // An old file left rw-rw-rw- (by a clusterd before this one, under umask 000) is tightened when opened.
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(statSync(`${file}.1`).mode & 0o777).toBe(0o640);
  });

  // Needs root: a file owned by another user can only be made by root (or that user) here.
  it.skipIf(process.getuid?.() !== 0)(
    'refuses a file someone else made first, in a sticky directory',
    async () => {
      const shared = join(tempDir(), 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      const file = join(shared, 'app.log');
      writeFileSync(file, '');
      chownSync(file, 3999999, 3999999);
      const { stream, reports, end } = logFile(file);
      stream.write('secret line\n');
      await end();
      expect(reports).toEqual([
        {
          state: 'failing',
          file,
          error: 'UNSAFE_PATH',
          message: `${file} is owned by uid 3999999, not by root or the user clusterd runs as: remove it`,
        },
      ]);
      expect(readFileSync(file, 'utf8')).toBe('');
    },
  );

  // Needs root: only root may give a file away (chown), as only root runs apps as another user.
  it.skipIf(process.getuid?.() !== 0)(
    'gives its files, rotated ones too, to the owner asked for',
    async () => {
      const dir = tempDir();
      const file = join(dir, 'logs', 'app.log');
      const reports: LogFileReport[] = [];
      const owner = { uid: 3999999, gid: 3999998 };
      const stream = new LogFile(file, { maxSize: 100, maxFiles: 1, owner, report: (r) => reports.push(r) });
      stream.write(`${'a'.repeat(99)}\n`);
      await new Promise((resolve) => stream.write('', resolve));
      stream.write('b\n');
      await new Promise<void>((resolve) => stream.end(resolve));
      expect(reports).toEqual([]);
      for (const path of [file, `${file}.1`])
        expect([path, statSync(path).uid, statSync(path).gid]).toEqual([path, owner.uid, owner.gid]);
      // The directory stays ours: one the app's user owned could be swapped under the root.
      expect(statSync(join(dir, 'logs')).uid).toBe(0);
    },
  );
});
