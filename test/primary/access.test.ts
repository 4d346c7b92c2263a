// Why a worker run as another user could not reach its files: permission bits against a fake file system.
import { describe, expect, it } from 'vitest';
import { accessProblem, type Mode, readProblem } from '../../src/primary/process/access.js';

const who = { uid: 1001, gid: 1001, user: 'web', home: '/home/web' };

function fs(entries: Record<string, Mode>) {
  return (path: string) => entries[path] ?? null;
}
const dir = (mode: number, uid = 0, gid = 0): Mode => ({ mode: 0o40000 | mode, uid, gid });
const file = (mode: number, uid = 0, gid = 0): Mode => ({ mode: 0o100000 | mode, uid, gid });
const paths = { script: '/srv/app/server.js', cwd: '/srv/app' };

describe('accessProblem', () => {
  it('passes when every directory is searchable and the script readable by other', () => {
    const stat = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o755),
      '/srv/app/server.js': file(0o644),
    });
    expect(accessProblem(paths, who, stat)).toBeNull();
  });

  it('names the directory the user cannot enter, with its mode and owner', () => {
    const stat = fs({
      '/': dir(0o755),
      '/srv': dir(0o700),
      '/srv/app': dir(0o755),
      '/srv/app/server.js': file(0o644),
    });
    expect(accessProblem(paths, who, stat)).toBe(
      'user web (uid 1001, gid 1001) cannot enter /srv (mode 0700, owner 0:0)',
    );
  });

  it('names an unreadable working directory and script', () => {
    const cwd = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o750),
      '/srv/app/server.js': file(0o644),
    });
    expect(accessProblem(paths, who, cwd)).toBe(
      'user web (uid 1001, gid 1001) cannot enter its working directory /srv/app (mode 0750, owner 0:0)',
    );
    const script = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o755),
      '/srv/app/server.js': file(0o600),
    });
    expect(accessProblem(paths, who, script)).toBe(
      'user web (uid 1001, gid 1001) cannot read its script /srv/app/server.js (mode 0600, owner 0:0)',
    );
  });

  it('uses the owner bits for the owner and the group bits for the gid, not other', () => {
    const owner = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o700, 1001),
      '/srv/app/server.js': file(0o400, 1001),
    });
    expect(accessProblem(paths, who, owner)).toBeNull();
    const group = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o750, 0, 1001),
      '/srv/app/server.js': file(0o640, 0, 1001),
    });
    expect(accessProblem(paths, who, group)).toBeNull();
    // Owner bits apply to the owner even when other has more.
    const ownerDenied = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o755),
      '/srv/app/server.js': file(0o044, 1001),
    });
    expect(accessProblem(paths, who, ownerDenied)).toMatch(/cannot read its script/);
  });

  it("checks clusterd's preload too, and stays silent on a path it cannot examine", () => {
    const stat = fs({
      '/': dir(0o755),
      '/srv': dir(0o755),
      '/srv/app': dir(0o755),
      '/srv/app/server.js': file(0o644),
      '/root': dir(0o700),
    });
    expect(accessProblem({ ...paths, preload: '/root/clusterd/preload.cjs' }, who, stat)).toBe(
      'user web (uid 1001, gid 1001) cannot enter /root (mode 0700, owner 0:0)',
    );
    expect(accessProblem(paths, who, fs({}))).toBeNull();
  });

  it('lets root through and names a user without a name by ids', () => {
    const stat = fs({
      '/': dir(0o700),
      '/srv': dir(0o700),
      '/srv/app': dir(0o700),
      '/srv/app/server.js': file(0o600),
    });
    expect(accessProblem(paths, { uid: 0, gid: 50, user: null, home: null }, stat)).toBeNull();
    expect(accessProblem(paths, { uid: 7, gid: 7, user: null, home: null }, stat)).toBe(
      'uid 7, gid 7 cannot enter / (mode 0700, owner 0:0)',
    );
  });
});

describe('readProblem (an env file the supervisor reads for a worker of another user)', () => {
  const same = (path: string) => path;
  it('passes a file the user may read, and names the directory or file it may not', () => {
    const tree = { '/': dir(0o755), '/srv': dir(0o755), '/srv/app': dir(0o755) };
    expect(
      readProblem('/srv/app/.env', who, fs({ ...tree, '/srv/app/.env': file(0o640, 0, 1001) }), same),
    ).toBe(null);
    expect(readProblem('/srv/app/.env', who, fs({ ...tree, '/srv/app/.env': file(0o600) }), same)).toBe(
      'user web (uid 1001, gid 1001) cannot read it (mode 0600, owner 0:0)',
    );
    expect(
      readProblem(
        '/srv/app/.env',
        who,
        fs({ ...tree, '/srv': dir(0o700), '/srv/app/.env': file(0o644) }),
        same,
      ),
    ).toBe('user web (uid 1001, gid 1001) cannot enter /srv (mode 0700, owner 0:0)');
  });

  it('checks the file a symbolic link leads to, where it really is', () => {
    const stat = fs({ '/': dir(0o755), '/root': dir(0o700), '/root/.env': file(0o644) });
    const real = (path: string) => (path === '/srv/app/.env' ? '/root/.env' : path);
    expect(readProblem('/srv/app/.env', who, stat, real)).toBe(
      'user web (uid 1001, gid 1001) cannot enter /root (mode 0700, owner 0:0)',
    );
  });
});
