// The compile cache of clusterd's own processes (src/compile-cache.ts): in a private directory of the
// user's, used by the root and handed to each primary; refused when the directory could be someone
// else's (a symlink, group/other bits), and off with NODE_DISABLE_COMPILE_CACHE.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileCacheDir } from '../../src/compile-cache.js';
import { REPO_ROOT, tempDir } from '../helpers/files.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

const files = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile())
    : [];

/** What openCompileCache gives in a fresh process (it enables the cache of the process that calls it). */
function openIn(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const module = join(REPO_ROOT, 'dist/compile-cache.js');
  return execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const c = await import(${JSON.stringify(module)}); console.log(String(c.openCompileCache(${JSON.stringify(dir)})))`,
    ],
    { env, encoding: 'utf8' },
  ).trim();
}

describe('compile cache', () => {
  it('lives under XDG_CACHE_HOME (an absolute one), else ~/.cache; none with NODE_DISABLE_COMPILE_CACHE', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/x/cache' }, () => '/home/u')).toBe(
      '/x/cache/clusterd/compile-cache',
    );
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative' }, () => '/home/u')).toBe(
      '/home/u/.cache/clusterd/compile-cache',
    );
    expect(compileCacheDir({}, () => '/home/u')).toBe('/home/u/.cache/clusterd/compile-cache');
    expect(compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: '1' }, () => '/home/u')).toBeNull();
    expect(
      compileCacheDir({}, () => {
        throw new Error('no home');
      }),
    ).toBeNull();
  });

  it('creates its directory 0700, and refuses one that is a symlink or open to others', () => {
    const base = tempDir();
    const dir = join(base, 'made', 'compile-cache');
    expect(openIn(dir)).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(openIn(open)).toBe('null');

    const target = join(base, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(base, 'link');
    symlinkSync(target, link);
    expect(openIn(link)).toBe('null');
    expect(files(target)).toEqual([]);
  });

  it('is used by the root and handed to each primary, written while they run', async () => {
    const cache = tempDir();
    const root = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] },
      { env: { XDG_CACHE_HOME: cache } },
    );
    const running = await root.running('web');
    const dir = join(cache, 'clusterd', 'compile-cache');
    const primary = root.events.find((e) => e.app === 'web' && typeof e.primary === 'number')
      ?.primary as number;
    expect(readFileSync(`/proc/${primary}/cmdline`, 'utf8').split('\0')).toContain(dir);
    // Flushed once started (the root's and the primary's modules), not only at a clean exit.
    // A file per module compiled: the bundled root's chunks and the primary's (24 here; `clusterd
    // validate` alone writes 13), and some of node_modules.
    await until(() => files(dir).length >= 20, 'the cache written', 10_000);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(running.app).toBe('web');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  });

  it("is given to an app's workers with compileCache: true, a TypeScript app's included, and to no other", async () => {
    const cache = tempDir();
    // Answers with the compile cache its worker runs with, and whether the variable reached the app.
    const app = [
      "import http from 'node:http';",
      "import module from 'node:module';",
      'interface Answer { dir: string | null; variable: string | null }',
      'http',
      '  .createServer((_req, res) => {',
      '    const answer: Answer = { dir: module.getCompileCacheDir() ?? null, variable: process.env.CLUSTERD_COMPILE_CACHE ?? null };',
      '    res.end(JSON.stringify(answer));',
      '  })',
      "  .listen(Number(process.env.PORT), '127.0.0.1');",
      '',
    ].join('\n');
    const root = startRoot(
      {
        apps: [
          { name: 'cached', script: 'app.ts', compileCache: true, env: { PORT: 0 } },
          { name: 'plain', script: 'app.ts', env: { PORT: 0 } },
          // A shared primary is handed the cache as an app's own is.
          { name: 'grouped', script: 'app.ts', compileCache: true, primaryGroup: 'g', env: { PORT: 0 } },
        ],
      },
      { env: { XDG_CACHE_HOME: cache }, files: { 'app.ts': app } },
    );
    await Promise.all([root.running('cached'), root.running('plain'), root.running('grouped')]);
    const dir = join(cache, 'clusterd', 'compile-cache');
    const ask = async (name: string) => (await fetch(`http://${await root.address(name)}/`)).json();
    expect(await ask('cached')).toEqual({ dir: expect.stringContaining(dir), variable: null });
    expect(await ask('plain')).toEqual({ dir: null, variable: null });
    expect(await ask('grouped')).toEqual({ dir: expect.stringContaining(dir), variable: null });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  });

  it('is not used with NODE_DISABLE_COMPILE_CACHE', async () => {
    const cache = tempDir();
    const root = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] },
      { env: { XDG_CACHE_HOME: cache, NODE_DISABLE_COMPILE_CACHE: '1' } },
    );
    await root.running('web');
    const primary = root.events.find((e) => e.app === 'web' && typeof e.primary === 'number')
      ?.primary as number;
    expect(
      readFileSync(`/proc/${primary}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a.startsWith(cache)),
    ).toEqual([]);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(existsSync(join(cache, 'clusterd'))).toBe(false);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  });
});
