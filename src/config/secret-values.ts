// Values under `env` and `environments` are often secrets (tokens, passwords): no message ever quotes
// them, not even a number or a prefix. A problem with one is described instead: its kind, its length and
// where the bad character sits, which is enough to find it in the file the issue already points at.
// Variable names are not secrets: they are shown, as they are part of the JSON pointer anyway.

// `/apps/3/env`, `/defaults/environments` and everything below them; `/health/dashboard/token` and
// `/health/dashboard` itself (where a token written in the config by mistake would be: its value is
// true, false or an object, so what it holds is described, never quoted).
const SECRET_POINTER =
  /^\/(?:apps\/\d+|defaults)\/(?:env|environments)(?:\/|$)|^\/health\/dashboard(?:\/token(?:\/|$)|$)/;

/** Whether the JSON pointer names an env value (or an env map) whose content must never be shown. */
export function isSecretPointer(pointer: string): boolean {
  return SECRET_POINTER.test(pointer);
}

const KIND: Record<string, string> = {
  number: 'a number',
  boolean: 'a boolean',
  bigint: 'a number',
  undefined: 'nothing',
};

/** What a secret value is, never what it holds: "a NUL at position 15 of a value of length 18". */
export function describeSecret(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value !== 'string') return KIND[typeof value] ?? 'a value';
  const nul = value.indexOf('\0');
  // Positions count from 1, like the columns in the same message.
  if (nul >= 0) return `a NUL at position ${nul + 1} of a string of length ${value.length}`;
  return `a string of length ${value.length}`;
}
