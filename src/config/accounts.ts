// Lines of the user and group databases (passwd(5), group(5)), parsed: for the config's `user`/`group`
// (run-as.ts) and for naming the owners of files in messages (control/owners.ts). No I/O here, so the
// control client can use it without loading the config's code.

export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export interface Group {
  readonly name: string;
  readonly gid: number;
}

// One `passwd(5)` line: name:password:uid:gid:gecos:home:shell.
export function parsePasswdLine(line: string): Account | null {
  const f = line.split(':');
  if (f.length < 7) return null;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!f[0] || f[2] === '' || f[3] === '' || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { name: f[0], uid, gid, home: f[5] ?? '' };
}

// One `group(5)` line: name:password:gid:members.
export function parseGroupLine(line: string): Group | null {
  const f = line.split(':');
  if (f.length < 3) return null;
  const gid = Number(f[2]);
  if (!f[0] || f[2] === '' || !Number.isInteger(gid)) return null;
  return { name: f[0], gid };
}
