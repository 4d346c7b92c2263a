// Keys clusterd once accepted and no longer does. The schema does not know them (editors flag them as
// any unknown key); the loader says what replaced them instead of "unknown key, did you mean ...".
// Keyed by the schema object they were a property of, as schema-issues.ts locates ajv's errors.
export interface RemovedKey {
  message: string;
  hint: string;
}

const REMOVED: Record<string, Record<string, RemovedKey>> = {
  '$defs/restart': {
    window: {
      message:
        'restart.window was removed: restart.maxRestarts now counts failed starts in a row, however long they take',
      hint: 'remove "window"; see docs/reliability.md ("What counts as a crash loop")',
    },
  },
};

/** What to say about `key` set in the schema object at `schemaPath`, if it is a removed key. */
export function removedKey(schemaPath: string, key: string): RemovedKey | undefined {
  const keys = REMOVED[schemaPath];
  return keys && Object.hasOwn(keys, key) ? keys[key] : undefined;
}
