// The built CLI (also the root) and primary are bundles (scripts/bundle.ts, run by `npm run build`): a
// few files each instead of a module per source file, and every path a bundled module makes from its
// import.meta.url still names the file it names when unbundled.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

const DIST = join(REPO_ROOT, 'dist');
const BUNDLES = [
  'cli/bin.js',
  'primary/entry.js',
  ...readdirSync(join(DIST, 'chunks')).map((f) => `chunks/${f}`),
];

/** A module hook that appends each file: URL loaded to <dir>/<pid>. */
function loadRecorder(): { env: Record<string, string>; loads: (pid: number) => string[] } {
  const dir = tempDir();
  const hook = writeFiles(tempDir(), {
    'record.mjs': `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(dir)} + '/' + process.pid, url + '\\n');
  return next(url, context);
} });
`,
  });
  const loads = (pid: number): string[] => {
    const file = join(dir, String(pid));
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((url) => fileURLToPath(url));
  };
  return { env: { NODE_OPTIONS: `--import ${pathToFileURL(join(hook, 'record.mjs')).href}` }, loads };
}

/** clusterd's own files a process loaded, relative to dist/. */
const ours = (files: string[]): string[] =>
  files.filter((f) => f.startsWith(`${DIST}/`)).map((f) => f.slice(DIST.length + 1));

describe('the bundled CLI and primary', () => {
  it('make every path from import.meta.url name a file that exists', () => {
    const made = /new URL\((["'`])([^"'`$]+)\1, new URL\("(\.\.\/[^"]+)", import\.meta\.url\)\.href\)/g;
    const own = /new URL\("(\.\.\/[^"]+)", import\.meta\.url\)/g;
    let checked = 0;
    for (const bundle of BUNDLES) {
      const text = readFileSync(join(DIST, bundle), 'utf8');
      const at = pathToFileURL(join(DIST, bundle));
      for (const [, file] of text.matchAll(own)) {
        // The module's own file, as tsc wrote it (what its import.meta.url was before bundling).
        expect(existsSync(new URL(file as string, at)), `${bundle}: ${file}`).toBe(true);
        checked++;
      }
      for (const [, , path, file] of text.matchAll(made)) {
        const target = new URL(path as string, new URL(file as string, at));
        expect(existsSync(target), `${bundle}: ${path} from ${file}`).toBe(true);
        checked++;
      }
    }
    // The schema, the worker preload, package.json, the binary itself (detach, export systemd) at least.
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('load a few files of clusterd each, not one per source module', async () => {
    const recorder = loadRecorder();
    const root = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] },
      { env: recorder.env },
    );
    await root.running('web');
    const primary = root.events.find((e) => e.app === 'web' && typeof e.primary === 'number')
      ?.primary as number;
    const rootFiles = ours(recorder.loads(root.child.pid as number));
    const primaryFiles = ours(recorder.loads(primary));
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);

    // Only bundles, and the worker side's CommonJS modules (loaded as built, by both sides).
    const allowed = (f: string) => BUNDLES.includes(f) || /^worker\/[\w-]+\.cjs$/.test(f);
    expect(rootFiles.filter((f) => !allowed(f))).toEqual([]);
    expect(primaryFiles.filter((f) => !allowed(f))).toEqual([]);
    expect(rootFiles[0]).toBe('cli/bin.js');
    expect(primaryFiles[0]).toBe('primary/entry.js');
    // Unbundled, the root loaded ~130 files of ours before forking a primary, and the primary ~70;
    // bundled, 21 and 8 when this was written.
    expect(rootFiles.length).toBeLessThan(35);
    expect(primaryFiles.length).toBeLessThan(12);
    // The logger is bundled into the CLI: no pino file loads from node_modules.
    expect(recorder.loads(root.child.pid as number).filter((f) => f.includes('/node_modules/pino/'))).toEqual(
      [],
    );
  });
});
