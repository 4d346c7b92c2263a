// Watch mode with real files: a change reloads the app (rolling, 0 failed requests), bursts coalesce,
// changes during a reload queue exactly one more, and ignored paths do nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { get } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type Root, startRoot } from '../helpers/root.js';

// An app that answers with its version; a test writes a new version to disk.
const versioned = (version: string) =>
  `require('node:http').createServer((_q, s) => s.end(${JSON.stringify(version)})).listen(0, '127.0.0.1');\n`;

const count = (root: Root, predicate: (e: Record<string, unknown>) => boolean) =>
  root.events.filter(predicate).length;
// Proves that nothing more happens: the only kind of wait these tests make without an event.
const QUIET_MS = 600;
// Date.now() in two processes (the test, clusterd's log) for the same instant: millisecond granularity.
const CLOCK_MS = 3;

async function watching(root: Root, app = 'web') {
  await root.running(app);
  await root.waitFor((e) => e.app === app && Array.isArray(e.watching), 'the watcher to be ready');
}

describe('watch mode', () => {
  it('reloads the app on a change, with 0 failed requests under load, and the new code answers', async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 2, watch: { debounce: '100ms' } }] },
      { files: { 'app.cjs': versioned('v1') } },
    );
    await watching(root);
    const address = await root.address('web');
    expect((await get(address)).body).toBe('v1');
    const load = startLoad(address, { connections: 20 });
    await load.after(50);
    const mark = root.events.length;
    writeFileSync(join(root.dir, 'app.cjs'), versioned('v2'));
    const change = await root.waitFor((e) => e.app === 'web' && Array.isArray(e.files), 'the change', {
      from: mark,
    });
    expect(change.files).toEqual(['app.cjs']);
    expect(change.msg).toBe('app.cjs changed: rolling reload');
    const done = await root.waitFor((e) => e.reload === 'done', 'the reload', { from: mark });
    expect(done.replaced).toBe(2);
    await load.after(50);
    const stats = await load.stop();
    expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0 });
    expect((await get(address)).body).toBe('v2');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('turns a burst of 200 writes into one change event, `debounce` after the last write, and one reload', async () => {
    // Exactly one event needs the whole burst to fit in the debounce. 200 small writes took 37-140 ms
    // alone and up to 298 ms next to other test files on a 2-core machine, so not the default 150 ms:
    // a debounce well above the slowest burst seen, checked below.
    const debounce = 1000;
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 1, watch: { debounce: `${debounce}ms` } }] },
      { files: { 'app.cjs': versioned('v1'), 'src/data.json': '{}' } },
    );
    await watching(root);
    const mark = root.events.length;
    const file = join(root.dir, 'src/data.json');
    const first = Date.now();
    for (let i = 0; i < 200; i++) writeFileSync(file, JSON.stringify({ i }));
    const last = Date.now();
    expect(last - first, 'the burst to take less than the debounce (if not, raise it)').toBeLessThan(
      debounce,
    );
    const change = await root.waitFor((e) => e.app === 'web' && Array.isArray(e.files), 'the change', {
      from: mark,
    });
    expect(change).toMatchObject({ files: ['src/data.json'], count: 1 });
    // Trailing: the change is reported once there has been `debounce` of quiet after the last write.
    expect(change.time - last, 'ms from the last write to the change').toBeGreaterThanOrEqual(
      debounce - CLOCK_MS,
    );
    await root.waitFor((e) => e.reload === 'done', 'the reload', { from: mark });
    await sleep(QUIET_MS);
    const after = root.events.slice(mark);
    expect(after.filter((e) => Array.isArray(e.files))).toHaveLength(1);
    expect(after.filter((e) => e.reload === 'started')).toHaveLength(1);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('queues exactly one more reload for changes made during a reload', async () => {
    const root = startRoot(
      {
        apps: [
          {
            name: 'web',
            script: join(FIXTURES, 'ready-message.cjs'),
            cwd: '.',
            instances: 2,
            readiness: 'message',
            env: { READY_AFTER_MS: 400 },
            watch: { paths: ['watched'], debounce: '50ms' },
          },
        ],
      },
      { files: { 'watched/a.txt': '0' } },
    );
    await watching(root);
    writeFileSync(join(root.dir, 'watched/a.txt'), '1');
    await root.waitFor((e) => e.reload === 'started', 'the first reload');
    // Two separate changes while it runs (each after the debounce): both are served by one follow-up.
    writeFileSync(join(root.dir, 'watched/b.txt'), '2');
    await root.waitForCount((e) => Array.isArray(e.files), 2, 'the second change');
    writeFileSync(join(root.dir, 'watched/c.txt'), '3');
    await root.waitForCount((e) => Array.isArray(e.files), 3, 'the third change');
    expect(count(root, (e) => e.reload === 'done')).toBe(0);
    await root.waitForCount((e) => e.reload === 'done', 2, 'two reloads');
    await sleep(QUIET_MS);
    expect(count(root, (e) => e.reload === 'started')).toBe(2);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('ignores node_modules, dotfiles, logs, its own log files and the ignore patterns', async () => {
    const root = startRoot(
      {
        apps: [
          {
            name: 'web',
            script: 'app.cjs',
            instances: 1,
            watch: { debounce: '50ms', ignore: ['uploads/**'] },
            logs: { file: 'out/web.txt', errorFile: 'out/web-errors.txt' },
          },
        ],
      },
      {
        files: {
          'app.cjs': versioned('v1'),
          'node_modules/dep/index.js': '',
          'uploads/.keep': '',
          'out/.keep': '',
        },
      },
    );
    await watching(root);
    for (const file of [
      'node_modules/dep/index.js',
      'uploads/photo.png',
      '.env',
      'debug.log',
      'out/web.txt',
      'out/web-errors.txt',
      '.git/HEAD',
    ]) {
      mkdirSync(join(root.dir, file, '..'), { recursive: true });
      writeFileSync(join(root.dir, file), 'changed');
    }
    await sleep(QUIET_MS);
    expect(count(root, (e) => Array.isArray(e.files))).toBe(0);
    // The watcher was live all along: a file that is not ignored reloads the app.
    writeFileSync(join(root.dir, 'app.cjs'), versioned('v2'));
    const change = await root.waitFor((e) => Array.isArray(e.files), 'the change');
    expect(change.files).toEqual(['app.cjs']);
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('watches every app with start --watch', async () => {
    const root = startRoot(
      { apps: [{ name: 'web', script: 'app.cjs', instances: 1 }] },
      { files: { 'app.cjs': versioned('v1') }, args: ['--watch'] },
    );
    await watching(root);
    writeFileSync(join(root.dir, 'app.cjs'), versioned('v2'));
    await root.waitFor((e) => e.reload === 'done', 'the reload');
    expect((await get(await root.address('web'))).body).toBe('v2');
    root.signal('SIGTERM');
    await root.waitForExit();
  });
});
