// Durations and sizes as the schema accepts them (its `duration` and `size` patterns) to numbers.

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;
const DURATION_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

const SIZE = /^([0-9]+(?:\.[0-9]+)?)(b|kb|mb|gb)$/;
const SIZE_BYTES = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** Longest delay a Node.js timer honours; longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds for a number (already ms) or a string such as "500ms", "1.5s", "1m", "2h". */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value + 0; // -0 is 0
  const match = DURATION.exec(value);
  if (!match) throw new RangeError(`not a duration: ${JSON.stringify(value)}`);
  const [, amount, unit] = match as unknown as [string, string, keyof typeof DURATION_MS];
  return Math.round(Number(amount) * DURATION_MS[unit]);
}

/** Bytes for a number (already bytes) or a string such as "512KB", "10MB", "1GB" (binary units). */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value + 0; // -0 is 0
  const match = SIZE.exec(value.toLowerCase());
  if (!match) throw new RangeError(`not a size: ${JSON.stringify(value)}`);
  const [, amount, unit] = match as unknown as [string, string, keyof typeof SIZE_BYTES];
  return Math.round(Number(amount) * SIZE_BYTES[unit]);
}

/** A duration for people: "1.5s", "2m", "250ms". */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 60_000 === 0) return `${+(ms / 3_600_000).toFixed(2)}h`;
  if (ms >= 60_000 && ms % 1_000 === 0) return `${+(ms / 60_000).toFixed(2)}m`;
  if (ms >= 1_000) return `${+(ms / 1_000).toFixed(3)}s`;
  return `${ms}ms`;
}

/** A size for people: "512MB", "1.5GB", "300KB", "12B" (binary units, as the config writes them). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const)
    if (bytes >= size) return `${+(bytes / size).toFixed(1)}${unit}`;
  return `${bytes}B`;
}
