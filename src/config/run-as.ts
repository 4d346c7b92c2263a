// `user` and `group`: who an app's workers run as. Names are looked up in the user and group databases
// when the config loads (a name that does not exist is a config error, not a failed fork); the checks
// here are pure over an injected `Accounts`, so they are unit-tested with fakes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ErrorCode } from '../errors.js';
import { type Account, type Group, parseGroupLine, parsePasswdLine } from './accounts.js';
import type { ResolvedRunAs } from './resolved.js';
import type { SchemaIssue } from './schema-issues.js';
import { shown } from './schema-issues.js';

export { type Account, type Group, parseGroupLine, parsePasswdLine };

/** The user and group databases, by name or by numeric id; null when there is no such entry. */
export interface Accounts {
  user(key: string | number): Account | null;
  group(key: string | number): Group | null;
}

/** The user or group database could not be asked. */
export class LookupError extends Error {}

/** Who the supervisor is (the checks for a non-root supervisor). */
export interface Supervisor {
  readonly uid: number;
  readonly gid: number;
}

const matches = (key: string | number, name: string, id: number) =>
  typeof key === 'number' ? id === key : name === key;

// `getent` asks NSS (LDAP, systemd-userdb, files), as the C library's getpwnam would; it runs with an
// argument vector, never through a shell. Where it does not exist (macOS, minimal images) the local
// files are read instead.
function lookup<T>(
  database: 'passwd' | 'group',
  key: string | number,
  parse: (line: string) => T | null,
  id: (entry: T) => { name: string; id: number },
): T | null {
  try {
    const out = execFileSync('getent', [database, String(key)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    });
    for (const line of out.split('\n')) {
      const entry = parse(line);
      if (entry && matches(key, id(entry).name, id(entry).id)) return entry;
    }
    return null;
  } catch (error) {
    // Exit code 2: no such entry.
    if ((error as { status?: number }).status === 2) return null;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      // A hung or failing NSS source (LDAP down): a config problem to report, not a crash.
      const { status, signal } = error as { status?: number | null; signal?: string | null };
      const why = signal ? `killed by ${signal} (timed out?)` : `exit code ${status}`;
      throw new LookupError(`getent ${database} failed (${why})`);
    }
  }
  let text = '';
  try {
    text = readFileSync(`/etc/${database}`, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const entry = parse(line);
    if (entry && matches(key, id(entry).name, id(entry).id)) return entry;
  }
  return null;
}

/** The system's user and group databases. */
export const systemAccounts: Accounts = {
  user: (key) => lookup('passwd', key, parsePasswdLine, (a) => ({ name: a.name, id: a.uid })),
  group: (key) => lookup('group', key, parseGroupLine, (g) => ({ name: g.name, id: g.gid })),
};

/** `accounts` asked once per key: one config load looks a name up once, however many apps use it. */
export function memoized(accounts: Accounts): Accounts {
  // A failed lookup is kept too: a hung NSS source costs its timeout once, not once per app.
  type Answer<T> = { value: T } | { error: unknown };
  const users = new Map<string | number, Answer<Account | null>>();
  const groups = new Map<string | number, Answer<Group | null>>();
  const once = <T>(cache: Map<string | number, Answer<T>>, key: string | number, find: () => T): T => {
    let answer = cache.get(key);
    if (!answer) {
      try {
        answer = { value: find() };
      } catch (error) {
        answer = { error };
      }
      cache.set(key, answer);
    }
    if ('error' in answer) throw answer.error;
    return answer.value;
  };
  return {
    user: (key) => once(users, key, () => accounts.user(key)),
    group: (key) => once(groups, key, () => accounts.group(key)),
  };
}

export const currentSupervisor = (): Supervisor | null =>
  typeof process.getuid === 'function' && typeof process.getgid === 'function'
    ? { uid: process.getuid(), gid: process.getgid() }
    : null;

export type Report = (code: SchemaIssue['code'], pointer: string, message: string, hint?: string) => void;

/**
 * Resolves `user` and `group` to ids, or null when neither is set (the workers run as the supervisor).
 * `origin` gives the pointer of the layer a key came from.
 */
export function resolveRunAs(
  setting: { user: string | number | null; group: string | number | null },
  options: {
    accounts: Accounts;
    supervisor: Supervisor | null;
    origin: (key: 'user' | 'group') => string;
    report: Report;
  },
): ResolvedRunAs | null {
  const { user, group } = setting;
  if (user === null && group === null) return null;
  const { supervisor, origin, report } = options;
  let failed = false;
  // A database that cannot be asked is reported where the key is, as a missing name would be.
  const ask = <T>(key: 'user' | 'group', value: string | number, find: () => T): T | null => {
    try {
      return find();
    } catch (error) {
      if (!(error instanceof LookupError)) throw error;
      report(
        ErrorCode.CONFIG_UNKNOWN_USER,
        origin(key),
        `cannot look up ${key} ${shown(value)}: ${error.message}`,
      );
      failed = true;
      return null;
    }
  };
  const accounts: Accounts = {
    user: (value) => ask('user', value, () => options.accounts.user(value)),
    group: (value) => ask('group', value, () => options.accounts.group(value)),
  };
  if (supervisor === null) {
    report(ErrorCode.CONFIG_UNSUPPORTED, origin(user === null ? 'group' : 'user'), 'needs POSIX user ids');
    return null;
  }
  let account: Account | null = null;
  let uid = supervisor.uid;
  let gid: number | null = user === null ? supervisor.gid : null;
  if (user !== null) {
    account = accounts.user(user);
    if (failed) return null;
    if (account) {
      uid = account.uid;
      gid = account.gid;
    } else if (typeof user === 'number') {
      // A numeric uid without an entry is taken as is (containers run arbitrary uids); it has no home
      // and no primary group, so `group` must say which.
      uid = user;
    } else {
      report(
        ErrorCode.CONFIG_UNKNOWN_USER,
        origin('user'),
        `user ${shown(user)} does not exist`,
        'create it (useradd), or use a numeric uid',
      );
      return null;
    }
  }
  if (group !== null) {
    const entry = accounts.group(group);
    if (failed) return null;
    if (entry) gid = entry.gid;
    else if (typeof group === 'number') gid = group;
    else {
      report(
        ErrorCode.CONFIG_UNKNOWN_USER,
        origin('group'),
        `group ${shown(group)} does not exist`,
        'create it (groupadd), or use a numeric gid',
      );
      return null;
    }
  }
  if (gid === null) {
    report(
      ErrorCode.CONFIG_UNKNOWN_USER,
      origin('user'),
      `uid ${uid} has no entry in the user database, so no primary group`,
      'set "group" too',
    );
    return null;
  }
  if (supervisor.uid !== 0 && (uid !== supervisor.uid || gid !== supervisor.gid)) {
    const who = account ? `user ${shown(account.name)}` : `uid ${uid}`;
    report(
      ErrorCode.CONFIG_PRIVILEGE,
      origin(uid !== supervisor.uid ? 'user' : 'group'),
      `running workers as ${who}, gid ${gid} needs a root supervisor; this one runs as uid ${supervisor.uid}, gid ${supervisor.gid}`,
      'start clusterd as root, or remove "user" and "group"',
    );
    return null;
  }
  return { uid, gid, user: account?.name ?? null, home: account?.home || null };
}
