// PM2's value formats, read as PM2 reads them (lib/tools/Config.js, lib/Common.js) and written in
// clusterd's: argument strings, sizes ("300M"), times ("30s"), numbers given as strings.
import type { Duration, Size } from '../../config/types.generated.js';

/**
 * A string of arguments split as PM2 splits one: at whitespace; a word wholly in double or single quotes
 * is one argument without its quotes; `key="a b"` (or `key='a b'`) is one argument that keeps its quotes,
 * as PM2 passes it. No escapes, no variables: PM2 runs no shell either.
 */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text.charAt(i))) i += 1;
    if (i >= text.length) break;
    const quote = text.charAt(i);
    if (quote === '"' || quote === "'") {
      const end = text.indexOf(quote, i + 1);
      if (end >= 0) {
        words.push(text.slice(i + 1, end));
        i = end + 1;
        continue;
      }
    }
    const assigned = /^[^\s"'=]+=(["'])/.exec(text.slice(i));
    if (assigned) {
      const end = text.indexOf(assigned[1] as string, i + assigned[0].length);
      if (end >= 0) {
        words.push(text.slice(i, end + 1));
        i = end + 1;
        continue;
      }
    }
    let end = i;
    while (end < text.length && !/\s/.test(text.charAt(end))) end += 1;
    words.push(text.slice(i, end));
    i = end;
  }
  return words.filter((w) => w.trim() !== '');
}

/** An argument list as PM2 takes it: an array (items as strings), or a string split by splitArgs. */
export function argList(value: unknown): string[] | null {
  if (typeof value === 'string') return splitArgs(value);
  if (Array.isArray(value) && value.every((v) => ['string', 'number', 'boolean'].includes(typeof v)))
    return value.map(String);
  return null;
}

/** A number as PM2 reads one: a number, or a string that is one ("5000"). */
export function pm2Number(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

/** Whole milliseconds, for a PM2 option given in ms (kill_timeout, restart_delay, ...); null if not one. */
export function pm2Millis(value: unknown): number | null {
  const n = pm2Number(value);
  return n === null || n < 0 ? null : Math.round(n);
}

const SIZE_UNITS = { K: 'KB', M: 'MB', G: 'GB' } as const;

/**
 * `max_memory_restart` as a clusterd size: PM2 takes bytes, or a whole number with K, M or G (binary
 * units, as clusterd's KB, MB, GB). Null for a value PM2 refuses.
 */
export function pm2Size(value: unknown): Size | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^(\d+)([KMG])?$/.exec(value);
  if (!m || Number(m[1]) < 1) return null;
  const unit = m[2] as keyof typeof SIZE_UNITS | undefined;
  return unit ? `${Number(m[1])}${SIZE_UNITS[unit]}` : Number(m[1]);
}

/** `min_uptime` as a clusterd duration: PM2 takes ms, or a whole number with h, m or s. */
export function pm2Time(value: unknown): Duration | null {
  const ms = pm2Millis(value);
  if (ms !== null) return ms;
  if (typeof value !== 'string') return null;
  const m = /^(\d+)([hms])$/.exec(value);
  return m ? `${Number(m[1])}${m[2]}` : null;
}

/** A value shown in a note: short, on one line. */
export function shownValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
