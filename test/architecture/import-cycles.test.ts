// No module of src/ may import itself back, through any chain, type-only imports included: a cycle of
// values is a TDZ error the day one side is used while the module loads, and a cycle of types means a
// module meant to be a leaf (errors.ts) is not one. madge finds the cycles.
import { cpSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/files.js';

interface MadgeResult {
  obj(): Record<string, string[]>;
  circular(): string[][];
  warnings(): { skipped: string[] };
}
// madge ships no types; its API is one function.
const madge = createRequire(import.meta.url)('madge') as (
  path: string,
  config: Record<string, unknown>,
) => Promise<MadgeResult>;

const SRC = join(REPO_ROOT, 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

// madge 8 reads no .cts file (precinct has no detective for the extension, filing-cabinet no lookup),
// so it is given a copy of src/ where each .cts is a .ts and each `./x.cjs` specifier `./x.js`. The
// names it reports are mapped back to the real ones.
function copyForMadge(): { dir: string; realName: (name: string) => string } {
  const dir = join(tempDir(), 'src');
  cpSync(SRC, dir, { recursive: true });
  const renamed = new Map<string, string>();
  for (const file of filesUnder(dir)) {
    if (file.endsWith('.cts')) {
      const to = `${file.slice(0, -4)}.ts`;
      renameSync(file, to);
      renamed.set(relative(dir, to), relative(dir, file));
    }
  }
  for (const file of filesUnder(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(/(['"])(\.{1,2}\/[^'"]*)\.cjs\1/g, '$1$2.js$1');
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  return { dir, realName: (name) => renamed.get(name) ?? name };
}

async function graph() {
  const { dir, realName } = copyForMadge();
  const result = await madge(dir, {
    fileExtensions: ['ts'],
    tsConfig: {
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true },
    },
    // Type-only imports count: errors.ts must be a leaf for types as well. `require()` calls count too
    // (the worker's preload loads some of its modules on demand).
    detectiveOptions: { ts: { skipTypeImports: false, mixedImports: true } },
  });
  const edges = Object.fromEntries(
    Object.entries(result.obj()).map(([file, deps]) => [realName(file), deps.map(realName)]),
  );
  return {
    edges,
    cycles: result.circular().map((cycle) => cycle.map(realName)),
    skipped: result.warnings().skipped,
  };
}

describe('imports in src/', () => {
  let found: Awaited<ReturnType<typeof graph>>;
  beforeAll(async () => {
    found = await graph();
  }, 60_000);

  it('form no cycle', () => {
    const { edges, cycles, skipped } = found;
    // The graph is the real one: every source file is in it, the .cts files with their edges, and no
    // relative import was left unresolved (a file madge could not follow would hide its cycles).
    const sources = filesUnder(SRC)
      .filter((f) => /\.c?ts$/.test(f))
      .map((f) => relative(SRC, f));
    expect(Object.keys(edges).sort()).toEqual(sources.sort());
    expect(edges['worker/preload.cts']).toContain('worker/drain.cts');
    expect(edges['worker/preload.cts']).toContain('worker/handoff.cts');
    expect(edges['cli/bin.ts']).toContain('errors.ts');
    expect(skipped.filter((s) => s.startsWith('.'))).toEqual([]);
    const shown = cycles.map((cycle) => `${[...cycle, cycle[0]].join(' -> ')}`).join('\n');
    expect(shown, `import cycles:\n${shown}`).toBe('');
  });

  it('leave errors.ts a leaf: it imports nothing from src/', () => {
    expect(found.edges['errors.ts']).toEqual([]);
  });
});
