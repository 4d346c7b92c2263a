// What the workers of test/fixtures/messages-app.mjs wrote to MSG_LOG, one JSON object a line.
import { existsSync, readFileSync } from 'node:fs';

export type Line = Record<string, unknown> & { pid: number; slot: number; at: number; ev: string };

export function readLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}
