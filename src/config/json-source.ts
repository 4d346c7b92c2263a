// Positions and duplicate keys of a JSON text, in one pass and little memory. The YAML parser did this
// job for JSON too, at about 1.5 KB per value: a 1 MiB file of 400,000 numbers took 4 s and 600 MB.
import { MAX_DEPTH, type Position, type SourceMap } from './positions.js';

interface Value {
  offset: number;
  /** An object's keys: the offset of the key, and its value. */
  keys?: Map<string, { at: number; value: Value }>;
  items?: Value[];
}

export interface JsonSource {
  map: SourceMap;
  /** Keys that repeat one earlier in the same object (compared after unescaping): JSON.parse keeps the
   * last one silently. */
  duplicates: Position[];
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** The offset of the first `[` or `{` nested deeper than MAX_DEPTH, found before any parser runs. */
export function jsonTooDeep(text: string): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      // A backslash escapes the next character, a quote ends the string.
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '[' || c === '{') {
      depth += 1;
      if (depth > MAX_DEPTH) return i;
    } else if (c === ']' || c === '}') {
      depth -= 1;
    }
  }
  return undefined;
}

// Line starts, for line and column by binary search.
function lineIndex(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  };
}

/** Indexes `text`, which JSON.parse has accepted: the scan relies on its syntax being valid. */
export function indexJson(text: string): JsonSource {
  const duplicates: number[] = [];
  let root: Value | undefined;
  // Open containers, and for objects the key whose value comes next.
  const stack: { value: Value; key?: { name: string; at: number } }[] = [];
  const attach = (value: Value) => {
    const parent = stack.at(-1);
    if (!parent) root = value;
    else if (parent.value.items) parent.value.items.push(value);
    else if (parent.key) {
      const keys = parent.value.keys as Map<string, { at: number; value: Value }>;
      if (keys.has(parent.key.name)) duplicates.push(parent.key.at);
      else keys.set(parent.key.name, { at: parent.key.at, value });
      parent.key = undefined;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (WHITESPACE.has(c) || c === ',' || c === ':') continue;
    if (c === '{' || c === '[') {
      const value: Value = c === '{' ? { offset: i, keys: new Map() } : { offset: i, items: [] };
      attach(value);
      stack.push({ value });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const parent = stack.at(-1);
      if (parent?.value.keys && !parent.key) {
        const literal = text.slice(i, end + 1);
        const name = literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
        parent.key = { name, at: i };
      } else {
        attach({ offset: i });
      }
      i = end;
    } else {
      // A number, true, false or null: up to the next delimiter.
      attach({ offset: i });
      while (i + 1 < text.length && !/[\s,\]}]/.test(text[i + 1] as string)) i++;
    }
  }
  const at = lineIndex(text);
  const locate = (path: readonly string[], key = false): Position | undefined => {
    let node = root;
    let found = root?.offset;
    for (const [i, segment] of path.entries()) {
      const entry = node?.keys?.get(segment);
      if (entry && key && i === path.length - 1) return at(entry.at);
      node = entry ? entry.value : node?.items?.[Number(segment)];
      if (!node) break;
      found = node.offset;
    }
    return found === undefined ? undefined : at(found);
  };
  return { map: { locate }, duplicates: duplicates.map(at) };
}
