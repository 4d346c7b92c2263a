// Positions of JSON pointers in a JSON or YAML source, so errors can say "file:line:column".
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

export interface SourceMap {
  /** Position of the value at `path`, or of its key with `key: true`; the nearest ancestor if absent. */
  locate(path: readonly string[], key?: boolean): Position | undefined;
}

export interface ParsedYaml {
  value: unknown;
  map: SourceMap;
  /** Syntax errors and duplicate keys, with positions. */
  errors: { message: string; position: Position; duplicateKey: boolean }[];
}

/** Aliases a document may expand; bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML (and so JSON, a subset) keeping node ranges for `locate`. */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const errors = doc.errors.map((e) => ({
    message: e.message.split('\n')[0] ?? e.message,
    position: at(e.pos[0]),
    duplicateKey: e.code === 'DUPLICATE_KEY',
  }));
  const value = errors.length ? undefined : doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });

  const locate = (path: readonly string[], key = false): Position | undefined => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let found: [number, number, number] | undefined = node?.range ?? undefined;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
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

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}
