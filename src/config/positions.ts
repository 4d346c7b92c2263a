// Where things are in a config's text, shared by the JSON and YAML readers: positions, source maps and
// the nesting bound both enforce.
export interface Position {
  line: number;
  column: number;
}

export interface SourceMap {
  /** Position of the value at `path`, or of its key with `key: true`; the nearest ancestor if absent. */
  locate(path: readonly string[], key?: boolean): Position | undefined;
}

/** Collections nested deeper than this are refused; a config needs 5 levels. */
export const MAX_DEPTH = 64;

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}
