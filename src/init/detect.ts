// What `clusterd init` writes for a project: the app's name and the Node.js file it runs, read from
// package.json the way npm would start it. Pure: the project comes in as plain values, so every rule is
// unit-tested without a disk.

import { clusterdName } from '../import/pm2/map-name.js';
import { packageScript } from '../import/pm2/npm.js';
import { mainCandidates, type PackageJson, packageEntry } from '../import/pm2/project.js';

export interface Project {
  /** package.json, or null when there is none (or it is not a JSON object). */
  pkg: PackageJson | null;
  /** The directory's own name, for a project whose package.json has no usable name. */
  dirName: string;
  /** Whether a regular file exists at a path relative to the project directory. */
  isFile: (file: string) => boolean;
  /** A JSON file of the project (nest-cli.json, tsconfig.json), or null; default: none. */
  readJson?: (file: string) => unknown;
  /** The JavaScript file node_modules/.bin/<bin> runs, relative to the project; default: none installed. */
  binTarget?: (bin: string) => string | null;
}

/** What the user asked for on the command line; each wins over what package.json says. */
export interface Wanted {
  name?: string | undefined;
  script?: string | undefined;
}

export interface StarterApp {
  name: string;
  script: string;
  nodeArgs?: string[];
  args?: string[];
  /** Variables the start script sets on its command line (`NODE_ENV=production node server.js`). */
  env?: Record<string, string>;
  /** Where a `cd dir && ...` start script runs it, relative to the project. */
  cwd?: string;
  /** "loaded" for an app that serves no port (a queue consumer); the default otherwise. */
  readiness?: 'loaded';
}

export type Detection =
  | {
      ok: true;
      app: StarterApp;
      /** Where `script` came from, for the summary and a comment in the file. */
      source: string;
      /** The command line it was read from, if any. */
      command?: string;
      /** What the user should know: a start script clusterd does not run the same way, hooks. */
      notes: string[];
    }
  | { ok: false; reasons: string[] };

/** A name the schema accepts for an app (its pattern and maxLength). */
export const isAppName = (name: string) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);

/**
 * The app's name: package.json's name without its scope (`@acme/api` is `api`: what `clusterd reload`
 * is typed with), else the directory's, made into a name clusterd accepts.
 */
export function appName(pkg: PackageJson | null, dirName: string): string {
  const wanted = typeof pkg?.name === 'string' && pkg.name.trim() ? pkg.name : dirName;
  return clusterdName(wanted.replace(/^@[^/]*\//, ''), new Set());
}

type Script = { app: Omit<StarterApp, 'name'>; source: string; command?: string; notes: string[] };

// npm start, as npm runs it: the "start" script, or `node server.js` when there is none and server.js exists.
function fromStart(pkg: PackageJson, project: Project): Script | string {
  const { isFile, readJson, binTarget } = project;
  const resolved = packageScript(
    pkg,
    { name: 'start', extra: [] },
    {
      runner: 'npm',
      shown: 'npm start',
      isFile,
      readJson: (file) => (file === 'package.json' ? pkg : (readJson?.(file) ?? null)),
      ...(binTarget ? { binTarget } : {}),
    },
  );
  if (!resolved.ok) return resolved.reason;
  const { env, nodeArgs, script, args } = resolved.command;
  const notes = resolved.notes.map((note) =>
    note.startsWith('its ')
      ? `package.json's "start" script: ${note} under clusterd; run it yourself before clusterd start`
      : `package.json's "start" script: ${note}`,
  );
  // `node .` runs the package's main.
  const file = script === '.' || script === './' ? packageEntry(pkg.main, isFile) : script;
  if (file === null)
    return `package.json's "start" script "${resolved.line}" runs the package, which has no main file`;
  if (/(^|[\s/=])tsx(\s|$)/.test(resolved.line))
    notes.push(
      'tsx runs in the workers as node --import tsx, so tsx must stay installed; in production, run the built JavaScript',
    );
  return {
    app: {
      script: file,
      ...(nodeArgs.length ? { nodeArgs } : {}),
      ...(args.length ? { args } : {}),
      ...(Object.keys(env).length ? { env } : {}),
      ...(resolved.cwd ? { cwd: resolved.cwd } : {}),
    },
    source: `package.json's "start" script`,
    command: resolved.line,
    notes,
  };
}

// package.json's main, else Node's index.js. A main that is not there yet (`dist/index.js`, before a
// build) is taken as written, unless a start script runs something else: then it may be stale (npm
// init writes "main": "index.js" into every package) and nothing is sure enough to write.
function fromMain(pkg: PackageJson, isFile: Project['isFile'], hasStart: boolean): Script | string {
  const main = typeof pkg.main === 'string' && pkg.main.trim() ? pkg.main : null;
  if (main) {
    const entry = mainCandidates(main).find(isFile);
    if (entry || !hasStart)
      return { app: { script: entry ?? main }, source: `package.json's "main"`, notes: [] };
    return `package.json's "main" is ${JSON.stringify(main)}, which does not exist`;
  }
  const entry = packageEntry(null, isFile);
  if (entry)
    return {
      app: { script: entry },
      source: `${entry}, which Node.js runs for a package without "main"`,
      notes: [],
    };
  return 'package.json has no "main", and there is no index.js';
}

/** The starter app for `project`: `wanted` first, then npm's start script, then main, then index.js. */
export function detectApp(project: Project, wanted: Wanted = {}): Detection {
  const name = wanted.name ?? appName(project.pkg, project.dirName);
  if (wanted.script !== undefined)
    return { ok: true, app: { name, script: wanted.script }, source: '--script', notes: [] };
  if (!project.pkg) return { ok: false, reasons: ['there is no package.json'] };
  const start = fromStart(project.pkg, project);
  const idle = servesNoPort(project.pkg);
  const readiness = idle ? { readiness: 'loaded' as const } : {};
  const idleNotes = idle
    ? [
        `readiness "loaded": package.json has ${idle} and no HTTP server, so the app looks like a worker that serves no port (a worker that never listens would be a failed start); set readiness to "listening" if it serves one`,
      ]
    : [];
  if (typeof start !== 'string')
    return {
      ok: true,
      ...start,
      app: { name, ...start.app, ...readiness },
      notes: [...start.notes, ...idleNotes],
    };
  // A start script that exists but is not run as written (`next start`) is worth a word.
  const hasStart = typeof project.pkg.scripts?.start === 'string';
  const main = fromMain(project.pkg, project.isFile, hasStart);
  if (typeof main === 'string') return { ok: false, reasons: [start, main] };
  const skipped = hasStart ? [`${start}; used ${main.app.script} instead`] : [];
  return {
    ok: true,
    app: { name, ...main.app, ...readiness },
    source: main.source,
    notes: [...skipped, ...idleNotes],
  };
}

// Dependencies that serve HTTP (or WebSockets) themselves, and ones of apps that serve nothing.
const SERVERS = [
  'express',
  'fastify',
  'koa',
  '@hapi/hapi',
  'hapi',
  'restify',
  'next',
  'nuxt',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  'socket.io',
  'ws',
  'polka',
  'h3',
  'hono',
  '@hono/node-server',
  '@remix-run/serve',
  '@react-router/serve',
  'astro',
  'vite',
  'serve',
  'apollo-server',
  '@apollo/server',
  'graphql-yoga',
  'sails',
  'micro',
  '@feathersjs/feathers',
  '@strapi/strapi',
  'json-server',
  'uWebSockets.js',
  'connect',
  'http-proxy',
];
const IDLE = [
  'bullmq',
  'bull',
  'bee-queue',
  'agenda',
  'node-cron',
  'cron',
  'node-schedule',
  'kafkajs',
  'amqplib',
  'amqp-connection-manager',
  'discord.js',
  'telegraf',
  'node-telegram-bot-api',
  'grammy',
  'sqs-consumer',
  '@google-cloud/pubsub',
  'nats',
  'mqtt',
  'pg-boss',
  'graphile-worker',
];

/** The dependency that makes the app look like one that serves no port (and none that serves), or null. */
export function servesNoPort(pkg: PackageJson): string | null {
  const record = pkg as Record<string, unknown>;
  const deps = new Set<string>();
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const v = record[field];
    if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) deps.add(k);
  }
  if (SERVERS.some((d) => deps.has(d))) return null;
  return IDLE.find((d) => deps.has(d)) ?? null;
}
