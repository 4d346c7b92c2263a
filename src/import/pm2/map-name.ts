// The app's name: PM2's, or its default (the script's file name), made one clusterd accepts and no other
// app of the file has.
import { basename } from 'node:path';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A name clusterd accepts, as close to PM2's as it can be; `taken` (lower case) is avoided. */
export function clusterdName(name: string, taken: ReadonlySet<string>): string {
  const clean =
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'app';
  let unique = clean;
  for (let n = 2; taken.has(unique.toLowerCase()); n += 1) unique = `${clean}-${n}`;
  return unique;
}

// PM2's default name: the script's file name without its extension.
const defaultName = (script: unknown) => {
  const base = typeof script === 'string' ? basename(script) : 'app';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
};

export function mapName(m: AppMapping, taken: ReadonlySet<string>) {
  const found = m.take('name');
  const wanted = found === undefined ? defaultName(m.peek('script')?.value) : String(found.value);
  m.name = clusterdName(wanted, taken);
  m.draft.name = m.name;
  if (!found) m.mapped('(name not set)', 'name', `PM2's default, from the script's file name`);
  else if (m.name === wanted && NAME.test(wanted)) m.mapped(found, 'name');
  else
    m.changed(
      found,
      'name',
      `renamed from ${shownValue(wanted)}: clusterd names are unique (ignoring case), up to 64 letters, digits, ".", "_" and "-"`,
    );
}
