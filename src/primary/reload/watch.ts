// Development watch mode: one chokidar watcher per app (in the app's primary), trailing debounce, so a
// `git checkout` touching 500 files yields one reload. Ignored: the built-in patterns, the app's own,
// and the app's log files, so an app writing into its own directory does not reload itself in a loop.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { watch } from 'chokidar';
import picomatch from 'picomatch';
import type { ResolvedApp } from '../../config/resolved.js';

// Through a symbolic link loop (src/loop -> src) chokidar reports one change under each alias it followed
// (src/a.txt, src/loop/a.txt, src/loop/loop/a.txt ...): by its directory's real path it is one file.
function realName(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

export interface AppWatcher {
  close(): Promise<void>;
}

/** Calls `onChange` with the changed paths (relative to the app's cwd) once changes pause for `debounce`. */
export function watchApp(
  app: ResolvedApp,
  handlers: { change: (files: string[]) => void; ready: () => void; error: (error: Error) => void },
): AppWatcher {
  const ignoredGlob = picomatch([...app.watch.ignore], { dot: true });
  const logFiles = [app.logs.file, app.logs.errorFile];
  const ignored = (path: string) => {
    if (logFiles.includes(path)) return true;
    const rel = relative(app.cwd, path);
    return rel !== '' && ignoredGlob(rel);
  };
  const watcher = watch([...app.watch.paths], {
    ignored,
    ignoreInitial: true,
    usePolling: app.watch.usePolling,
    persistent: true,
  });
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  const wait = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const files = [...changed];
      changed = new Set();
      handlers.change(files);
    }, app.watch.debounce);
  };
  watcher.on('all', (_event, path) => {
    changed.add(relative(app.cwd, realName(path)) || '.');
    wait();
  });
  // chokidar reports a path's `change` at most once per 50 ms and drops the ones in between, so the last
  // writes of a burst may never be reported: the debounce would end up to 50 ms early (before the last
  // write, with a short debounce). Its raw events come for every write: they keep a debounce that a
  // reported change started going, so it ends `debounce` after the last write. They never start one.
  watcher.on('raw', (_event, path, details) => {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (!timer || typeof watched !== 'string') return;
    const full = !path || basename(watched) === path ? watched : join(watched, String(path));
    if (!ignored(full)) wait();
  });
  watcher.on('ready', handlers.ready);
  watcher.on('error', (error) => handlers.error(error instanceof Error ? error : new Error(String(error))));
  return {
    close: async () => {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
