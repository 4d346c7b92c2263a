// Regenerates what is derived from schemas/cluster.config.schema.json, the single source of truth:
// the RawConfig types (src/config/types.generated.ts) and the reference table in docs/configuration.md.
// `node scripts/gen-config-artifacts.ts --check` exits 1 when either is out of date (Node 24 runs it as is).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

// Schema nodes are walked generically here; the schema itself is validated by ajv at run time.
// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema node can hold anything
type Node = Record<string, any>;

const root = new URL('../', import.meta.url);
export const TYPES_FILE = fileURLToPath(new URL('src/config/types.generated.ts', root));
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
  const doc = await readFile(DOCS_FILE, 'utf8');
  const newDoc = spliceReference(doc, generateReference(schema));
  const stale: string[] = [];
  if ((await readFile(TYPES_FILE, 'utf8').catch(() => '')) !== types) stale.push(TYPES_FILE);
  if (doc !== newDoc) stale.push(DOCS_FILE);
  if (check) {
    if (stale.length) {
      console.error(`out of date (run npm run gen): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    await writeFile(TYPES_FILE, types);
    await writeFile(DOCS_FILE, newDoc);
  }
}
