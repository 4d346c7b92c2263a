// The starter config `clusterd init` writes, as data (what it validates) and as the text of each format:
// JSON plain (it has no comments), YAML and TS with a comment on every key and the production settings
// (guards, health) commented out. Values shown as defaults come from config/defaults.ts.
import { stringify } from 'yaml';
import { BUILTIN_DEFAULTS } from '../config/defaults.js';
import type { App, ClusterdConfig } from '../config/types.generated.js';
import { SCHEMA_REF } from '../import/pm2/convert.js';
import type { OutputFormat } from '../import/pm2/render.js';
import type { StarterApp } from './detect.js';

/** The starter config: the app with the settings worth seeing at once, written as their defaults. */
export function starterConfig(app: StarterApp): ClusterdConfig {
  const written: App = {
    name: app.name,
    script: app.script,
    ...(app.args ? { args: app.args } : {}),
    ...(app.cwd ? { cwd: app.cwd } : {}),
    ...(app.nodeArgs ? { nodeArgs: app.nodeArgs } : {}),
    instances: BUILTIN_DEFAULTS.instances,
    ...(app.env ? { env: app.env } : {}),
    readiness: app.readiness ?? BUILTIN_DEFAULTS.readiness,
    readyTimeout: BUILTIN_DEFAULTS.readyTimeout,
    shutdown: { timeout: BUILTIN_DEFAULTS.shutdown.timeout },
  };
  return { $schema: SCHEMA_REF, apps: [written] };
}

// Text from package.json goes into comments: one line, no control characters, bounded.
const commentText = (text: string) => {
  const line = text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
};

type Comments = Record<
  | 'head'
  | 'script'
  | 'args'
  | 'cwd'
  | 'nodeArgs'
  | 'instances'
  | 'env'
  | 'readiness'
  | 'readyTimeout'
  | 'timeout',
  string[]
>;

function comments(app: StarterApp, source: string, command: string | undefined): Comments {
  return {
    head: [
      `clusterd config for ${app.name}, written by clusterd init. Check it with: clusterd validate`,
      "Every key is described in clusterd's docs/configuration.md.",
    ],
    script: command
      ? [`The file each worker runs, from ${commentText(source)}:`, `  ${commentText(command)}`]
      : [`The file each worker runs, from ${commentText(source)}.`],
    args: ["The script's arguments, as the start script passed them (no shell reads them)."],
    cwd: ['The directory the start script runs it in (its `cd`), relative to this file.'],
    nodeArgs: ['Node.js options for each worker, as the start script gave them.'],
    instances: [
      'Workers, sharing the ports the app listens on: "max" is one per CPU clusterd may use',
      "(a container's CPU quota included); a number fixes it.",
    ],
    env: ["Set on the start script's command line; added to clusterd's own environment."],
    readiness: [
      'When a new worker counts as ready: "listening" once its server listens; "message" once it',
      'calls ready() from clusterd/worker (after its own start-up, a database connection say);',
      '"loaded" for a worker that serves no port (a queue consumer, a scheduler).',
    ],
    readyTimeout: ['A worker not ready by then is a failed start, restarted after a growing delay.'],
    timeout: ['How long a stopping worker gets to finish its requests before it is killed.'],
  };
}

// The settings left for the user to turn on, as comment lines (YAML syntax; TS turns them into its own).
const OPTIONAL_YAML = [
  "Variables for the workers, added to clusterd's own environment. The port needs none: the",
  'workers share the port the app listens on, from its own default or PORT in the environment.',
  'env:',
  '  LOG_LEVEL: info',
  'Overlays of env, chosen with: clusterd start --env production',
  'environments:',
  '  production:',
  '    NODE_ENV: production',
  'Replace a worker that should not go on, successor first, as a reload does (docs/guards.md).',
  'guards:',
  '  memory:',
  '    limit: 512MB      # RSS over which a worker is replaced',
  "    hardLimit: 768MB  # killed at once over this: keep it below the container's memory limit",
  '  heartbeat:',
  '    timeout: 30s      # replaced when its event loop has not answered for this long',
];
const HEALTH_YAML = [
  '/livez, /readyz and /metrics (Prometheus) for load balancers and Kubernetes (docs/health.md).',
  'health:',
  '  port: 9100',
];

// A YAML scalar: plain when YAML allows it, else JSON's double quotes (valid YAML too).
const yamlValue = (value: unknown): string =>
  typeof value === 'string' && !/\p{Cc}/u.test(value)
    ? stringify(value, { lineWidth: 0 }).trimEnd()
    : JSON.stringify(value);

// A flow sequence of double-quoted strings: a plain scalar would end at a comma.
const yamlList = (items: readonly string[]) => `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;

function renderYaml(app: StarterApp, c: Comments): string {
  const out: string[] = [...c.head.map((l) => `# ${l}`), `$schema: ${SCHEMA_REF}`, 'apps:'];
  const key = (indent: string, name: string, value: string, notes: string[]) =>
    out.push(...notes.map((l) => `${indent}# ${l}`), `${indent}${name}: ${value}`);
  out.push(`  - name: ${yamlValue(app.name)}`);
  const i = '    ';
  key(i, 'script', yamlValue(app.script), c.script);
  if (app.args) key(i, 'args', yamlList(app.args), c.args);
  if (app.cwd) key(i, 'cwd', yamlValue(app.cwd), c.cwd);
  if (app.nodeArgs) key(i, 'nodeArgs', yamlList(app.nodeArgs), c.nodeArgs);
  key(i, 'instances', yamlValue(BUILTIN_DEFAULTS.instances), c.instances);
  if (app.env) {
    out.push(...c.env.map((l) => `${i}# ${l}`), `${i}env:`);
    for (const [name, value] of Object.entries(app.env))
      out.push(`${i}  ${yamlValue(name)}: ${yamlValue(value)}`);
  }
  key(i, 'readiness', yamlValue(app.readiness ?? BUILTIN_DEFAULTS.readiness), c.readiness);
  key(i, 'readyTimeout', yamlValue(BUILTIN_DEFAULTS.readyTimeout), c.readyTimeout);
  out.push(`${i}shutdown:`);
  key(`${i}  `, 'timeout', yamlValue(BUILTIN_DEFAULTS.shutdown.timeout), c.timeout);
  out.push(...OPTIONAL_YAML.map((l) => `${i}# ${l}`), ...HEALTH_YAML.map((l) => `# ${l}`));
  return `${out.join('\n')}\n`;
}

// A TS string literal in single quotes, escaped as JSON escapes it.
const tsString = (text: string) =>
  `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
const tsValue = (value: unknown): string =>
  typeof value === 'string'
    ? tsString(value)
    : Array.isArray(value)
      ? `[${value.map(tsValue).join(', ')}]`
      : JSON.stringify(value);
const tsKey = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : tsString(name));

const OPTIONAL_TS = [
  ...OPTIONAL_YAML.slice(0, 2),
  "env: { LOG_LEVEL: 'info' },",
  OPTIONAL_YAML[4] as string,
  "environments: { production: { NODE_ENV: 'production' } },",
  OPTIONAL_YAML[8] as string,
  'guards: {',
  '  memory: {',
  "    limit: '512MB', // RSS over which a worker is replaced",
  "    hardLimit: '768MB', // killed at once over this: keep it below the container's memory limit",
  '  },',
  "  heartbeat: { timeout: '30s' }, // replaced when its event loop has not answered for this long",
  '},',
];

function renderTs(app: StarterApp, c: Comments): string {
  const out: string[] = [
    ...c.head.map((l) => `// ${l}`),
    "import { defineConfig } from 'clusterd';",
    '',
    'export default defineConfig({',
    '  apps: [',
    '    {',
  ];
  const key = (indent: string, name: string, value: unknown, notes: string[]) =>
    out.push(...notes.map((l) => `${indent}// ${l}`), `${indent}${name}: ${tsValue(value)},`);
  const i = '      ';
  out.push(`${i}name: ${tsValue(app.name)},`);
  key(i, 'script', app.script, c.script);
  if (app.args) key(i, 'args', app.args, c.args);
  if (app.cwd) key(i, 'cwd', app.cwd, c.cwd);
  if (app.nodeArgs) key(i, 'nodeArgs', app.nodeArgs, c.nodeArgs);
  key(i, 'instances', BUILTIN_DEFAULTS.instances, c.instances);
  if (app.env) {
    out.push(...c.env.map((l) => `${i}// ${l}`), `${i}env: {`);
    for (const [name, value] of Object.entries(app.env)) out.push(`${i}  ${tsKey(name)}: ${tsValue(value)},`);
    out.push(`${i}},`);
  }
  key(i, 'readiness', app.readiness ?? BUILTIN_DEFAULTS.readiness, c.readiness);
  key(i, 'readyTimeout', BUILTIN_DEFAULTS.readyTimeout, c.readyTimeout);
  out.push(`${i}shutdown: {`);
  key(`${i}  `, 'timeout', BUILTIN_DEFAULTS.shutdown.timeout, c.timeout);
  out.push(`${i}},`, ...OPTIONAL_TS.map((l) => `${i}// ${l}`), '    },', '  ],');
  out.push(`  // ${HEALTH_YAML[0]}`, '  // health: { port: 9100 },', '});');
  return `${out.join('\n')}\n`;
}

/** The text of the starter config file for `app` in `format`; `from` says where its script came from. */
export function renderStarter(
  app: StarterApp,
  format: OutputFormat,
  from: { source: string; command?: string | undefined },
): string {
  if (format === 'json') return `${JSON.stringify(starterConfig(app), null, 2)}\n`;
  const c = comments(app, from.source, from.command);
  return format === 'yaml' ? renderYaml(app, c) : renderTs(app, c);
}
