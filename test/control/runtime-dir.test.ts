// Where the control socket lives and what makes a directory private, decided by pure functions over
// the environment and real files in a temp directory.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSocketPathLength, runtimeDir } from '../../src/control/paths.js';
import { privateDirProblem, verifySocket } from '../../src/control/private-dir.js';
import { tempDir } from '../helpers/files.js';

describe('runtime directory', () => {
  it('takes RUNTIME_DIRECTORY first, then /run/clusterd for root, XDG_RUNTIME_DIR for users, /tmp last', () => {
    const env = { RUNTIME_DIRECTORY: '/run/web:/run/other', XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(runtimeDir(env, 1000)).toEqual({ dir: '/run/web', from: 'RUNTIME_DIRECTORY' });
    expect(runtimeDir(env, 0)).toEqual({ dir: '/run/web', from: 'RUNTIME_DIRECTORY' });
    // Root ignores an XDG_RUNTIME_DIR kept by su or sudo -E: it is another user's.
    expect(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 0)).toEqual({
      dir: '/run/clusterd',
      from: 'root',
    });
    expect(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toEqual({
      dir: '/run/user/1000/clusterd',
      from: 'XDG_RUNTIME_DIR',
    });
    expect(runtimeDir({}, 1000).dir).toMatch(/\/clusterd-1000$/);
    expect(runtimeDir({ RUNTIME_DIRECTORY: '' }, 1000).from).toBe('tmp');
  });

  it('refuses a socket path past the 107 bytes a Unix socket takes, naming the variable to change', () => {
    const fits = `/${'a'.repeat(84)}/0123456789abcdef.sock`;
    expect(Buffer.byteLength(fits)).toBe(107);
    expect(() => checkSocketPathLength(fits, 'XDG_RUNTIME_DIR')).not.toThrow();
    expect(() => checkSocketPathLength(`/a${fits}`, 'XDG_RUNTIME_DIR')).toThrow(
      /is 109 bytes, more than the 107 a Unix socket allows; point XDG_RUNTIME_DIR at a shorter directory$/,
    );
  });
});

describe('private directory', () => {
  const uid = process.getuid?.() as number;

  it('accepts a 0700 directory of ours under a sticky or private parent', () => {
    const dir = join(tempDir(), 'run');
    mkdirSync(dir, { mode: 0o700 });
    expect(privateDirProblem(dir, uid)).toBeUndefined();
  });

  it('refuses a symlink, group or other bits, a file, and a world-writable parent without the sticky bit', () => {
    const base = tempDir();
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, 'link'));
    expect(privateDirProblem(join(base, 'link'), uid)).toBe(
      `${base}/link is a symbolic link (to ${real}), not a directory`,
    );
    chmodSync(real, 0o750);
    expect(privateDirProblem(real, uid)).toBe(
      `${real} has mode 0750; it must be 0700 (no group or other permissions)`,
    );
    writeFileSync(join(base, 'file'), '');
    expect(privateDirProblem(join(base, 'file'), uid)).toBe(`${base}/file is not a directory`);
    chmodSync(real, 0o700);
    chmodSync(base, 0o777);
    expect(privateDirProblem(real, uid)).toBe(
      `${base} (above ${real}) is writable by everyone and not sticky (mode 0777)`,
    );
    chmodSync(base, 0o1777);
    expect(privateDirProblem(real, uid)).toBeUndefined();
  });

  it('makes the client refuse what is not a socket, and find nothing where nothing is', () => {
    const dir = join(tempDir(), 'run');
    mkdirSync(dir, { mode: 0o700 });
    expect(verifySocket(join(dir, 'x.sock'), uid)).toBeUndefined();
    expect(verifySocket(join(dir, 'missing', 'x.sock'), uid)).toBeUndefined();
    writeFileSync(join(dir, 'x.sock'), '');
    expect(() => verifySocket(join(dir, 'x.sock'), uid)).toThrow(
      `refusing to use the control socket ${dir}/x.sock: ${dir}/x.sock is not a socket; nothing was sent`,
    );
    chmodSync(dir, 0o755);
    expect(() => verifySocket(join(dir, 'x.sock'), uid)).toThrow(/has mode 0755/);
  });
});
