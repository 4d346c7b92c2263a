// The JSON Schema in schemas/ is the single source of truth; it is read and compiled once per process.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

/** Absolute path of the schema file shipped with the package. */
export const SCHEMA_FILE = new URL('../../schemas/cluster.config.schema.json', import.meta.url);

export type JsonSchema = Record<string, unknown> & {
  $defs: Record<string, Record<string, unknown>>;
};

let schema: JsonSchema | undefined;
let validator: ValidateFunction | undefined;

export function getSchema(): JsonSchema {
  schema ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as JsonSchema;
  return schema;
}

/** Validates `data` against the schema; the raw ajv errors, all of them, or an empty list. */
export function schemaErrors(data: unknown): ErrorObject[] {
  validator ??= new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true }).compile(
    getSchema(),
  );
  return validator(data) ? [] : [...(validator.errors ?? [])];
}
