// What the root forks for a primary (an app's own, or a shared one): the compile cache first (its
// directory, checked by the root, follows `--compile-cache`), then the primary itself, whose modules then
// load from the cache.
import { flushCompileCache, openCompileCache } from '../compile-cache.js';

const at = process.argv.indexOf('--compile-cache');
const dir = at >= 2 ? process.argv[at + 1] : undefined;
if (dir) openCompileCache(dir);
await import('./main.js');
// Written now, not only when the primary exits cleanly: the next primary starts from it.
if (dir) setImmediate(flushCompileCache);
