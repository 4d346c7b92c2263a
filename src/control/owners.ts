// Names for the owners of files in messages ("owned by mallory (uid 1001)"): Node.js has no getpwuid,
// so /etc/passwd is read; a uid it does not list is shown as a number.
import { readFileSync } from 'node:fs';

export function ownerName(uid: number): string {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {}
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === uid && id !== '') return `${name} (uid ${uid})`;
  }
  return `uid ${uid}`;
}
