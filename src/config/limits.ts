// Lists and maps over the schema's maxItems / maxProperties, found before ajv runs. With allErrors, ajv
// validates every item of an oversized list anyway and concatenates the errors of each `$ref`'d item
// into a growing array: a config of 100,000 apps took minutes. An oversized list is reported alone.
import { ErrorCode } from '../errors.js';
import { getSchema } from './schema.js';
import type { SchemaIssue } from './schema-issues.js';

type SchemaNode = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function types(node: SchemaNode): string[] | undefined {
  return node.type === undefined ? undefined : [node.type].flat().map(String);
}

/** Issues for every list or map in `data` longer than the schema allows; empty when all fit. */
export function oversizeIssues(data: unknown): SchemaIssue[] {
  const schema = getSchema();
  const deref = (node: SchemaNode): SchemaNode =>
    typeof node.$ref === 'string' ? (schema.$defs[node.$ref.replace('#/$defs/', '')] ?? node) : node;
  const issues: SchemaIssue[] = [];
  // The walk follows the schema, which is not recursive: it ends on any data, cyclic or deep.
  const stack: [unknown, SchemaNode, string][] = [[data, schema, '']];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [value, raw, pointer] = next;
    const node = deref(raw);
    if (Array.isArray(node.anyOf)) {
      for (const branch of node.anyOf as SchemaNode[]) stack.push([value, branch, pointer]);
      continue;
    }
    if (Array.isArray(value) && types(node)?.includes('array')) {
      const max = node.maxItems;
      if (typeof max === 'number' && value.length > max) {
        const message = `must have at most ${max} items, got ${value.length}`;
        issues.push({ code: ErrorCode.CONFIG_RANGE, pointer, message });
      } else if (isObject(node.items)) {
        for (const [i, item] of value.entries()) stack.push([item, node.items, `${pointer}/${i}`]);
      }
    } else if (isObject(value) && types(node)?.includes('object')) {
      const keys = Object.keys(value);
      const max = node.maxProperties;
      if (typeof max === 'number' && keys.length > max) {
        const message = `must have at most ${max} keys, got ${keys.length}`;
        issues.push({ code: ErrorCode.CONFIG_RANGE, pointer, message });
        continue;
      }
      const properties = (node.properties ?? {}) as Record<string, SchemaNode>;
      for (const key of keys) {
        const sub = Object.hasOwn(properties, key) ? properties[key] : node.additionalProperties;
        if (isObject(sub)) stack.push([value[key], sub, `${pointer}/${escapePointer(key)}`]);
      }
    }
  }
  return issues;
}
