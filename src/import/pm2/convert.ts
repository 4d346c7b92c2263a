// A whole ecosystem file -> a clusterd config: every app mapped (names kept unique), the keys beside
// the apps judged, and relative paths rebased when the config is written to another directory.
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { App, ClusterdConfig } from '../../config/types.generated.js';
import { ClusterdError, ErrorCode, ExitCode } from '../../errors.js';
import type { EnvNote } from './environment.js';
import { mapApp } from './map-app.js';
import type { Verdict } from './mapping.js';
import { pathKind } from './project.js';
import type { Ecosystem } from './read.js';

/** Where the JSON and YAML configs point editors for completion (as the README's example does). */
export const SCHEMA_REF = './node_modules/clusterd/schemas/cluster.config.schema.json';

export interface Conversion {
  config: ClusterdConfig;
  verdicts: Verdict[];
  /** Names of the apps that could not be imported. */
  dropped: string[];
}

const TOP_LEVEL: Record<string, string> = {
  deploy:
    'clusterd has no deploy: deploy with your own tools (git, CI), then apply the new version with clusterd up',
  static: "pm2 serve's static file servers: run a static file server as an app instead",
};

// A relative cwd is taken from the config file's directory: from another one, it is rebased.
function rebased(app: App, from: string, to: string): App {
  if (from === to || (app.cwd !== undefined && isAbsolute(app.cwd))) return app;
  const cwd = relative(to, resolve(from, app.cwd ?? '.')) || '.';
  const { name, script, command, args, cwd: _, ...rest } = app;
  return {
    name,
    ...(script !== undefined ? { script } : {}),
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    ...(cwd === '.' ? {} : { cwd }),
    ...rest,
  } as App;
}

/** The project an ecosystem file belongs to: the nearest directory at or above it with a package.json. */
export function projectRoot(dir: string): string {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (pathKind(join(at, 'package.json')) === 'file') return at;
    if (dirname(at) === at) return resolve(dir);
  }
}

// What came from the environment (read.ts, environment.ts), said on the option's own verdict when the
// mappers gave it one (a mapped option becomes changed), else on a verdict of its own. Leaving a variable
// to the environment is not a lost setting: clusterd's workers inherit the environment it starts with.
function withNotes(verdicts: Verdict[], notes: readonly EnvNote[], app: string): Verdict[] {
  const out = verdicts.map((v) => ({ ...v }));
  for (const n of notes) {
    const own = out.find((v) => v.app === app && v.option === n.option);
    if (own) {
      if (own.kind === 'mapped') own.kind = 'changed';
      own.note = own.note ? `${own.note}; ${n.note}` : n.note;
    } else out.push({ app, option: n.option, kind: 'changed', target: n.target, note: n.note });
  }
  return out;
}

// The .env file the ecosystem file loaded into process.env (PM2 passed it on to every app): the app reads
// it at each worker start instead, from its cwd, and its values stay out of the config.
function readsDotenv(app: App, dotenv: string, baseDir: string, name: string): Verdict {
  const cwd = resolve(baseDir, app.cwd ?? '.');
  app.envFile = relative(cwd, dotenv) || '.env';
  return {
    app: name,
    option: '(.env loaded by the file)',
    kind: 'changed',
    target: 'envFile',
    note: `the file loaded ${app.envFile} into process.env, which PM2 passed to the app; clusterd reads it at each worker start (envFile), and no value of it is written`,
  };
}

/**
 * Converts `ecosystem` into a clusterd config to be written in `outDir`; relative paths in it are
 * taken from `root`, the directory `pm2 start` ran in. Throws a ClusterdError when no
 * app of it can run under clusterd.
 */
export function convertEcosystem(
  ecosystem: Ecosystem,
  outDir: string = ecosystem.dir,
  root: string = ecosystem.dir,
): Conversion {
  const taken = new Set<string>();
  const apps: App[] = [];
  const verdicts: Verdict[] = [];
  const dropped: { name: string; why: string }[] = [];
  ecosystem.apps.forEach((raw, i) => {
    const mapped = mapApp(raw, root, taken);
    verdicts.push(...withNotes(mapped.verdicts, ecosystem.notes[i] ?? [], mapped.name));
    if (mapped.app && ecosystem.dotenv)
      verdicts.push(readsDotenv(mapped.app, ecosystem.dotenv, root, mapped.name));
    if (mapped.app) {
      taken.add(mapped.name.toLowerCase());
      apps.push(JSON.parse(JSON.stringify(rebased(mapped.app, root, outDir))));
    } else dropped.push({ name: mapped.name, why: mapped.dropped ?? '' });
  });
  for (const { key, line } of ecosystem.duplicates ?? [])
    verdicts.push({
      app: null,
      option: key,
      kind: 'changed',
      target: '',
      note: `repeated at line ${line} of the file: the last one wins, as in PM2 (which reads the file as JavaScript)`,
    });
  for (const key of Object.keys(ecosystem.extra)) {
    // `deploy` is for `pm2 deploy`, which changes nothing in how the apps run; `static` apps do run.
    const kind = key === 'static' ? 'unsupported' : 'ignored';
    const note = TOP_LEVEL[key] ?? 'not a key of a PM2 ecosystem file (PM2 ignores it too)';
    verdicts.push({ app: null, option: key, kind, target: '', note });
  }
  if (apps.length === 0) {
    const reasons = dropped.map((d) => `\n  ${d.name}: ${d.why}`).join('');
    throw new ClusterdError(
      ErrorCode.IMPORT,
      `no app of ${ecosystem.file} can run under clusterd:${reasons}`,
      ExitCode.CONFIG,
    );
  }
  return {
    config: { $schema: SCHEMA_REF, apps: apps as [App, ...App[]] } as ClusterdConfig,
    verdicts,
    dropped: dropped.map((d) => d.name),
  };
}
