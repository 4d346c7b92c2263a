// The JSON Schema in schemas/ is the single source of truth. It is compiled ahead of time into
// validate.generated.ts by `npm run gen` (a test checks that the two agree), so start-up pays no compile.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { SCHEMA, validate } from './validate.generated.js';

/** Absolute path of the schema file shipped with the package. */
export { SCHEMA_FILE } from './validate.generated.js';

export type JsonSchema = Record<string, unknown> & {
  $defs: Record<string, Record<string, unknown>>;
};

const validator = validate as ValidateFunction;

/** The schema, as read from its file: the validator's errors point into this very object. */
export function getSchema(): JsonSchema {
  return SCHEMA as JsonSchema;
}

/** Validates `data` against the schema; the raw ajv errors, all of them, or an empty list. */
export function schemaErrors(data: unknown): ErrorObject[] {
  return validator(data) ? [] : [...(validator.errors ?? [])];
}
