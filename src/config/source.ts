// Parses YAML with positions, so errors can say "file:line:column", and with bounds a hostile document
// cannot get past: nesting depth, alias expansion, keys checked in linear time. (JSON: json-source.ts.)
// Loaded only for YAML configs: the yaml library costs ~40 ms of start-up.
import {
  Composer,
  type CST,
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import { MAX_DEPTH, type Position, type SourceMap } from './positions.js';

export interface ParsedYaml {
  value: unknown;
  map: SourceMap;
  /** Syntax errors, duplicate keys and exceeded bounds, with positions, in document order. */
  errors: { message: string; position: Position; duplicateKey: boolean }[];
}

/** Aliases a document may expand; bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

// The composer recurses once per level, so a document 100,000 levels deep would overflow the stack; the
// parser's tokens are walked first, without recursion. The offset of the first collection too deep.
function tooDeep(tokens: readonly CST.Token[]): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (token.type === 'document' && token.value) stack.push([token.value, depth]);
    if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_DEPTH) return token.offset;
      for (const item of token.items) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

// Duplicate keys, compared as the JS object keys they become (`1` and `"1"` collide), and keys that are
// collections or aliases. The composer's own uniqueKeys check is quadratic per mapping: 100,000 keys
// took minutes.
function keyProblems(doc: Document): { message: string; offset: number; duplicateKey: boolean }[] {
  const problems: { message: string; offset: number; duplicateKey: boolean }[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (isSeq(node)) for (const item of node.items) stack.push(item);
    if (!isMap(node)) continue;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (key === null || isScalar(key)) {
        const name = key === null || key.value === null ? '' : String(key.value);
        if (seen.has(name)) {
          problems.push({ message: 'duplicate key', offset: key?.range?.[0] ?? 0, duplicateKey: true });
        }
        seen.add(name);
      } else {
        problems.push({
          message: 'a key must be a plain value, not a collection or an alias',
          offset: key.range?.[0] ?? 0,
          duplicateKey: false,
        });
      }
      stack.push(pair.value);
    }
  }
  return problems;
}

function describe(error: YAMLError): string {
  const message = (error.message.split('\n')[0] ?? '').slice(0, 200);
  if (error.code !== 'TAG_RESOLVE_FAILED') return message;
  const tag = (/^Unresolved tag: (.*)$/.exec(message)?.[1] ?? '').replace('tag:yaml.org,2002:', '!!');
  return `unsupported tag ${tag}: a config holds plain data (strings, numbers, booleans, null, mappings, sequences)`;
}

/** Parses YAML keeping node ranges for `locate`. */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const deep = tooDeep(tokens);
  if (deep !== undefined) {
    const message = `collections are nested more than ${MAX_DEPTH} levels deep`;
    const errors = [{ message, position: at(deep), duplicateKey: false }];
    return { value: undefined, map: { locate: () => undefined }, errors };
  }
  // The core schema only: no code-running or custom tags, no YAML 1.1 merge keys or `yes` booleans, even
  // under a `%YAML 1.1` directive. Unknown tags are warnings to the parser; here they are errors.
  const composer = new Composer({
    schema: 'core',
    merge: false,
    resolveKnownTags: false,
    uniqueKeys: false,
    strict: true,
    prettyErrors: false,
    logLevel: 'silent',
  });
  // A second document is an error; the composing stops there (250,000 "---" lines make as many documents).
  const docs: Document.Parsed[] = [];
  for (const composed of composer.compose(tokens, true, text.length)) {
    docs.push(composed);
    if (docs.length > 1) break;
  }
  const doc = docs[0] as Document.Parsed;
  const problems = [...doc.errors, ...doc.warnings].map((e) => ({
    message: describe(e),
    offset: e.pos[0],
    duplicateKey: false,
  }));
  for (const problem of keyProblems(doc)) problems.push(problem); // maybe 200,000: no spread
  const second = docs[1];
  if (second) {
    const message = 'the file holds more than one YAML document';
    problems.push({ message, offset: second.range[0], duplicateKey: false });
  }
  let value: unknown;
  if (!problems.length) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const excessive = /alias count/i.test((error as Error).message);
      const message = excessive
        ? `aliases expand to too much data (a "billion laughs" document?); at most ${MAX_ALIAS_COUNT} alias expansions`
        : (error as Error).message;
      problems.push({ message, offset: 0, duplicateKey: false });
    }
  }
  problems.sort((a, b) => a.offset - b.offset);
  const errors = problems.map((p) => ({
    message: p.message,
    position: at(p.offset),
    duplicateKey: p.duplicateKey,
  }));

  // Keys by name per mapping, built on first use: a config with thousands of problems locates each fast.
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, segment: string): Pair | undefined => {
    let index = indexes.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        const name = isScalar(p.key) ? String(p.key.value) : undefined;
        if (name !== undefined && !index.has(name)) index.set(name, p);
      }
      indexes.set(map, index);
    }
    return index.get(segment);
  };
  const locate = (path: readonly string[], key = false): Position | undefined => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let found: [number, number, number] | undefined = node?.range ?? undefined;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = pairOf(node, segment);
        if (!pair) break;
        if (last && key && isScalar(pair.key) && pair.key.range) return at(pair.key.range[0]);
        node = pair.value as Node | null;
      } else if (isSeq(node)) {
        node = node.items[Number(segment)] as Node | undefined;
      } else {
        break;
      }
      if (!node?.range) break;
      found = node.range;
    }
    return found ? at(found[0]) : undefined;
  };
  return { value, map: { locate }, errors };
}
