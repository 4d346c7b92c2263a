import { getSchema } from '../../config/schema.js';
import type { Io } from '../io.js';

/** `clusterd schema`: the JSON Schema configs are validated against, for editors and tools. */
export function schemaCommand(io: Io): number {
  io.stdout(`${JSON.stringify(getSchema(), null, 2)}\n`);
  return 0;
}
