// An app's log files in its primary: which stream goes where, one file per path, and a reload that
// changes the settings opens and closes exactly what changed (with fake files: the real ones are
// tested in test/log/log-streams.test.ts).
import { describe, expect, it } from 'vitest';
import { describeLogFiles } from '../../src/cli/format.js';
import type { ResolvedApp, ResolvedLogs } from '../../src/config/resolved.js';
import { AppLogFiles, type OpenedFile, streamFiles } from '../../src/primary/process/log-files.js';
import { resolvedApp } from '../helpers/fake-pool.js';

const logs = (extra: Partial<ResolvedLogs> = {}): ResolvedLogs => ({
  file: null,
  errorFile: null,
  timestamp: false,
  maxSize: 1024,
  maxFiles: 2,
  ...extra,
});

function files() {
  const opened: string[] = [];
  const ended: string[] = [];
  const open = (file: string, settings: ResolvedLogs): OpenedFile => {
    const name = `${file}@${settings.maxSize}`;
    opened.push(name);
    return {
      write: () => true,
      end: (done: () => void) => {
        ended.push(name);
        setImmediate(done);
      },
    } as OpenedFile;
  };
  const app = (extra: Partial<ResolvedLogs>): ResolvedApp => resolvedApp({ logs: logs(extra) });
  return { set: new AppLogFiles(open), opened, ended, app };
}

describe('log files of an app', () => {
  it('sends stderr to errorFile when it is set, else with stdout to file', () => {
    expect(streamFiles(logs())).toEqual({ stdout: null, stderr: null });
    expect(streamFiles(logs({ file: '/l/app.log' }))).toEqual({ stdout: '/l/app.log', stderr: '/l/app.log' });
    expect(streamFiles(logs({ file: '/l/out.log', errorFile: '/l/err.log' }))).toEqual({
      stdout: '/l/out.log',
      stderr: '/l/err.log',
    });
    expect(streamFiles(logs({ errorFile: '/l/err.log' }))).toEqual({ stdout: null, stderr: '/l/err.log' });
  });

  it('opens one file per path: file and errorFile naming the same one share it', () => {
    const f = files();
    f.set.update(f.app({ file: '/l/app.log', errorFile: '/l/app.log' }));
    expect(f.opened).toEqual(['/l/app.log@1024']);
    expect(f.set.output('stdout')?.sink).toBe(f.set.output('stderr')?.sink);
    f.set.update(f.app({ file: '/l/out.log', errorFile: '/l/err.log' }));
    expect(f.opened).toEqual(['/l/app.log@1024', '/l/out.log@1024', '/l/err.log@1024']);
    expect(f.ended).toEqual(['/l/app.log@1024']);
    expect(f.set.output('stdout')?.sink).not.toBe(f.set.output('stderr')?.sink);
  });

  it('keeps what a reload does not change open, and reopens a file whose rotation changed', () => {
    const f = files();
    f.set.update(f.app({ file: '/l/out.log', errorFile: '/l/err.log' }));
    const stdout = f.set.output('stdout')?.sink;
    f.set.update(f.app({ file: '/l/out.log', errorFile: '/l/err.log' }));
    expect(f.set.output('stdout')?.sink).toBe(stdout);
    expect(f.opened).toHaveLength(2);
    f.set.update(f.app({ file: '/l/out.log', errorFile: null, maxSize: 2048 }));
    expect(f.opened.slice(2)).toEqual(['/l/out.log@2048']);
    expect(f.ended.sort()).toEqual(['/l/err.log@1024', '/l/out.log@1024']);
    f.set.update(f.app({}));
    expect([f.set.output('stdout'), f.set.output('stderr')]).toEqual([null, null]);
    expect(f.ended).toContain('/l/out.log@2048');
  });

  it('changes the timestamp without reopening anything', () => {
    const f = files();
    f.set.update(f.app({ file: '/l/app.log' }));
    expect(f.set.output('stdout')?.timestamp).toBeNull();
    f.set.update(f.app({ file: '/l/app.log', timestamp: 'YYYY' }));
    expect(f.set.output('stdout')?.timestamp?.(Date.UTC(2030, 5, 1))).toBe('2030');
    expect(f.set.output('stderr')?.timestamp).toBe(f.set.output('stdout')?.timestamp);
    expect(f.opened).toHaveLength(1);
  });

  it('closes every file, and waits for the ones a reload closed', async () => {
    const f = files();
    f.set.update(f.app({ file: '/l/a.log' }));
    f.set.update(f.app({ file: '/l/b.log', errorFile: '/l/c.log' }));
    await f.set.close();
    expect(f.ended.sort()).toEqual(['/l/a.log@1024', '/l/b.log@1024', '/l/c.log@1024']);
    expect(f.set.output('stdout')).toBeNull();
  });
});

describe('log files as validate shows them', () => {
  it('names one file, or each stream with its file, and the timestamp', () => {
    expect(describeLogFiles(logs())).toBe('');
    expect(describeLogFiles(logs({ file: '/l/app.log' }))).toBe('/l/app.log');
    expect(describeLogFiles(logs({ file: '/l/app.log', errorFile: '/l/app.log' }))).toBe('/l/app.log');
    expect(describeLogFiles(logs({ file: '/l/out.log', errorFile: '/l/err.log', timestamp: true }))).toBe(
      '/l/out.log (stdout), /l/err.log (stderr), lines timestamped in ISO 8601 (UTC)',
    );
    expect(describeLogFiles(logs({ errorFile: '/l/err.log', timestamp: 'HH:mm' }))).toBe(
      '/l/err.log (stderr), lines timestamped "HH:mm"',
    );
  });
});
