// File watching: watch, ignore_watch, watch_delay and watch_options. PM2 restarts the app on a change;
// clusterd reloads it, worker by worker, and its ignores add to built-in ones rather than replace them.
import type { AppMapping } from './mapping.js';
import { pm2Millis, shownValue } from './values.js';

const RELOAD_NOTE = 'a change reloads the app worker by worker (PM2 restarts it)';

// Entries clusterd ignores anyway (BUILTIN_WATCH_IGNORES), as PM2's default did.
const BUILT_IN = new Set([
  'node_modules',
  'node_modules/',
  './node_modules',
  '.git',
  '.git/',
  '*.log',
  '.log',
]);

function mapPaths(m: AppMapping) {
  const found = m.take('watch');
  if (!found) return;
  const v = found.value;
  if (v === false) return m.mapped(found, '', 'off');
  if (v === true || (Array.isArray(v) && v.length === 0)) {
    m.watch();
    return m.changed(found, 'watch', `the app's cwd; ${RELOAD_NOTE}`);
  }
  const paths = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p !== ''))
    return m.unsupported(found, `${shownValue(v)} is not a path or a list of paths`);
  m.watch().paths = paths as [string, ...string[]];
  m.changed(found, 'watch.paths', `relative to the app's cwd, as in PM2; ${RELOAD_NOTE}`);
}

function mapIgnores(m: AppMapping) {
  const found = m.take('ignore_watch');
  if (!found) return;
  const entries = Array.isArray(found.value) ? found.value : [found.value];
  const globs: string[] = [];
  const dropped: string[] = [];
  for (const entry of entries) {
    // PM2 hands them to chokidar, which reads strings as globs; a regular expression is not one.
    // `\\.git`, `node_modules`: regular expressions of what clusterd ignores anyway.
    if (typeof entry === 'string' && BUILT_IN.has(entry.replace(/^\^|\\|\$$/g, ''))) continue;
    if (typeof entry !== 'string' || entry === '' || entry.includes('\\')) dropped.push(shownValue(entry));
    else globs.push(entry);
  }
  if (globs.length) m.watch().ignore = globs;
  const base =
    "globs relative to the app's cwd, added to clusterd's own ignores (node_modules, .git, dotfiles, *.log), where PM2's replace its default";
  if (dropped.length)
    m.unsupported(
      found,
      `${dropped.join(', ')}: not a glob (a regular expression?); ${base}. Add a glob for what it matched`,
    );
  else m.changed(found, globs.length ? 'watch.ignore' : '', base);
}

function mapDelay(m: AppMapping) {
  const found = m.take('watch_delay');
  if (!found) return;
  const ms = pm2Millis(found.value);
  if (ms === null) return m.unsupported(found, `${shownValue(found.value)} is not a time in ms`);
  m.watch().debounce = ms;
  m.changed(
    found,
    'watch.debounce',
    'clusterd reloads once changes have stopped for this long; PM2 restarts this long after the first change, missing those made meanwhile',
  );
}

// chokidar's tuning options: how the watcher finds changes, not which changes reload the app.
const TUNING: Readonly<Record<string, string>> = {
  followSymlinks: 'clusterd follows symbolic links (a change behind one reloads too)',
  interval: "clusterd polls at chokidar's default interval (100 ms)",
  binaryInterval: "clusterd polls binary files at chokidar's default interval (300 ms)",
  awaitWriteFinish: 'clusterd waits for watch.debounce of quiet instead',
  atomic: "clusterd keeps chokidar's default for editors' atomic writes",
  alwaysStat: 'not needed by clusterd',
  persistent: 'clusterd watches for as long as it runs',
  ignoreInitial: 'clusterd never reloads for the files already there',
  ignorePermissionErrors: 'clusterd skips what it cannot read',
  depth: 'clusterd watches the whole tree',
  cwd: "clusterd takes watch paths from the app's cwd",
};

function mapOptions(m: AppMapping) {
  const found = m.take('watch_options');
  if (!found) return;
  const v = found.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return m.unsupported(found, `${shownValue(v)} is not an object of chokidar options`);
  const options = v as Record<string, unknown>;
  const notes: string[] = [];
  const lost: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (key === 'usePolling' && typeof value === 'boolean') m.watch().usePolling = value;
    else if (key === 'ignored' && (typeof value === 'string' || Array.isArray(value))) {
      const globs = (Array.isArray(value) ? value : [value]).filter(
        (g): g is string => typeof g === 'string' && g !== '' && !g.includes('\\'),
      );
      if (globs.length)
        m.watch().ignore = [
          ...(m.draft.watch && typeof m.draft.watch === 'object' ? (m.draft.watch.ignore ?? []) : []),
          ...globs,
        ];
      if (globs.length !== (Array.isArray(value) ? value.length : 1)) lost.push('ignored (not a glob)');
      else notes.push('ignored: added to watch.ignore');
    } else if (TUNING[key]) notes.push(`${key}: ${TUNING[key]}`);
    else lost.push(key);
  }
  if (lost.length)
    m.unsupported(
      found,
      `${lost.join(', ')} not imported: clusterd takes usePolling and ignored of chokidar's options`,
    );
  else if (notes.length)
    m.changed(found, 'usePolling' in options ? 'watch.usePolling' : '', notes.join('; '));
  else m.mapped(found, 'watch.usePolling');
}

/** Maps watch, ignore_watch, watch_delay and watch_options. */
export function mapWatch(m: AppMapping): void {
  mapPaths(m);
  const off = m.draft.watch === undefined;
  mapIgnores(m);
  mapDelay(m);
  mapOptions(m);
  // Settings without watch (or with watch: false) do not turn watching on: `clusterd start --watch`
  // does, as `pm2 start --watch` does.
  if (off && m.draft.watch !== undefined && typeof m.draft.watch === 'object') m.draft.watch.enabled = false;
  // `watch: true` with nothing else is written as true.
  if (typeof m.draft.watch === 'object' && Object.keys(m.draft.watch).length === 0) m.draft.watch = true;
}
