// Package bins, as launch.ts meets them in a command line: a bin that serves from its own process runs
// as its JavaScript file (`next start`: node_modules/next/dist/bin/next); a CLI known to spawn its server
// as a child maps to the child's file (`nest start`: dist/main.js; `nuxt start`: .output/server/index.mjs);
// a development server is no production entry at all.
import { posix } from 'node:path';
import { fail, isObject, type LaunchContext, type LaunchResult } from './launch-result.js';

/** Bins that are development servers: no production entry to run. */
const DEV_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  next: ['dev'],
  nuxt: ['dev'],
  nuxi: ['dev'],
  vite: ['', 'dev', 'serve'],
  astro: ['dev'],
  'react-scripts': ['start'],
  ng: ['serve'],
  remix: ['dev'],
  'react-router': ['dev'],
};

// A package's bin: its JavaScript file, unless it is a CLI known to run the server as a child.
export function resolveBin(name: string, args: string[], ctx: LaunchContext): LaunchResult {
  const sub = args[0] ?? '';
  if (DEV_COMMANDS[name]?.includes(sub.startsWith('-') ? '' : sub))
    return fail(
      `"${[name, ...args].join(' ')}" is a development server; run the production server (for example "${name} start" after a build)`,
    );
  if (name === 'nest') return nestStart(args, ctx);
  if ((name === 'nuxt' || name === 'nuxi') && ['start', 'preview'].includes(sub) && nuxtMajor(ctx) !== 2)
    return {
      ok: true,
      launch: {
        command: { env: {}, nodeArgs: [], script: '.output/server/index.mjs', args: [] },
        notes: [
          `"${name} ${sub}" runs the built server .output/server/index.mjs as a child process: clusterd runs that file itself (after nuxt build)`,
        ],
      },
    };
  const target = ctx.binTarget(name);
  if (target !== null) return binLaunch(name, target, args, []);
  const known = KNOWN_BINS[name];
  if (known)
    return binLaunch(name, known, args, [
      `${name} is not installed here: ${known} is where its package puts the bin (install the dependencies before clusterd start)`,
    ]);
  return fail(`it runs "${name}", which is no Node.js file nor a bin of this project's node_modules`, true);
}

/** Bins whose file is known without the package installed (stable across their releases). */
const KNOWN_BINS: Readonly<Record<string, string>> = {
  next: 'node_modules/next/dist/bin/next',
};

function binLaunch(name: string, file: string, args: string[], notes: string[]): LaunchResult {
  return {
    ok: true,
    launch: {
      command: { env: {}, nodeArgs: [], script: file, args },
      notes: [
        ...notes,
        `clusterd runs ${name}'s JavaScript file itself (${file}), which serves from its own process`,
      ],
    },
  };
}

function nuxtMajor(ctx: LaunchContext): number | null {
  const pkg = ctx.readJson('package.json');
  if (!isObject(pkg)) return null;
  for (const field of ['dependencies', 'devDependencies']) {
    const deps = pkg[field];
    const range = isObject(deps) ? deps.nuxt : undefined;
    const m = typeof range === 'string' ? /(\d+)/.exec(range) : null;
    if (m) return Number(m[1]);
  }
  return null;
}

// `nest start` builds, then runs `node <outDir>/<sourceRoot>/<entryFile>.js` (or <outDir>/<entryFile>.js)
// as a child process (@nestjs/cli actions/start.action.ts).
function nestStart(args: string[], ctx: LaunchContext): LaunchResult {
  if (args[0] !== 'start') return fail(`"nest ${args.join(' ')}" starts no server`);
  if (args.some((a) => /^(-w|--watch|-d|--debug)$/.test(a)))
    return fail(
      '"nest start --watch" is a development server; run the built app (nest build, then node dist/main)',
    );
  const cli = ctx.readJson('nest-cli.json');
  const conf = isObject(cli) ? cli : {};
  const sourceRoot = typeof conf.sourceRoot === 'string' ? conf.sourceRoot : 'src';
  const entryFile = typeof conf.entryFile === 'string' ? conf.entryFile : 'main';
  const outDir = tsOutDir(ctx) ?? 'dist';
  const nested = posix.join(outDir, sourceRoot, `${entryFile}.js`);
  const flat = posix.join(outDir, `${entryFile}.js`);
  const script = ctx.isFile(nested) ? nested : flat;
  const rest = args.slice(1).filter((a) => !a.startsWith('-'));
  return {
    ok: true,
    launch: {
      command: { env: {}, nodeArgs: [], script, args: rest },
      notes: [
        `"nest start" compiles, then runs node ${script} as a child process: clusterd runs ${script} itself (run nest build first)`,
      ],
    },
  };
}

function tsOutDir(ctx: LaunchContext): string | null {
  for (const file of ['tsconfig.build.json', 'tsconfig.json']) {
    const conf = ctx.readJson(file);
    const options = isObject(conf) && isObject(conf.compilerOptions) ? conf.compilerOptions : null;
    if (options && typeof options.outDir === 'string')
      return posix.normalize(options.outDir).replace(/\/$/, '');
  }
  return null;
}
