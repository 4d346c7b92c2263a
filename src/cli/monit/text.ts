// Text for a full-screen view: every cell is cut or padded to a width in terminal columns (a CJK
// character or an emoji takes two), and text from the running apps is made harmless first (their
// escape sequences shown, not obeyed: terminal-text.ts). Pure.
import stringWidth from 'string-width';
import { escapeField } from '../terminal-text.js';

const segmenter = new Intl.Segmenter();

/** Columns the text takes on a terminal. */
export function width(text: string): number {
  return stringWidth(text);
}

/** The text cut to at most `columns` columns (an ellipsis where it was cut, when `ellipsis`). */
export function cut(text: string, columns: number, ellipsis = true): string {
  if (columns <= 0) return '';
  // ASCII without controls: one column per character.
  if (!/[^\u0020-\u007e]/.test(text)) {
    if (text.length <= columns) return text;
    return ellipsis ? `${text.slice(0, columns - 1)}…` : text.slice(0, columns);
  }
  if (stringWidth(text) <= columns) return text;
  const room = ellipsis ? columns - 1 : columns;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return ellipsis ? `${out}…` : out;
}

/** Exactly `columns` columns: cut, or padded with spaces (on the left when `right`). */
export function fitTo(text: string, columns: number, right = false): string {
  const c = cut(text, columns);
  const pad = ' '.repeat(Math.max(0, columns - width(c)));
  return right ? pad + c : c + pad;
}

/** Text from an app or the root, as one harmless line (controls escaped). */
export function safe(text: string): string {
  return escapeField(text);
}
