// The dashboard's files: the package's `dashboard/` folder (shipped by package.json's `files`) and uPlot's
// build from its package, read on first use and kept in memory. A fixed table: no path from a request
// ever reaches the file system.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** From dist/health/dashboard/ to the package's root. */
const OWN = (name: string) => fileURLToPath(new URL(`../../../dashboard/${name}`, import.meta.url));
const vendor = (name: string) => createRequire(import.meta.url).resolve(`uplot/dist/${name}`);

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

const FILES: Record<string, { path: () => string; type: string }> = {
  'index.html': { path: () => OWN('index.html'), type: TYPES.html },
  'login.html': { path: () => OWN('login.html'), type: TYPES.html },
  'app.js': { path: () => OWN('app.js'), type: TYPES.js },
  'charts.js': { path: () => OWN('charts.js'), type: TYPES.js },
  'view.js': { path: () => OWN('view.js'), type: TYPES.js },
  'style.css': { path: () => OWN('style.css'), type: TYPES.css },
  'vendor/uPlot.iife.min.js': { path: () => vendor('uPlot.iife.min.js'), type: TYPES.js },
  'vendor/uPlot.min.css': { path: () => vendor('uPlot.min.css'), type: TYPES.css },
};

export interface Asset {
  body: Buffer;
  type: string;
}

export class Assets {
  private readonly cache = new Map<string, Asset>();

  /** The file named (relative to /dashboard/), or null if there is none by that name. */
  get(name: string): Asset | null {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) return null;
    const asset = { body: readFileSync(file.path()), type: file.type };
    this.cache.set(name, asset);
    return asset;
  }

  /** The names served as static files. */
  static get names(): string[] {
    return Object.keys(FILES);
  }
}
