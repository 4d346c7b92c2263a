// The schema is the source of truth: the defaults module, the generated types, the docs and the
// package metadata must all agree with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import {
  DOCS_FILE,
  generateReference,
  generateTypes,
  generateValidator,
  loadSchema,
  spliceReference,
  TYPES_FILE,
  VALIDATOR_FILE,
} from '../../scripts/gen-config-artifacts.js';
import { MIN_NODE } from '../../src/cli/node-support.js';
import {
  APP_ONLY_DEFAULTS,
  BUILTIN_DEFAULTS,
  CANARY_DEFAULTS,
  HEALTH_DEFAULTS,
} from '../../src/config/defaults.js';
import { ErrorCode, EXIT_OF } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/files.js';

type Node = Record<string, unknown>;
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

// Every `default` annotation reachable from a schema node, keyed by its dotted path.
function schemaDefaults(schema: Node, node: Node, path: string, out: Map<string, unknown>) {
  const ref =
    typeof node.$ref === 'string' ? (schema.$defs as Record<string, Node>)[node.$ref.slice(8)] : undefined;
  const resolved = ref ? { ...ref, ...node } : node;
  if ('default' in resolved) out.set(path, resolved.default);
  const objectBranch = (resolved.anyOf as Node[] | undefined)
    ?.map((b) => (typeof b.$ref === 'string' ? (schema.$defs as Record<string, Node>)[b.$ref.slice(8)] : b))
    .find((b) => b?.properties);
  const props = (resolved.properties ?? objectBranch?.properties) as Record<string, Node> | undefined;
  for (const [key, child] of Object.entries(props ?? {}))
    schemaDefaults(schema, child, `${path}.${key}`, out);
  return out;
}

function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, k) => (v as Node | undefined)?.[k], value);
}

describe('schema agreement', () => {
  it('documents in the schema exactly the defaults the defaults module applies', async () => {
    const schema = await loadSchema();
    const found = schemaDefaults(schema, (schema.$defs as Record<string, Node>).app as Node, '', new Map());
    expect(found.size).toBeGreaterThan(25);
    for (const [path, value] of found) {
      if (path === '.watch') {
        // `watch: false` in the schema is the module's `watch.enabled: false`.
        expect(value).toBe(BUILTIN_DEFAULTS.watch.enabled);
      } else if (path === '.watch.enabled') {
        // An object given for `watch` turns it on.
        expect(value).toBe(true);
      } else if (path.startsWith('.reload.canary.')) {
        // `canary: true` (or an object) takes its thresholds from CANARY_DEFAULTS.
        expect(at(CANARY_DEFAULTS, path.slice('.reload.canary'.length)), `default of ${path}`).toEqual(value);
      } else {
        const source = path === '.args' ? APP_ONLY_DEFAULTS : BUILTIN_DEFAULTS;
        expect(at(source, path), `default of ${path}`).toEqual(value);
      }
    }
    const inheritable = Object.keys(
      ((schema.$defs as Record<string, Node>).defaults as Node).properties as Node,
    );
    expect(Object.keys(BUILTIN_DEFAULTS).sort()).toEqual(inheritable.sort());
  });

  it('documents the health server defaults the loader applies', async () => {
    const schema = await loadSchema();
    const health = (schema.$defs as Record<string, Node>).health as Node;
    const found = schemaDefaults(schema, health, '', new Map());
    // `dashboard` is off by default: `false` in the schema, null once resolved; its `actions` off.
    const { dashboard, ...plain } = HEALTH_DEFAULTS;
    expect(dashboard).toBeNull();
    expect(found.get('.dashboard')).toBe(false);
    expect(found.get('.dashboard.actions')).toBe(false);
    found.delete('.dashboard');
    found.delete('.dashboard.actions');
    expect(Object.fromEntries([...found].map(([path, value]) => [path.slice(1), value]))).toEqual(plain);
  });

  it('has generated types that match the schema', async () => {
    expect(readFileSync(TYPES_FILE, 'utf8')).toBe(await generateTypes(await loadSchema()));
  });

  it('has a precompiled validator that matches the schema', async () => {
    expect(readFileSync(VALIDATOR_FILE, 'utf8')).toBe(generateValidator(await loadSchema()));
  });

  it('has a configuration reference in the docs that matches the schema', async () => {
    const doc = readFileSync(DOCS_FILE, 'utf8');
    expect(doc).toBe(spliceReference(doc, generateReference(await loadSchema())));
  });

  // Both directions, with the exit status: a code added without its row, a row for a code that no longer
  // exists, or an exit status changed on one side only all fail here.
  it('documents every error code with its exit status, and no other', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(CLUSTERD_ERR_[A-Z_]+)` \| (\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const documented = Object.fromEntries(rows);
    expect(rows.length, 'a code has two rows').toBe(Object.keys(documented).length);
    expect(documented).toEqual({ ...EXIT_OF });
    for (const code of Object.values(ErrorCode)) expect(EXIT_OF[code], code).toBeTypeOf('number');
  });
});

describe('supported Node.js versions', () => {
  it('says the same in engines and in the CLI check', () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE.major}.${MIN_NODE.minor}.0`);
  });

  it('pins a development Node that the engines accept', () => {
    const pinned = JSON.parse(
      readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8'),
    ).version;
    expect(semver.satisfies(pinned, pkg.engines.node)).toBe(true);
  });

  it('runs on every version the runtime dependencies support', () => {
    const seen = new Set<string>();
    const visit = (name: string, from: string) => {
      // Installed flat by npm; nested copies live under the parent's node_modules.
      const nested = join(from, 'node_modules', name, 'package.json');
      const file = [nested, join(REPO_ROOT, 'node_modules', name, 'package.json')].find((f) => {
        try {
          return readFileSync(f) && true;
        } catch {
          return false;
        }
      });
      if (!file || seen.has(file)) return;
      seen.add(file);
      const dep = JSON.parse(readFileSync(file, 'utf8'));
      const range = dep.engines?.node;
      if (range)
        expect(semver.subset(pkg.engines.node, range), `${name}@${dep.version} engines ${range}`).toBe(true);
      for (const child of Object.keys(dep.dependencies ?? {})) visit(child, join(file, '..'));
    };
    for (const name of Object.keys(pkg.dependencies)) visit(name, REPO_ROOT);
    expect(seen.size).toBeGreaterThanOrEqual(Object.keys(pkg.dependencies).length);
  });
});
