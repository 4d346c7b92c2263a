// Names for the owners of files in messages ("owned by mallory (uid 1001)"): Node.js has no getpwuid,
// so /etc/passwd is read; a uid it does not list is shown as a number.
import { readFileSync } from 'node:fs';
import { parsePasswdLine } from '../config/accounts.js';

export function ownerName(uid: number): string {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {}
  for (const line of passwd.split('\n')) {
    const account = parsePasswdLine(line);
    if (account?.uid === uid) return `${account.name} (uid ${uid})`;
  }
  return `uid ${uid}`;
}
