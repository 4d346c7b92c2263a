// Text from a running clusterd (an app's output, app names, paths, error messages) is not trusted to be
// harmless on a terminal: an escape sequence can set the window title, clear the screen or fake a line.
// Control characters are shown as escapes instead of being sent to the terminal.

// C0 controls, DEL and C1 controls (U+0080-U+009F: U+009B is a CSI to some terminals), and the
// bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make a terminal that
// supports them show text in another order than it was written.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// The same but for tab and newline, which are structure in multi-line text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeOne = (c: string) => {
  const code = c.codePointAt(0) ?? 0;
  return NAMED[c] ?? (code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, '0')}`);
};

/** One field on one line (a table cell): every control character escaped, tab and newline too. */
export function escapeField(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/** Lines of text: control characters escaped, tab and newline kept. */
export function escapeText(text: string): string {
  return text.replace(CONTROL_BUT_LAYOUT, escapeOne);
}
