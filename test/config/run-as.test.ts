// `user` and `group` resolved against fake user and group databases, for root and non-root supervisors.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/normalize.js';
import {
  type Accounts,
  LookupError,
  parseGroupLine,
  parsePasswdLine,
  systemAccounts,
} from '../../src/config/run-as.js';
import type { ClusterdConfig } from '../../src/config/types.generated.js';
import { ErrorCode } from '../../src/errors.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const users = [
  { name: 'web', uid: 1001, gid: 1001, home: '/srv/web' },
  { name: 'nohome', uid: 1002, gid: 100, home: '' },
];
const groups = [
  { name: 'web', gid: 1001 },
  { name: 'staff', gid: 50 },
];
const accounts: Accounts = {
  user: (key) => users.find((u) => (typeof key === 'number' ? u.uid === key : u.name === key)) ?? null,
  group: (key) => groups.find((g) => (typeof key === 'number' ? g.gid === key : g.name === key)) ?? null,
};
const root = { uid: 0, gid: 0 };

function normalize(config: ClusterdConfig, supervisor: { uid: number; gid: number } | null = root) {
  const dir = writeFiles(tempDir(), { 'server.js': '' });
  return normalizeConfig(config, { file: join(dir, 'c.json'), cpus: () => 1, accounts, supervisor });
}
const app = (extra: object = {}) => ({ name: 'api', script: 'server.js', ...extra });

describe('user and group', () => {
  it('runs as the supervisor when neither is set', () => {
    expect(normalize({ apps: [app()] }).config?.apps[0]?.runAs).toBeNull();
  });

  it('resolves a user name to its uid, primary gid and home', () => {
    const { config, issues } = normalize({ apps: [app({ user: 'web' })] });
    expect(issues).toEqual([]);
    expect(config?.apps[0]?.runAs).toEqual({ uid: 1001, gid: 1001, user: 'web', home: '/srv/web' });
  });

  it('takes group over the primary group, by name or id', () => {
    const byName = normalize({ apps: [app({ user: 'web', group: 'staff' })] });
    expect(byName.config?.apps[0]?.runAs).toMatchObject({ uid: 1001, gid: 50 });
    const byId = normalize({ apps: [app({ user: 1001, group: 4242 })] });
    expect(byId.config?.apps[0]?.runAs).toEqual({ uid: 1001, gid: 4242, user: 'web', home: '/srv/web' });
  });

  it('inherits user from defaults, and an app can set null to run as the supervisor', () => {
    const { config } = normalize({
      defaults: { user: 'web' },
      apps: [app(), app({ name: 'admin', user: null })],
    });
    expect(config?.apps[0]?.runAs?.uid).toBe(1001);
    expect(config?.apps[1]?.runAs).toBeNull();
  });

  it('reports a user or group that does not exist, at the layer that set it', () => {
    const { issues } = normalize({ defaults: { user: 'nobody-here' }, apps: [app(), app({ name: 'b' })] });
    expect(issues).toEqual([
      {
        code: ErrorCode.CONFIG_UNKNOWN_USER,
        pointer: '/defaults/user',
        message: 'user "nobody-here" does not exist',
        hint: 'create it (useradd), or use a numeric uid',
      },
    ]);
    const group = normalize({ apps: [app({ user: 'web', group: 'wheel' })] });
    expect(group.issues).toEqual([
      expect.objectContaining({ code: ErrorCode.CONFIG_UNKNOWN_USER, pointer: '/apps/0/group' }),
    ]);
    expect(group.issues[0]?.message).toBe('group "wheel" does not exist');
  });

  it('takes a numeric uid without an entry as is, but only with a group', () => {
    const alone = normalize({ apps: [app({ user: 70000 })] });
    expect(alone.issues).toEqual([
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNKNOWN_USER,
        pointer: '/apps/0/user',
        hint: 'set "group" too',
      }),
    ]);
    const withGroup = normalize({ apps: [app({ user: 70000, group: 70000 })] });
    expect(withGroup.config?.apps[0]?.runAs).toEqual({ uid: 70000, gid: 70000, user: null, home: null });
  });

  it('keeps the supervisor uid for group alone', () => {
    const { config } = normalize({ apps: [app({ group: 'staff' })] });
    expect(config?.apps[0]?.runAs).toEqual({ uid: 0, gid: 50, user: null, home: null });
  });

  it('refuses another user or group for a non-root supervisor, accepts its own', () => {
    const self = { uid: 1001, gid: 1001 };
    expect(normalize({ apps: [app({ user: 'web' })] }, self).issues).toEqual([]);
    const other = normalize({ apps: [app({ user: 'nohome' })] }, self);
    expect(other.issues).toEqual([
      {
        code: ErrorCode.CONFIG_PRIVILEGE,
        pointer: '/apps/0/user',
        message:
          'running workers as user "nohome", gid 100 needs a root supervisor; this one runs as uid 1001, gid 1001',
        hint: 'start clusterd as root, or remove "user" and "group"',
      },
    ]);
    const group = normalize({ apps: [app({ group: 'staff' })] }, self);
    expect(group.issues).toEqual([
      expect.objectContaining({ code: ErrorCode.CONFIG_PRIVILEGE, pointer: '/apps/0/group' }),
    ]);
  });

  it('has no home for a user whose home field is empty', () => {
    const { config } = normalize({ apps: [app({ user: 'nohome' })] });
    expect(config?.apps[0]?.runAs).toEqual({ uid: 1002, gid: 100, user: 'nohome', home: null });
  });

  it('refuses user where the platform has no uids', () => {
    const { issues } = normalize({ apps: [app({ user: 'web' })] }, null);
    expect(issues).toEqual([expect.objectContaining({ code: ErrorCode.CONFIG_UNSUPPORTED })]);
  });
});

describe('a database that cannot be asked', () => {
  it('is a config issue at the key, not a crash', () => {
    let asked = 0;
    const down: Accounts = {
      user: () => {
        asked++;
        throw new LookupError('getent passwd failed (killed by SIGTERM (timed out?))');
      },
      group: () => null,
    };
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const { issues } = normalizeConfig(
      { defaults: { user: 'web' }, apps: [app(), app({ name: 'b' })] },
      { file: join(dir, 'c.json'), cpus: () => 1, accounts: down, supervisor: root },
    );
    // Asked once: a database that hangs costs its timeout once per load, not once per app.
    expect(asked).toBe(1);
    expect(issues).toEqual([
      {
        code: ErrorCode.CONFIG_UNKNOWN_USER,
        pointer: '/defaults/user',
        message: 'cannot look up user "web": getent passwd failed (killed by SIGTERM (timed out?))',
      },
    ]);
  });
});

describe('account database lines', () => {
  it('parses passwd and group lines, and rejects malformed ones', () => {
    expect(parsePasswdLine('web:x:1001:1001:Web,,,:/srv/web:/bin/sh')).toEqual({
      name: 'web',
      uid: 1001,
      gid: 1001,
      home: '/srv/web',
    });
    expect(parsePasswdLine('web:x:1001')).toBeNull();
    expect(parsePasswdLine('web:x:abc:1:g:/h:/s')).toBeNull();
    // An empty uid or gid is not 0 (root): Number('') would say it is.
    expect(parsePasswdLine('web:x::1:g:/h:/s')).toBeNull();
    expect(parsePasswdLine('web:x:1::g:/h:/s')).toBeNull();
    expect(parseGroupLine('staff:x:50:alice,bob')).toEqual({ name: 'staff', gid: 50 });
    expect(parseGroupLine('staff:x::')).toBeNull();
  });

  it('finds root in the system database, by name and by id, and not a name that does not exist', () => {
    expect(systemAccounts.user('root')).toMatchObject({ uid: 0, gid: 0 });
    expect(systemAccounts.user(0)).toMatchObject({ name: 'root' });
    expect(systemAccounts.group(0)).toMatchObject({ gid: 0 });
    expect(systemAccounts.user(`cdtest-missing-${process.pid}`)).toBeNull();
    expect(systemAccounts.group(`cdtest-missing-${process.pid}`)).toBeNull();
  });
});

describe('lookups', () => {
  it('looks each name up once per config load, however many apps use it', () => {
    const asked: string[] = [];
    const counting: Accounts = {
      user: (key) => {
        asked.push(`user ${key}`);
        return accounts.user(key);
      },
      group: (key) => {
        asked.push(`group ${key}`);
        return accounts.group(key);
      },
    };
    const dir = writeFiles(tempDir(), { 'server.js': '' });
    const raw: ClusterdConfig = {
      defaults: { user: 'web', group: 'staff' },
      apps: [app(), app({ name: 'b' }), app({ name: 'c' })],
    };
    const { issues } = normalizeConfig(raw, {
      file: join(dir, 'c.json'),
      cpus: () => 1,
      accounts: counting,
      supervisor: root,
    });
    expect(issues).toEqual([]);
    expect(asked).toEqual(['user web', 'group staff']);
  });
});
