import { isAbsolute, relative } from 'node:path';

/** A path as the user most likely typed it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** `text` shortened to about `max` characters, keeping its start and its end (a path's file name). */
export function clip(text: string, max = 200): string {
  if (text.length <= max) return text;
  const tail = Math.floor(max / 3);
  return `${text.slice(0, max - tail - 3)}...${text.slice(-tail)}`;
}
