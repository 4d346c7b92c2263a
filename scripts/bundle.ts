// Bundles the two processes clusterd starts most, the CLI (which is also the root) and a primary, each
// into a few files: Node.js's ES module loader costs ~0.5 ms of CPU per module (resolution, linking)
// even with the compile cache, and the root loaded ~130 of ours before it forked a primary, which loaded
// ~70 before it forked a worker (docs/benchmarks.md, cold start). Run after tsc (`npm run build`): the
// bundles replace tsc's dist/cli/bin.js and dist/primary/entry.js; every other dist file stays tsc's own,
// for the library entry points, the worker side and the tests that import built modules.
//
// Each bundled module keeps the import.meta.url of the file tsc wrote for it, so a path made from it
// (the schema, the preload, package.json, the dashboard's assets) is the same bundled or not: every
// output file sits one directory below dist/, and `../` from there is dist/.
// Packages from node_modules stay imports (they resolve from dist/ as before), but for the logger (pino).
import { statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type OutputOptions, type RolldownPluginOption } from 'rolldown';

type CodeSplitting = NonNullable<OutputOptions['codeSplitting']>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const CHUNKS = 'chunks';
const BUNDLED =
  /^(pino|@pinojs\/redact|pino-std-serializers|sonic-boom|atomic-sleep|on-exit-leak-free|quick-format-unescaped|safe-stable-stringify|process-warning|fastest-levenshtein)(\/|$)/;

/** The dist/ path tsc writes for a source file: .ts -> .js, .cts -> .cjs. */
function distPathOf(source: string): string {
  return relative(SRC, source)
    .replace(/\.cts$/, '.cjs')
    .replace(/\.ts$/, '.js');
}

const plugins: RolldownPluginOption = [
  {
    // The worker side's CommonJS modules (.cts) stay the files tsc wrote, imported as they are.
    name: 'clusterd-commonjs-as-built',
    resolveId(source, importer) {
      if (!importer?.startsWith(SRC) || !source.endsWith('.cjs')) return null;
      const built = join(dirname(importer), source).replace(/\.cjs$/, '.cts');
      return { id: `../${distPathOf(built)}`, external: true };
    },
  },
  {
    name: 'clusterd-module-url',
    transform(code, id) {
      if (!id.startsWith(SRC) || !code.includes('import.meta.url')) return null;
      const own = JSON.stringify(`../${distPathOf(id)}`);
      return { code: code.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`) };
    },
  },
];

/** One entry point's bundle: its file where tsc wrote it, the rest in dist/chunks/<prefix>-*.js. */
async function bundle(entry: string, prefix: string, codeSplitting: CodeSplitting): Promise<void> {
  const grouped = typeof codeSplitting === 'object';
  await build({
    input: { [entry]: join(SRC, `${entry}.ts`) },
    // As rolldown asks of groups that leave their modules' dependencies out.
    ...(grouped ? { preserveEntrySignatures: 'allow-extension' as const } : {}),
    platform: 'node',
    // A package stays an import, except the logger's (pino and what it loads at once: ~30 modules on the
    // start path). pino's transports (thread-stream, which finds its worker by path) are not used here and
    // stay imports.
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0') && !BUNDLED.test(id),
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    plugins,
    output: {
      dir: DIST,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: `${CHUNKS}/${prefix}-[name]-[hash].js`,
      codeSplitting,
      ...(grouped ? { strictExecutionOrder: true } : {}),
      sourcemap: false,
      minify: false,
    },
  });
}

// Up to date when bundled after tsc last built (its build info changes whenever src/ does), after this
// script and the lockfile last changed: `npm start` and `npm test` build first, every time.
const STAMP = join(DIST, CHUNKS, '.bundled');
const mtime = (file: string): number => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Number.NaN;
const inputs = [join(DIST, '.tsbuildinfo'), fileURLToPath(import.meta.url), join(ROOT, 'package-lock.json')];
if (process.argv.includes('--force') || !inputs.every((file) => mtime(file) <= mtime(STAMP))) {
  await rm(join(DIST, CHUNKS), { recursive: true, force: true });
  // The CLI loads each command on demand (status must not load the supervisor, nor start the live view).
  await bundle('cli/bin', 'cli', true);
  // A primary needs all of its code at once: one chunk, loaded once the entry has opened the compile cache
  // (what the entry imports statically, the compile cache and what it needs, is a chunk of its own), but
  // the file watcher (chokidar) still loads only for an app that watches.
  const opensCache =
    /[/\\](primary[/\\]entry|compile-cache|control[/\\]private-dir|control[/\\]owners|config[/\\]accounts|errors)\.ts$/;
  const onDemand = /[/\\]primary[/\\]reload[/\\]watch\.ts$/;
  await bundle('primary/entry', 'primary', {
    includeDependenciesRecursively: false,
    groups: [
      {
        name: 'primary',
        test: (id: string) => id.startsWith(SRC) && !opensCache.test(id) && !onDemand.test(id),
      },
    ],
  });
  writeFileSync(STAMP, '');
}
