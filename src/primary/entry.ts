// What the root forks for an app's primary: the compile cache first (its directory, checked by the root,
// is the one argument), then the primary itself, whose modules then load from the cache.
import { flushCompileCache, openCompileCache } from '../compile-cache.js';

const dir = process.argv[2];
if (dir) openCompileCache(dir);
await import('./main.js');
// Written now, not only when the primary exits cleanly: the next primary starts from it.
if (dir) setImmediate(flushCompileCache);
