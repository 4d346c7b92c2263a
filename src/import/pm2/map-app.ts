// One PM2 app -> one clusterd app and a verdict for each of its options: the mappers by concern, then
// whatever none of them took (unknown keys, second spellings, nulls).
import { suggest } from '../../config/schema-issues.js';
import type { App } from '../../config/types.generated.js';
import { PM2_OPTIONS } from './catalogue.js';
import { mapEnv } from './map-env.js';
import { mapGuards } from './map-guards.js';
import { mapLifecycle } from './map-lifecycle.js';
import { mapLogs } from './map-logs.js';
import { mapOther } from './map-other.js';
import { mapPool } from './map-pool.js';
import { mapProcess } from './map-process.js';
import { mapWatch } from './map-watch.js';
import { AppMapping, type Draft, type Verdict } from './mapping.js';

export interface MappedApp {
  /** The clusterd app (a Node.js app, or a program), or null when it is not imported (`dropped` says why). */
  app: App | null;
  name: string;
  dropped: string | null;
  verdicts: Verdict[];
}

// The order of an app's keys in the schema, for a config that reads like one written by hand.
const KEY_ORDER: readonly (keyof App)[] = [
  'name',
  'script',
  'command',
  'args',
  'cwd',
  'nodeArgs',
  'instances',
  'env',
  'environments',
  'instanceVar',
  'incrementVar',
  'restart',
  'readiness',
  'readyTimeout',
  'shutdown',
  'watch',
  'logs',
  'guards',
  'user',
  'group',
];

function ordered(draft: Draft): App {
  const app: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (draft[key] !== undefined) app[key] = draft[key];
  return app as unknown as App;
}

function judgeLeftovers(m: AppMapping) {
  const { untaken, shadowed, unset, unknown } = m.leftovers();
  for (const found of untaken) m.unsupported(found, 'not imported');
  for (const found of shadowed) m.changed(found, '', `ignored: ${found.by} is set too and wins, as in PM2`);
  for (const found of unset) m.mapped(found, '', 'null: PM2 takes its default');
  for (const found of unknown) {
    const near = suggest(found.key, PM2_OPTIONS);
    m.ignored(found, `not a PM2 option (PM2 drops it too)${near ? `; did you mean ${near}?` : ''}`);
  }
}

/**
 * Maps one PM2 app. `baseDir` is the ecosystem file's directory; `taken` holds the names (lower case)
 * of the apps already imported, which this one's must not repeat.
 */
export function mapApp(raw: Record<string, unknown>, baseDir: string, taken: ReadonlySet<string>): MappedApp {
  const m = new AppMapping(raw, baseDir);
  mapProcess(m, taken);
  if (!m.dropped) {
    for (const mapper of [mapPool, mapLifecycle, mapEnv, mapWatch, mapLogs, mapGuards, mapOther]) mapper(m);
    judgeLeftovers(m);
  }
  // Rows in the order of the file; what PM2 does by default, "(...)", after them.
  const keys = Object.keys(raw);
  const rank = (v: Verdict) => {
    const i = keys.indexOf(v.option);
    return i < 0 ? keys.length : i;
  };
  // An app left out is one row: why; its other options go with it.
  const verdicts = m.verdicts
    .filter((v) => !m.dropped || v.kind === 'unsupported')
    .map((v, i) => ({ v, i }))
    .sort((a, b) => rank(a.v) - rank(b.v) || a.i - b.i)
    .map(({ v }) => v);
  return { app: m.dropped ? null : ordered(m.draft), name: m.name, dropped: m.dropped, verdicts };
}
