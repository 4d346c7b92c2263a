// A .json ecosystem file with a key twice in one object: PM2 evaluates the file as JavaScript, where
// the last one wins. clusterd's own config loader refuses such a file; the importer reads it as PM2
// does, and names each repeated key so that nobody wonders which value was taken.
import { indexJson } from '../../config/json-source.js';

export interface DuplicateKey {
  key: string;
  line: number;
}

// The offset of a 1-based line and column.
function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l += 1) offset = text.indexOf('\n', offset) + 1;
  return offset + column - 1;
}

/** The file's data, the last of each repeated key winning, and the repeated keys; null if not JSON. */
export function lastKeyWins(text: string): { data: unknown; duplicates: DuplicateKey[] } | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const duplicates = indexJson(text).duplicates.map((position) => {
    const at = offsetOf(text, position.line, position.column);
    const literal = /"(?:[^"\\]|\\.)*"/y;
    literal.lastIndex = at;
    const match = literal.exec(text);
    let key = '?';
    try {
      key = match ? String(JSON.parse(match[0])) : '?';
    } catch {}
    return { key, line: position.line };
  });
  return { data, duplicates };
}
