// `logs.timestamp`: the time put on each line of an app's log files. `true` is ISO 8601 in UTC with
// milliseconds; a string is a format in day.js's tokens, PM2's `log_date_format`, so a PM2 format
// writes what PM2 wrote. The tokens are those of day.js's own format() as PM2 loads it (no plugin,
// English names, the local time zone), translated here rather than loading day.js into every primary:
// a format is compiled once into parts, and the last time formatted is kept, since a chunk's lines
// share one.

/** A line's time (epoch ms) as its log file shows it. */
export type Timestamp = (ms: number) => string;

type Part = string | ((date: Date) => string);

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

// day.js's offset: minutes east of UTC, rounded to a quarter of an hour as day.js rounds it.
function zone(date: Date, separator: string): string {
  const west = Math.round(date.getTimezoneOffset() / 15) * 15;
  const minutes = Math.abs(west);
  return `${west <= 0 ? '+' : '-'}${pad(Math.floor(minutes / 60))}${separator}${pad(minutes % 60)}`;
}

const TOKENS: Record<string, (date: Date) => string> = {
  YYYY: (d) => pad(d.getFullYear(), 4),
  YY: (d) => String(d.getFullYear()).slice(-2),
  M: (d) => String(d.getMonth() + 1),
  MM: (d) => pad(d.getMonth() + 1),
  MMM: (d) => (MONTHS[d.getMonth()] as string).slice(0, 3),
  MMMM: (d) => MONTHS[d.getMonth()] as string,
  D: (d) => String(d.getDate()),
  DD: (d) => pad(d.getDate()),
  d: (d) => String(d.getDay()),
  dd: (d) => (DAYS[d.getDay()] as string).slice(0, 2),
  ddd: (d) => (DAYS[d.getDay()] as string).slice(0, 3),
  dddd: (d) => DAYS[d.getDay()] as string,
  H: (d) => String(d.getHours()),
  HH: (d) => pad(d.getHours()),
  h: (d) => String(d.getHours() % 12 || 12),
  hh: (d) => pad(d.getHours() % 12 || 12),
  a: (d) => (d.getHours() < 12 ? 'am' : 'pm'),
  A: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  m: (d) => String(d.getMinutes()),
  mm: (d) => pad(d.getMinutes()),
  s: (d) => String(d.getSeconds()),
  ss: (d) => pad(d.getSeconds()),
  SSS: (d) => pad(d.getMilliseconds(), 3),
  Z: (d) => zone(d, ':'),
  ZZ: (d) => zone(d, ''),
};

// day.js's own pattern: text in [brackets] as it is, then the tokens, longest first where they share
// a letter. Whatever else the format holds is written as it is.
const PATTERN = /\[([^\]]+)]|YYYY|YY|M{1,4}|D{1,2}|d{1,4}|H{1,2}|h{1,2}|a|A|m{1,2}|s{1,2}|Z{1,2}|SSS/g;

/** The format's parts: text, and a function per token. */
export function compileFormat(format: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let last = 0;
  for (const match of format.matchAll(PATTERN)) {
    text += format.slice(last, match.index);
    last = match.index + match[0].length;
    const token = match[1] === undefined ? TOKENS[match[0]] : undefined;
    if (token) {
      if (text) parts.push(text);
      text = '';
      parts.push(token);
    } else text += match[1] ?? match[0];
  }
  text += format.slice(last);
  if (text) parts.push(text);
  return parts;
}

/** Formats `ms` as `format` (day.js tokens) would, in the local time zone. */
export function formatTime(format: string | Part[], ms: number): string {
  const parts = typeof format === 'string' ? compileFormat(format) : format;
  const date = new Date(ms);
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : part(date);
  return out;
}

/** The formatter of a `logs.timestamp` setting, or null for `false`. */
export function timestampFormatter(setting: boolean | string): Timestamp | null {
  if (setting === false) return null;
  const parts = setting === true ? null : compileFormat(setting);
  let lastMs = Number.NaN;
  let last = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      last = parts ? formatTime(parts, ms) : new Date(ms).toISOString();
    }
    return last;
  };
}
