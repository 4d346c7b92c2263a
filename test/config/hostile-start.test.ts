// Hostile values at run time, with a real `clusterd start`: shell metacharacters reach the worker
// verbatim (no shell ever sees them), and a watched directory holding a symbolic link loop neither stops
// the root nor the reloads.
import { readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../helpers/files.js';
import { FIXTURES, startRoot } from '../helpers/root.js';

// Each would create a file named PWNED if a shell interpreted it.
const HOSTILE = [
  '; touch PWNED',
  '$(touch PWNED)',
  '`touch PWNED`',
  '&& touch PWNED',
  '| touch PWNED',
  'x\ntouch PWNED',
  "'; touch PWNED; '",
  '"$(touch PWNED)"',
  '> PWNED',
  '*',
  '$HOME ~',
  ' spaced  out ',
];
const SCRIPT = 'app; touch PWNED $(touch PWNED) `touch PWNED` && x | y.cjs';

// Files named PWNED anywhere under `dir` (the script's own name only contains the word).
const pwned = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => basename(f) === 'PWNED');

describe('hostile values at run time', () => {
  it('passes args, node options, env values and the script path verbatim, through no shell', async () => {
    const root = startRoot(
      {
        apps: [
          {
            name: 'web',
            script: SCRIPT,
            instances: 1,
            readiness: 'message',
            args: HOSTILE,
            nodeArgs: ['--conditions=$(touch PWNED)', '--conditions=; touch PWNED `touch PWNED`'],
            env: { HOSTILE: HOSTILE.join('\n') },
          },
        ],
      },
      { files: { [SCRIPT]: readFileSync(join(FIXTURES, 'hostile/record-argv.cjs'), 'utf8') } },
    );
    await root.running('web');
    const received = JSON.parse(readFileSync(join(root.dir, 'received.json'), 'utf8'));
    expect(received.script).toBe(realpathSync(join(root.dir, SCRIPT)));
    expect(received.args).toEqual(HOSTILE);
    expect(received.execArgv.slice(-2)).toEqual([
      '--conditions=$(touch PWNED)',
      '--conditions=; touch PWNED `touch PWNED`',
    ]);
    expect(received.env).toBe(HOSTILE.join('\n'));
    expect(pwned(root.dir)).toEqual([]);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('keeps the root up and reloading when a watched directory holds a symbolic link loop', async () => {
    // The app's own directory, made before start: startRoot writes only regular files.
    const project = writeFiles(tempDir(), { 'src/a.txt': '1' });
    symlinkSync(join(project, 'src'), join(project, 'src/loop'));
    const root = startRoot({
      apps: [
        {
          name: 'web',
          script: join(FIXTURES, 'ready-message.cjs'),
          cwd: project,
          instances: 1,
          readiness: 'message',
          env: { READY_AFTER_MS: 0 },
          watch: { paths: ['src'], debounce: '100ms' },
        },
      ],
    });
    await root.running('web');
    await root.waitFor((e) => e.app === 'web' && Array.isArray(e.watching), 'the watcher to be ready', {
      timeoutMs: 30_000,
    });
    const mark = root.events.length;
    writeFileSync(join(project, 'src/a.txt'), '2');
    const change = await root.waitFor((e) => e.app === 'web' && Array.isArray(e.files), 'the change', {
      from: mark,
      timeoutMs: 30_000,
    });
    // One file changed, named once: not once per alias the loop gives it (src/loop/loop/.../a.txt).
    expect(change).toMatchObject({ files: ['src/a.txt'], count: 1 });
    const done = await root.waitFor((e) => e.reload === 'done', 'the reload', {
      from: mark,
      timeoutMs: 30_000,
    });
    expect(done.replaced).toBe(1);
    expect(root.exited).toBeNull();
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
