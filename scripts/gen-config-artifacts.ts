// Regenerates what is derived from schemas/cluster.config.schema.json, the single source of truth:
// the RawConfig types (src/config/types.generated.ts), the validator ajv compiles from it ahead of time
// (src/config/validate.generated.ts) and the reference table in docs/configuration.md.
// `node scripts/gen-config-artifacts.ts --check` exits 1 when either is out of date (Node 24 runs it as is).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

// Schema nodes are walked generically here; the schema itself is validated by ajv at run time.
// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema node can hold anything
type Node = Record<string, any>;

const root = new URL('../', import.meta.url);
export const TYPES_FILE = fileURLToPath(new URL('src/config/types.generated.ts', root));
export const VALIDATOR_FILE = fileURLToPath(new URL('src/config/validate.generated.ts', root));
export const DOCS_FILE = fileURLToPath(new URL('docs/configuration.md', root));
const START = '<!-- reference:start (generated from the schema by `npm run gen`; do not edit by hand) -->';
const END = '<!-- reference:end -->';

export async function loadSchema(): Promise<Node> {
  return JSON.parse(await readFile(new URL('schemas/cluster.config.schema.json', root), 'utf8'));
}

// A `$ref` with sibling keywords makes json-schema-to-typescript emit a new alias per use
// (Duration1, Duration2, ...); the siblings only document, so the types keep the bare reference.
function bareRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(bareRefs);
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Node).$ref;
  if (typeof ref === 'string') return { $ref: ref };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, bareRefs(v)]));
}

export async function generateTypes(schema: Node): Promise<string> {
  return compile(bareRefs(schema) as JSONSchema, 'ClusterdConfig', {
    bannerComment:
      '// Generated from schemas/cluster.config.schema.json by scripts/gen-config-artifacts.ts. Do not edit.',
    additionalProperties: false,
    style: { singleQuote: true, printWidth: 110, trailingComma: 'all' },
  });
}

/**
 * The options the schema is compiled with: every error, with the failing schema and data (verbose).
 * `inlineRefs: false`: each `$defs` entry becomes one function, called at each reference, instead of a
 * copy of its code at every reference (the same verdicts and errors in far fewer lines).
 */
export const AJV_OPTIONS = {
  allErrors: true,
  verbose: true,
  strict: true,
  allowUnionTypes: true,
  inlineRefs: false,
} as const;

/**
 * The validator as code, compiled ahead of time: compiling the schema at start-up took ~150 ms of every
 * `clusterd start` and kept ajv's compiler in the supervisor's memory. ajv embeds copies of the schema
 * and of each definition; they are replaced by the objects of the schema file read at run time, so
 * errors point at the very objects src/config/schema-issues.ts knows (it keys messages by identity).
 */
export function generateValidator(schema: Node): string {
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true, lines: true } });
  const code = standalone.default(ajv, ajv.compile(schema)).replace(/^"use strict";/, '');
  const places = new Map<string, string>([[JSON.stringify(schema), 'SCHEMA']]);
  for (const [name, def] of Object.entries(schema.$defs as Node)) {
    places.set(JSON.stringify(def), `SCHEMA.$defs[${JSON.stringify(name)}]`);
  }
  const body = code.replace(/^const (schema\d+) = (\{.*\});$/gm, (_line, id: string, literal: string) => {
    const place = places.get(JSON.stringify(JSON.parse(literal)));
    if (!place) throw new Error(`generated validator: ${id} is neither the schema nor one of its $defs`);
    return `const ${id} = ${place};`;
  });
  return [
    '// Generated from schemas/cluster.config.schema.json by scripts/gen-config-artifacts.ts. Do not edit.',
    '// @ts-nocheck',
    "import { readFileSync } from 'node:fs';",
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    "export const SCHEMA_FILE = new URL('../../schemas/cluster.config.schema.json', import.meta.url);",
    "export const SCHEMA = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));",
    body,
  ].join('\n');
}

function resolve(schema: Node, node: Node): Node {
  if (!node.$ref) return node;
  const name = node.$ref.replace('#/$defs/', '');
  const target = resolve(schema, schema.$defs[name]);
  return { ...target, ...node, $ref: undefined, defName: target.defName ?? name };
}

const code = (v: unknown) => `\`${JSON.stringify(v)}\``;

function typeOf(schema: Node, node: Node): string {
  const n = resolve(schema, node);
  if (n.defName === 'duration') return 'duration';
  if (n.defName === 'size') return 'size';
  if (n.anyOf) return n.anyOf.map((b: Node) => typeOf(schema, b)).join(' \\| ');
  if (n.enum) return n.enum.map((v: unknown) => code(v)).join(' \\| ');
  const types = [n.type].flat();
  return types
    .map((t: string) => {
      if (t === 'array') {
        const item = typeOf(schema, n.items ?? {});
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      if (t === 'integer' && (n.minimum !== undefined || n.maximum !== undefined)) {
        return `integer ${n.minimum ?? ''}..${n.maximum ?? ''}`;
      }
      if (t === 'object' && !n.properties && n.additionalProperties) return 'map';
      return t ?? 'any';
    })
    .join(' \\| ');
}

function rows(schema: Node, node: Node, path: string, out: string[]): string[] {
  const n = resolve(schema, node);
  const objectBranch = n.anyOf?.map((b: Node) => resolve(schema, b)).find((b: Node) => b.properties);
  const desc = (n.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  if (path)
    out.push(
      `| \`${path}\` | ${typeOf(schema, node)} | ${n.default === undefined ? '' : code(n.default)} | ${desc} |`,
    );
  const props = n.properties ?? objectBranch?.properties;
  if (props && path !== 'defaults') {
    for (const [key, child] of Object.entries(props as Node))
      rows(schema, child, path ? `${path}.${key}` : key, out);
  }
  if (n.type === 'array' && n.items && resolve(schema, n.items).properties)
    rows(schema, n.items, `${path}[]`, out);
  return out;
}

export function generateReference(schema: Node): string {
  const table = ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |'];
  rows(schema, schema, '', table);
  const inherited = Object.keys(schema.$defs.defaults.properties).map((k) => `\`${k}\``);
  return [
    START,
    '',
    ...table,
    '',
    `\`defaults\` takes these app keys, with the same types and defaults: ${inherited.join(', ')}.`,
    '',
    END,
  ].join('\n');
}

export function spliceReference(doc: string, reference: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOCS_FILE} lacks the reference markers`);
  return doc.slice(0, a) + reference + doc.slice(b + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const schema = await loadSchema();
  const types = await generateTypes(schema);
  const validator = generateValidator(schema);
  const doc = await readFile(DOCS_FILE, 'utf8');
  const newDoc = spliceReference(doc, generateReference(schema));
  const stale: string[] = [];
  if ((await readFile(TYPES_FILE, 'utf8').catch(() => '')) !== types) stale.push(TYPES_FILE);
  if ((await readFile(VALIDATOR_FILE, 'utf8').catch(() => '')) !== validator) stale.push(VALIDATOR_FILE);
  if (doc !== newDoc) stale.push(DOCS_FILE);
  if (check) {
    if (stale.length) {
      console.error(`out of date (run npm run gen): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    await writeFile(TYPES_FILE, types);
    await writeFile(VALIDATOR_FILE, validator);
    await writeFile(DOCS_FILE, newDoc);
  }
}
