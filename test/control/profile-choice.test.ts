// The decisions of `clusterd profile` and `clusterd heap` that are pure: which worker (primary/profile/
// target.ts), which request fields are refused (control/profile.ts), what the command line means
// (cli/commands/profile.ts), the file's name; and the file itself (control/profile-file.ts) on a real
// file system: 0600, never over a file, never through a symbolic link, removed when asked.
import { existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileRequest } from '../../src/cli/commands/profile.js';
import { parseRequest } from '../../src/control/commands.js';
import {
  checkProfileOutput,
  createProfileFile,
  profileFileName,
  profilePath,
} from '../../src/control/profile-file.js';
import { ErrorCode } from '../../src/errors.js';
import { chooseProfiled } from '../../src/primary/profile/target.js';
import { tempDir } from '../helpers/files.js';

describe('chooseProfiled', () => {
  const w = (slot: number, pid: number | null, state: 'starting' | 'ready' | 'draining') => ({
    slot,
    pid,
    state,
  });
  const none = new Set<number>();

  it('takes the ready worker of the lowest slot when none is named', () => {
    const workers = [w(1, 11, 'ready'), w(0, 10, 'starting'), w(2, 12, 'ready')];
    expect(chooseProfiled(workers, [0, 1, 2], null, none)).toEqual({ ok: true, worker: workers[0] });
    // One being profiled already is passed over.
    expect(chooseProfiled(workers, [0, 1, 2], null, new Set([11]))).toMatchObject({
      ok: true,
      worker: { slot: 2 },
    });
    expect(chooseProfiled([w(0, 10, 'starting')], [0], null, none)).toEqual({
      ok: false,
      code: ErrorCode.WORKER_NOT_READY,
      reason: 'no ready worker to profile (0 starting)',
    });
  });

  it("takes the named slot's ready worker, its serving one during a reload", () => {
    const workers = [w(0, 10, 'ready'), w(0, 20, 'starting'), w(1, 11, 'draining'), w(1, 21, 'ready')];
    expect(chooseProfiled(workers, [0, 1], 0, none)).toMatchObject({ ok: true, worker: { pid: 10 } });
    expect(chooseProfiled(workers, [0, 1], 1, none)).toMatchObject({ ok: true, worker: { pid: 21 } });
  });

  it('refuses an unknown slot, one restarting, draining, starting or busy, each saying so', () => {
    const workers = [w(0, 10, 'draining'), w(1, 11, 'starting'), w(3, 13, 'ready')];
    const slots = [0, 1, 2, 3];
    expect(chooseProfiled(workers, slots, 7, none)).toEqual({
      ok: false,
      code: ErrorCode.UNKNOWN_WORKER,
      reason: 'the app has no worker 7 (its workers: 0, 1, 2, 3)',
    });
    expect(chooseProfiled(workers, slots, 2, none)).toEqual({
      ok: false,
      code: ErrorCode.WORKER_NOT_READY,
      reason: 'worker 2 is restarting: no process to profile now',
    });
    expect(chooseProfiled(workers, slots, 0, none)).toMatchObject({
      code: ErrorCode.WORKER_NOT_READY,
      reason: 'worker 0 (pid 10) is draining',
    });
    expect(chooseProfiled(workers, slots, 1, none)).toMatchObject({
      code: ErrorCode.WORKER_NOT_READY,
      reason: 'worker 1 (pid 11) is starting: not ready yet',
    });
    expect(chooseProfiled(workers, slots, 3, new Set([13]))).toMatchObject({
      code: ErrorCode.WORKER_NOT_READY,
      reason: 'worker 3 (pid 13) is being profiled already',
    });
  });
});

describe('profile and heap requests on the socket', () => {
  const parse = (fields: object) => parseRequest(JSON.stringify({ v: 1, id: 1, ...fields }));
  it('takes well-formed ones', () => {
    expect(parse({ cmd: 'profile', app: 'web', durationMs: 10_000 })).not.toHaveProperty('error');
    expect(parse({ cmd: 'profile', app: 'web', worker: 2, durationMs: 100 })).not.toHaveProperty('error');
    expect(parse({ cmd: 'heap', app: 'web', worker: 0 })).not.toHaveProperty('error');
  });

  it('refuses bad durations, worker numbers and missing fields with what is wrong', () => {
    const duration = 'profile needs "durationMs": a whole number of ms between 100 and 300000 (5m)';
    for (const [fields, error] of [
      [{ cmd: 'profile', app: 'web' }, duration],
      [{ cmd: 'profile', app: 'web', durationMs: 300_001 }, duration],
      [{ cmd: 'profile', app: 'web', durationMs: 99 }, duration],
      [{ cmd: 'profile', app: 'web', durationMs: 1.5e3 + 0.5 }, duration],
      [{ cmd: 'profile', app: 'web', durationMs: '10s' }, duration],
      [{ cmd: 'profile', durationMs: 1000 }, 'profile needs an "app"'],
      [
        { cmd: 'profile', app: 'web', worker: -1, durationMs: 1000 },
        '"worker" must be a worker number (0, 1, 2...)',
      ],
      [{ cmd: 'heap', app: 'web', worker: '1' }, '"worker" must be a worker number (0, 1, 2...)'],
      [{ cmd: 'heap', app: 'web' }, 'heap needs a "worker" (0, 1, 2...)'],
      [{ cmd: 'heap', app: 'web', worker: 0, durationMs: 1000 }, 'heap takes no "durationMs"'],
      [{ cmd: 'heap', app: 'web', worker: 0, timeout: 1000 }, 'heap takes no "timeout"'],
    ] as const)
      expect(parse(fields)).toEqual({ error, id: 1 });
  });
});

describe('the command line', () => {
  it('reads profile <app> [worker] --cpu DURATION and heap <app> <worker>', () => {
    expect(profileRequest('profile', ['web'], undefined)).toEqual({
      cmd: 'profile',
      app: 'web',
      durationMs: 10_000,
    });
    expect(profileRequest('profile', ['web', '2'], '1.5m')).toEqual({
      cmd: 'profile',
      app: 'web',
      worker: 2,
      durationMs: 90_000,
    });
    expect(profileRequest('heap', ['web', '0'], undefined)).toEqual({ cmd: 'heap', app: 'web', worker: 0 });
  });

  it('refuses what it cannot mean, as usage errors', () => {
    for (const [command, args, cpu, message] of [
      ['profile', ['web'], '10', '--cpu must be a duration such as 10s, 30s or 2m, got "10"'],
      ['profile', ['web'], '6m', '--cpu must be between 100ms and 5m, got "6m"'],
      [
        'profile',
        ['web', '-1'],
        undefined,
        'profile: the worker must be a worker number (0, 1, 2...), got "-1"',
      ],
      [
        'profile',
        ['web', '1.5'],
        undefined,
        'profile: the worker must be a worker number (0, 1, 2...), got "1.5"',
      ],
      ['heap', ['web'], undefined, 'usage: clusterd heap <app> <worker> [--output PATH]'],
      ['profile', [], undefined, 'usage: clusterd profile <app> [worker] [--cpu DURATION] [--output PATH]'],
    ] as const) {
      const error = (() => {
        try {
          profileRequest(command, args, cpu);
        } catch (e) {
          return e as { code: string; message: string };
        }
        throw new Error('accepted');
      })();
      expect(error.code).toBe(ErrorCode.USAGE);
      expect(error.message.split('\n')[0]).toBe(message);
    }
  });
});

describe('the file', () => {
  it('is named for the app, slot, pid and local time, with the extension the tools open', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    expect(profileFileName({ app: 'web', worker: 2, pid: 4211, kind: 'heap' }, at)).toBe(
      'web-2-4211-20260102T030405.heapsnapshot',
    );
    expect(profileFileName({ app: 'a b', worker: 0, pid: 1, kind: 'cpu' }, at)).toBe(
      'a_b-0-1-20260102T030405.cpuprofile',
    );
    const dir = tempDir();
    expect(profilePath(undefined, dir, 'x.cpuprofile')).toBe(join(dir, 'x.cpuprofile'));
    expect(profilePath('.', dir, 'x.cpuprofile')).toBe(join(dir, 'x.cpuprofile'));
    expect(profilePath('out.json', dir, 'x.cpuprofile')).toBe(join(dir, 'out.json'));
  });

  it('is created 0600 whatever the umask, and removed when asked', () => {
    const dir = tempDir();
    const path = join(dir, 'p.cpuprofile');
    const old = process.umask(0);
    try {
      const file = createProfileFile(path);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      file.remove();
      expect(existsSync(path)).toBe(false);
    } finally {
      process.umask(old);
    }
  });

  it('is never written over a file nor through a symbolic link, checked before anything runs too', () => {
    const dir = tempDir();
    const file = join(dir, 'taken');
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    writeFileSync(file, 'mine');
    writeFileSync(target, 'theirs');
    symlinkSync(target, link);
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    for (const [path, says] of [
      [file, 'exists already; clusterd never overwrites a file'],
      [link, 'is a symbolic link; clusterd never writes a profile through one'],
      [join(dir, 'dangling'), 'is a symbolic link'],
    ] as const) {
      expect(() => createProfileFile(path)).toThrow(says);
      expect(() => checkProfileOutput(path, dir)).toThrow(says);
    }
    expect(() => checkProfileOutput('missing/x', dir)).toThrow(`${join(dir, 'missing')} does not exist`);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(readFileSync(target, 'utf8')).toBe('theirs');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});
