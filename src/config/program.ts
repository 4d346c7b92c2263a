// An app that is not Node.js (`command`): its executable found when the config loads, the settings that
// mean something only to node:cluster refused when the app sets them (and ignored when they come from
// `defaults`), its readiness and its listen socket. See docs/programs.md.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { ErrorCode } from '../errors.js';
import { clip } from './display.js';
import type {
  ResolvedApp,
  ResolvedListen,
  ResolvedProbe,
  ResolvedProgram,
  ResolvedReadiness,
  ResolvedRunAs,
} from './resolved.js';
import type { SchemaIssue } from './schema-issues.js';
import type { App, Readiness } from './types.generated.js';
import { formatDuration } from './units.js';

type Report = (code: SchemaIssue['code'], pointer: string, message: string, hint?: string) => void;

/** Keys of an app that only a Node.js app (node:cluster) takes; a program that sets one is refused. */
const NODE_ONLY: Record<string, string> = {
  nodeArgs: "they are options of Node.js; a program's options go in its command",
  balancing:
    "balancing is node:cluster's; a program's instances accept connections themselves (on the `listen` socket they share, the kernel spreads them)",
  stickyHeader: "balancing is node:cluster's; a program's instances accept connections themselves",
  serialization: 'it encodes the IPC channel of Node.js workers; a program has none',
  compileCache: "it is Node.js's module compile cache; a program compiles (or not) by itself",
  requestMetrics:
    "they are counted by clusterd's code inside a Node.js worker, which a program does not run; count them in the program, or in a proxy in front of it",
};

/** Why a file cannot be run, or null. */
export type Runnable = (file: string, runAs: ResolvedRunAs | null) => string | null;

/** The system's answer: a regular file that the supervisor (or the app's user, by its mode) may execute. */
export const runnable: Runnable = (file, runAs) => {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : `cannot be read (${code})`;
  }
  if (!stats.isFile()) return 'is not a regular file';
  if (runAs) {
    // The mode as the app's user sees it (root's own permissions do not count for it).
    const mode = Number(stats.mode);
    const bit = runAs.uid === Number(stats.uid) ? 0o100 : runAs.gid === Number(stats.gid) ? 0o010 : 0o001;
    return mode & bit ? null : `is not executable by the app's user (mode ${(mode & 0o777).toString(8)})`;
  }
  try {
    accessSync(file, constants.X_OK);
    return null;
  } catch {
    return 'is not executable';
  }
};

/** Finds the executable a command's first element names; `searched` says where it looked. */
export function findExecutable(
  name: string,
  options: { cwd: string; path: string; runAs: ResolvedRunAs | null; runnable?: Runnable },
): { file: string } | { problem: string } {
  const check = options.runnable ?? runnable;
  if (name.includes('/')) {
    const file = isAbsolute(name) ? name : resolve(options.cwd, name);
    const problem = check(file, options.runAs);
    return problem ? { problem: `${clip(file)} ${problem}` } : { file };
  }
  const dirs = options.path.split(delimiter).filter((d) => d !== '');
  // A relative PATH entry would make the program depend on the supervisor's working directory.
  for (const dir of dirs.filter(isAbsolute)) {
    const file = resolve(dir, name);
    if (check(file, options.runAs) === null) return { file };
  }
  return {
    problem: `"${clip(name)}" is not an executable file in any directory of PATH (searched ${clip(dirs.filter(isAbsolute).join(delimiter) || '(empty)')})`,
  };
}

export interface ProgramSettings {
  program: ResolvedProgram;
  readiness: ResolvedReadiness;
  probe: ResolvedProbe | null;
  instances: number | 'max';
}

/**
 * The program of an app with `command`: null (and issues reported) when it cannot run. `path` is the
 * PATH its instances get (the app's `env.PATH`, else the supervisor's).
 */
export function resolveProgram(
  app: App,
  index: number,
  options: {
    cwd: string;
    path: string;
    runAs: ResolvedRunAs | null;
    probeInterval: () => number;
    report: Report;
    runnable?: Runnable;
    /** Readiness `port` reads /proc (Linux). */
    platform?: NodeJS.Platform;
  },
): ProgramSettings | null {
  const at = `/apps/${index}`;
  const { report } = options;
  const command = app.command ?? [];
  let ok = true;
  if (app.script !== undefined) {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/command`,
      'an app runs a Node.js script or a command, not both',
      'keep "script" for a Node.js app, or "command" (with the interpreter first: ["python3", "app.py"]) for any other program',
    );
    ok = false;
  }
  if (app.args !== undefined) {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/args`,
      'with "command", the arguments are part of the command',
      `move them to the end of "command": ${clip(JSON.stringify([...command, ...app.args]))}`,
    );
    ok = false;
  }
  for (const [key, why] of Object.entries(NODE_ONLY)) {
    if (Object.hasOwn(app, key)) {
      report(
        ErrorCode.CONFIG_UNSUPPORTED,
        `${at}/${key}`,
        `"${key}" is for Node.js apps: ${why}`,
        `remove "${key}"`,
      );
      ok = false;
    }
  }
  const heartbeat = (app.guards as { heartbeat?: { timeout?: unknown } } | undefined)?.heartbeat;
  if (heartbeat?.timeout !== undefined && heartbeat.timeout !== null) {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/guards/heartbeat`,
      "the heartbeat guard is for Node.js apps: it is answered by clusterd's code inside a Node.js worker, which a program does not run",
      'remove guards.heartbeat; the memory and recycle guards work for programs',
    );
    ok = false;
  }
  const first = command[0] ?? '';
  if (first.trim() === '') {
    report(
      ErrorCode.CONFIG_RANGE,
      `${at}/command/0`,
      'the command to run is empty',
      'name the program first: ["python3", "app.py"]',
    );
    return null;
  }
  const found = findExecutable(first, options);
  if ('problem' in found) {
    report(
      ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
      `${at}/command/0`,
      found.problem,
      first.includes('/')
        ? 'a path in "command" is relative to the app\'s cwd'
        : "install it, give its absolute path, or set PATH in the app's env",
    );
    ok = false;
  }
  const listen = resolveListen(app);
  const readiness = programReadiness(app, at, listen !== null, options);
  if (readiness?.probe && 'command' in readiness.probe) {
    const probe = findExecutable(readiness.probe.command[0] ?? '', options);
    if ('problem' in probe) {
      report(
        ErrorCode.CONFIG_SCRIPT_NOT_FOUND,
        `${at}/readiness/command/0`,
        `the readiness probe: ${probe.problem}`,
        'a probe that cannot run never succeeds: every start would fail at readyTimeout',
      );
      ok = false;
    }
  }
  if (!readiness) ok = false;
  if (!ok || 'problem' in found || !readiness) return null;
  return {
    program: { command: [...command], file: found.file, listen },
    ...readiness,
    instances: app.instances ?? 1,
  };
}

function resolveListen(app: App): ResolvedListen | null {
  if (!app.listen) return null;
  return { host: app.listen.host ?? null, port: app.listen.port, name: app.listen.name ?? app.name };
}

// A program's own readiness, or its default (`port` with a listen socket, else `loaded`);
// `defaults.readiness` is for Node.js apps.
function programReadiness(
  app: App,
  at: string,
  listens: boolean,
  options: { probeInterval: () => number; report: Report; platform?: NodeJS.Platform },
): { readiness: ResolvedReadiness; probe: ResolvedProbe | null } | null {
  const own: Readiness | undefined = app.readiness;
  const proc = (options.platform ?? process.platform) === 'linux';
  if (own === undefined) return { readiness: listens && proc ? 'port' : 'loaded', probe: null };
  if (own === 'port' && !proc) {
    options.report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/readiness`,
      `readiness "port" reads which process accepted a connection from /proc, which ${options.platform ?? process.platform} does not have`,
      'use "loaded", or a probe: { "command": [...] } or { "http": url }',
    );
    return null;
  }
  if (typeof own === 'object') {
    const interval = options.probeInterval();
    return 'http' in own
      ? { readiness: 'probe', probe: { http: own.http, interval } }
      : { readiness: 'probe', probe: { command: [...own.command], interval } };
  }
  if (own === 'listening' || own === 'message') {
    options.report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/readiness`,
      `readiness "${own}" is for Node.js apps (it is told by clusterd's code inside a Node.js worker)`,
      listens
        ? 'use "port" (the default with "listen"), or a probe: { "http": "http://127.0.0.1:8000/health" }'
        : 'use "loaded" (alive for readySettle), or a probe: { "command": [...] } or { "http": url }',
    );
    return null;
  }
  if (own === 'port' && !listens) {
    options.report(
      ErrorCode.CONFIG_UNSUPPORTED,
      `${at}/readiness`,
      'readiness "port" needs "listen": it waits for the instance to accept a connection on the port clusterd listens on for it',
      'add "listen": { "port": 8000 }, or use a probe: { "http": "http://127.0.0.1:8000/health" }',
    );
    return null;
  }
  return { readiness: own, probe: null };
}

/** What normalize.ts gives `appKind`: the app's resolved surroundings and its reporting. */
export interface KindContext {
  cwd: string;
  env: Readonly<Record<string, string | null>>;
  runAs: ResolvedRunAs | null;
  /** The readiness after inheritance from `defaults` (a Node.js app's). */
  readiness: Readiness;
  /** The supervisor's PATH. */
  path: string;
  runnable: Runnable;
  platform: NodeJS.Platform;
  origin(path: string[]): string;
  duration(path: string[], options?: { positive?: boolean }): number;
  report: Report;
}

export type AppKind = Pick<ResolvedApp, 'program' | 'script' | 'args' | 'readiness' | 'probe'> & {
  /** A program's own instances (its value or 1); null: the inherited setting applies. */
  instances: number | 'max' | null;
};

/** A Node.js app (`script`) or a program (`command`), and what differs between the two. */
export function appKind(app: App, index: number, ctx: KindContext): AppKind {
  const at = `/apps/${index}`;
  const missing = {
    program: null,
    script: '',
    args: [],
    readiness: 'loaded' as const,
    probe: null,
    instances: null,
  };
  if (app.command === undefined) {
    if (app.script === undefined) {
      ctx.report(
        ErrorCode.CONFIG_MISSING_KEY,
        at,
        `app ${app.name} has neither "script" (a Node.js app) nor "command" (any other program)`,
        'add "script": "server.js", or "command": ["python3", "app.py"]',
      );
      return missing;
    }
    const node = { script: resolve(ctx.cwd, app.script), args: app.args ?? [] };
    if (app.listen !== undefined)
      ctx.report(
        ErrorCode.CONFIG_UNSUPPORTED,
        `${at}/listen`,
        '"listen" is for programs ("command"): a Node.js app listens itself, and node:cluster shares its port',
        'remove "listen"',
      );
    const readiness = ctx.readiness;
    if (typeof readiness === 'object' || readiness === 'port') {
      ctx.report(
        ErrorCode.CONFIG_UNSUPPORTED,
        ctx.origin(['readiness']),
        `readiness ${JSON.stringify(readiness)} is for programs ("command"); a Node.js app is ready when it listens, says so, or has loaded`,
        'use "listening", "message" or "loaded"',
      );
      return { ...missing, ...node };
    }
    return { ...missing, ...node, readiness };
  }
  const path = Object.hasOwn(ctx.env, 'PATH') && ctx.env.PATH !== null ? ctx.env.PATH : ctx.path;
  const program = resolveProgram(app, index, {
    cwd: ctx.cwd,
    path: path ?? '',
    runAs: ctx.runAs,
    // The app's own probe's interval (a program takes no readiness from `defaults`).
    probeInterval: () => {
      const own = app.readiness as { interval?: unknown } | undefined;
      return own?.interval === undefined ? 500 : ctx.duration(['readiness', 'interval'], { positive: true });
    },
    report: ctx.report,
    runnable: ctx.runnable,
    platform: ctx.platform,
  });
  if (!program) return missing;
  return {
    program: program.program,
    script: program.program.file,
    args: program.program.command.slice(1),
    readiness: program.readiness,
    probe: program.probe,
    instances: program.instances,
  };
}

/** A program ready once it has run readySettle must get there before readyTimeout fails its start. */
export function settleWithinTimeout(app: ResolvedApp, pointer: string, report: Report): void {
  if (app.program === null || app.readiness !== 'loaded' || app.readySettle < app.readyTimeout) return;
  report(
    ErrorCode.CONFIG_RANGE,
    pointer,
    `must be shorter than readyTimeout (${formatDuration(app.readySettle)} >= ${formatDuration(app.readyTimeout)}): a program is ready once it has run readySettle, and not ready within readyTimeout is a failed start`,
  );
}
