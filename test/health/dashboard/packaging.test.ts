// The dashboard's code loads only when the config asks for it: no module of it is reachable by static
// imports from `clusterd start` (start.ts imports it with import() when health.dashboard is set). And
// its page's files ship with the package.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Assets } from '../../../src/health/dashboard/assets.js';
import { REPO_ROOT } from '../../helpers/files.js';

/** Every file reached from `entry` by static imports (`import ... from`, `export ... from`), not import(). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
      if (/^import\s+type\s/.test(match[0])) continue;
      visit(resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts')).replace(/\.cjs$/, '.cts'));
    }
  };
  visit(entry);
  return seen;
}

describe('the dashboard is loaded lazily', () => {
  it('is not among the static imports of clusterd start', () => {
    const reached = [...staticGraph(join(REPO_ROOT, 'src/cli/commands/start.ts'))].map((f) =>
      f.slice(REPO_ROOT.length + 1),
    );
    expect(reached).toContain('src/supervisor/supervisor.ts');
    expect(reached.filter((f) => f.startsWith('src/health/dashboard/'))).toEqual([]);
    expect(readFileSync(join(REPO_ROOT, 'src/cli/commands/start.ts'), 'utf8')).toMatch(
      /health\?\.dashboard \? await import\('\.\.\/\.\.\/health\/dashboard\/dashboard\.js'\)/,
    );
  });

  it('ships the page: package.json files has dashboard/, uplot is a dependency, every file is there', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.files).toContain('dashboard');
    expect(pkg.dependencies.uplot).toBeDefined();
    const assets = new Assets();
    for (const name of Assets.names) expect(assets.get(name)?.body.length, name).toBeGreaterThan(100);
  });
});
