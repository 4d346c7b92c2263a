// What runs: the app's name, its script (a file, a directory, `npm start`, a command line), the
// interpreter, its arguments, Node.js's options and the working directory. An app that does not run on
// Node.js is dropped here, with the reason.
import { basename, extname, join, resolve } from 'node:path';
import type { Found } from './catalogue.js';
import {
  chdir,
  isNodeProgram,
  type Launch,
  type LaunchContext,
  type LaunchResult,
  LOADERS,
  packageRunner,
  resolveLine,
  resolveWords,
  scriptTarget,
} from './launch.js';
import type { AppMapping } from './mapping.js';
import { resolvePackageScript } from './npm.js';
import { directoryEntry, looksBinary, pathKind, projectContext, readHead } from './project.js';
import { argList, shownValue } from './values.js';

const NOT_NODE =
  'clusterd runs Node.js apps only: keep this app under PM2, or give it a systemd unit or a container';

// The interpreters PM2 picks by extension when none is given (lib/API/interpreter.json), besides node.
const BY_EXTENSION: Record<string, string> = {
  '.sh': 'bash',
  '.py': 'python',
  '.rb': 'ruby',
  '.php': 'php',
  '.pl': 'perl',
  '.coffee': 'coffee',
  '.ls': 'lsc',
  '.tsx': 'bun',
};
const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A name clusterd accepts, as close to PM2's as it can be; `taken` (lower case) is avoided. */
export function clusterdName(name: string, taken: ReadonlySet<string>): string {
  const clean =
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'app';
  let unique = clean;
  for (let n = 2; taken.has(unique.toLowerCase()); n += 1) unique = `${clean}-${n}`;
  return unique;
}

// PM2's default name: the script's file name without its extension.
const defaultName = (script: unknown) => {
  const base = typeof script === 'string' ? basename(script) : 'app';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
};

function mapName(m: AppMapping, taken: ReadonlySet<string>) {
  const found = m.take('name');
  const wanted = found === undefined ? defaultName(m.peek('script')?.value) : String(found.value);
  m.name = clusterdName(wanted, taken);
  m.draft.name = m.name;
  if (!found) m.mapped('(name not set)', 'name', `PM2's default, from the script's file name`);
  else if (m.name === wanted && NAME.test(wanted)) m.mapped(found, 'name');
  else
    m.changed(
      found,
      'name',
      `renamed from ${shownValue(wanted)}: clusterd names are unique (ignoring case), up to 64 letters, digits, ".", "_" and "-"`,
    );
}

type Interpreter = 'node' | 'other-node' | 'bun' | 'loader' | 'npx' | 'none' | 'other';

function interpreterKind(value: string): Interpreter {
  if (value === 'node' || value === 'nodejs') return 'node';
  if (value === 'none') return 'none';
  if (/^node@/.test(value) || /(^|\/)node(js)?(\.exe)?$/.test(value)) return 'other-node';
  if (/(^|\/)bun$/.test(value)) return 'bun';
  if (LOADERS[basename(value)]) return 'loader';
  if (/^(npx|pnpx|bunx)$/.test(basename(value))) return 'npx';
  return 'other';
}

// The interpreter's verdict; the Node.js options it stands for (a loader), or null when the app is dropped.
function mapInterpreter(m: AppMapping, found: Found | undefined): Interpreter | null {
  if (!found) return 'node';
  const value = typeof found.value === 'string' ? found.value : '';
  const kind = interpreterKind(value);
  switch (kind) {
    case 'node':
      m.mapped(found, '', 'workers run on the Node.js that runs clusterd');
      break;
    case 'other-node':
      m.changed(found, '', `workers run on the Node.js that runs clusterd, not on ${shownValue(value)}`);
      break;
    case 'bun':
      m.changed(found, '', 'workers run on Node.js, not Bun: check that the app uses no Bun APIs');
      break;
    case 'loader': {
      const loader = LOADERS[basename(value)] as readonly string[];
      m.draft.nodeArgs = [...loader, ...(m.draft.nodeArgs ?? [])];
      m.changed(
        found,
        'nodeArgs',
        `${basename(value)} runs the file in Node.js with its loader: node ${loader.join(' ')} (keep ${loaderPackage(loader)} installed)`,
      );
      break;
    }
    case 'npx': {
      // `interpreter: 'npx', interpreter_args: 'tsx'`: PM2 runs npx tsx <script>.
      const [first, ...rest] = m.draft.nodeArgs ?? [];
      const loader = first === undefined ? undefined : LOADERS[first];
      if (!loader) {
        m.drop(
          found,
          `npx runs ${shownValue(first ?? '')} here, not a loader clusterd knows (tsx, ts-node): ${NOT_NODE}`,
        );
        return null;
      }
      m.draft.nodeArgs = [...loader, ...rest];
      m.changed(
        found,
        'nodeArgs',
        `npx ${first} runs the file in Node.js with its loader: node ${loader.join(' ')} (keep ${loaderPackage(loader)} installed)`,
      );
      break;
    }
    case 'none':
      m.changed(found, '', 'PM2 runs the script as a program; clusterd runs the Node.js file it leads to');
      break;
    default:
      m.drop(found, `its interpreter is ${shownValue(found.value)}: ${NOT_NODE}`);
      return null;
  }
  return kind;
}

const loaderPackage = (loader: readonly string[]) => (loader[1] ?? '').split('/')[0] ?? '';

// The project the app's scripts are read from: its cwd, or, where that does not exist on this machine
// (a deploy path such as /var/www/app), the project the ecosystem file sits in.
function context(m: AppMapping): { ctx: LaunchContext; standIn: string | null } {
  if (pathKind(m.dir) === 'directory') return { ctx: projectContext(m.dir), standIn: null };
  return { ctx: projectContext(m.root), standIn: m.root };
}

// A launch (from npm, a command line, a bin) becomes the app's script, arguments, options and env.
function applyLaunch(m: AppMapping, launch: Launch) {
  const { command } = launch;
  m.draft.script = command.script;
  if (command.args.length) m.draft.args = command.args;
  if (command.nodeArgs.length) m.draft.nodeArgs = [...(m.draft.nodeArgs ?? []), ...command.nodeArgs];
  if (Object.keys(command.env).length) m.draft.env = { ...command.env };
  if (launch.cwd) m.draft.cwd = chdir(m.draft.cwd ?? '.', launch.cwd);
}

// Whatever PM2 runs as a program (npm, node, a bin, a command line): followed to its Node.js file.
function mapLaunch(
  m: AppMapping,
  found: Found,
  result: LaunchResult,
  how: string,
  argsFound: Found | undefined,
  argsNote: string,
) {
  const { standIn } = context(m);
  if (!result.ok) {
    const why = `${how}, and ${result.reason}`;
    return m.drop(
      found,
      result.notNode ? `${why}: ${NOT_NODE}` : `${why}; set script to the Node.js file that serves`,
    );
  }
  applyLaunch(m, result.launch);
  const notes = [...result.launch.notes];
  if (standIn) notes.push(`read from ${standIn}, as the cwd ${m.draft.cwd} does not exist here`);
  const [first, ...others] = notes;
  const lead = first?.startsWith('without ') ? `, ${first}` : '';
  const rest = lead ? others : notes;
  m.changed(
    found,
    'script, args',
    `${how}: clusterd runs ${result.launch.command.script} itself${lead}${rest.length ? `; ${rest.join('; ')}` : ''}`,
  );
  if (argsFound) m.changed(argsFound, argsNote ? 'args' : '', argsNote || 'part of the command above');
}

// A TypeScript file without an interpreter: PM2 runs it with Bun. The project's own loader when it has
// one; Node.js's type stripping otherwise, which cannot run code that needs a transform (decorators).
function typescriptLoader(ctx: LaunchContext): readonly string[] | null {
  const pkg = ctx.readJson('package.json');
  const deps = (field: string) => {
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>)[field] : null;
    return typeof v === 'object' && v !== null ? Object.keys(v) : [];
  };
  const all = new Set([...deps('dependencies'), ...deps('devDependencies')]);
  if (all.has('tsx')) return LOADERS.tsx as readonly string[];
  if (all.has('ts-node')) return LOADERS['ts-node'] as readonly string[];
  return null;
}

function needsTransform(ctx: LaunchContext): boolean {
  const conf = ctx.readJson('tsconfig.json');
  const options =
    typeof conf === 'object' && conf !== null
      ? (conf as { compilerOptions?: Record<string, unknown> }).compilerOptions
      : undefined;
  return options?.experimentalDecorators === true || options?.emitDecoratorMetadata === true;
}

// A script that is a file (or a directory Node.js resolves to one), and the interpreter PM2 picks for it.
function mapFile(m: AppMapping, found: Found, script: string, interpreter: Interpreter) {
  const file = resolve(m.dir, script);
  const kind = pathKind(file);
  let entry = script;
  let note = '';
  if (kind === 'directory') {
    const index = directoryEntry(file);
    if (!index)
      return m.drop(found, `${script} is a directory with neither a package.json "main" nor an index.js`);
    entry = join(script, index);
    note = `a directory: clusterd runs the file Node.js would, ${index}`;
  }
  m.draft.script = entry;
  const ext = extname(entry);
  const explicit = interpreter !== 'node' || m.peek('exec_interpreter') !== undefined;
  if (!explicit && BY_EXTENSION[ext])
    return m.drop(found, `PM2 runs a ${ext} file with ${BY_EXTENSION[ext]}: ${NOT_NODE}`);
  if ((!explicit || interpreter === 'none') && ext === '' && kind === 'file' && looksBinary(file))
    return m.drop(found, `${script} is a binary (PM2 runs it with interpreter "none"): ${NOT_NODE}`);
  if (!explicit && TYPESCRIPT.has(ext)) {
    const { ctx } = context(m);
    const loader = typescriptLoader(ctx);
    if (loader) {
      m.draft.nodeArgs = [...loader, ...(m.draft.nodeArgs ?? [])];
      return m.changed(
        found,
        'script, nodeArgs',
        `PM2 runs TypeScript with Bun; clusterd runs it with the project's own ${loaderPackage(loader)}: node ${loader.join(' ')}`,
      );
    }
    if (needsTransform(ctx))
      return m.unsupported(
        found,
        `PM2 runs TypeScript with Bun; Node.js's type stripping cannot run this project's decorators (tsconfig experimentalDecorators): install tsx and add nodeArgs ["--import", "tsx"], or run the built JavaScript`,
      );
    note = `PM2 runs TypeScript with Bun; clusterd runs it on Node.js, which strips the types (Node.js 22.18 and later; no decorators, enums or parameter properties)${note ? `; ${note}` : ''}`;
  }
  if (note) m.changed(found, 'script', note);
  else m.mapped(found, 'script');
}

// node_modules/.bin/<bin> as a script: the bin's JavaScript file (pnpm's .bin holds shell scripts).
const BIN_PATH = /(^|\/)node_modules\/\.bin\/([^/]+)$/;

function mapScript(m: AppMapping, args: string[] | null, argsFound: Found | undefined) {
  const found = m.take('script');
  const interpreterFound = m.take('exec_interpreter');
  if (!found) return m.drop('(script not set)', 'an app needs a script; PM2 refuses it too');
  if (typeof found.value !== 'string' || found.value === '')
    return m.drop(found, `${shownValue(found.value)} is not a path; PM2 refuses it too`);
  const script = found.value;
  // `interpreter: 'bash'` with `script: 'pnpm'`: bash runs the package manager's own script.
  const shell =
    typeof interpreterFound?.value === 'string' && /^(ba|da|z)?sh$/.test(basename(interpreterFound.value));
  const runsProgram = shell && (packageRunner(script) !== null || isNodeProgram(script.split(' ')[0] ?? ''));
  if (runsProgram && interpreterFound)
    m.changed(
      interpreterFound,
      '',
      `${basename(String(interpreterFound.value))} runs ${basename(script)} as a program; clusterd runs the Node.js file it leads to`,
    );
  const interpreter = runsProgram ? 'none' : mapInterpreter(m, interpreterFound);
  if (interpreter === null) return;
  const { ctx } = context(m);
  const kind = pathKind(resolve(m.dir, script));
  const words = [script, ...(args ?? [])];
  // PM2 runs a script with a space through `bash -c`, in place of its args.
  if (script.includes(' ') && kind !== 'file') {
    const result = resolveLine(script, ctx);
    return mapLaunch(
      m,
      found,
      result,
      'a command line PM2 runs with bash',
      argsFound,
      argsFound ? 'ignored: PM2 ignores args when script is a command line' : '',
    );
  }
  const runner = packageRunner(script);
  if (runner && kind !== 'file' && scriptTarget(runner, args ?? [])) {
    const resolved = resolvePackageScript(ctx, runner, args ?? []);
    const result: LaunchResult = resolved.ok
      ? {
          ok: true,
          launch: {
            command: resolved.command,
            notes: [`without ${runner}`, ...resolved.notes],
            ...(resolved.cwd ? { cwd: resolved.cwd } : {}),
          },
        }
      : resolved;
    const how = resolved.ok
      ? `${runner} runs package.json's "${resolved.line}"`
      : `PM2 runs ${[runner, ...(args ?? [])].join(' ')}`;
    return mapLaunch(
      m,
      found,
      result,
      how,
      argsFound,
      'picked the package.json script; what follows it became args',
    );
  }
  if (runner && kind !== 'file')
    return mapLaunch(m, found, resolveWords(words, {}, ctx), `PM2 runs ${words.join(' ')}`, argsFound, '');
  const bin = BIN_PATH.exec(script);
  if (bin || (kind === 'missing' && !script.includes('/') && extname(script) === '')) {
    if (script === 'serve' && !bin) return m.drop(found, `"serve" is PM2's static file server: ${NOT_NODE}`);
    const result = resolveWords(bin ? [bin[2] as string, ...(args ?? [])] : words, {}, ctx);
    const how = bin
      ? `${script} is ${bin[2]}'s bin`
      : `"${script}" is no file in ${m.dir}, so PM2 runs it as a program from PATH`;
    return mapLaunch(m, found, result, how, argsFound, '');
  }
  if (
    interpreter === 'none' &&
    kind === 'file' &&
    !looksBinary(resolve(m.dir, script)) &&
    !isNodeFile(resolve(m.dir, script))
  )
    return m.drop(
      found,
      `PM2 runs ${script} as a program (interpreter "none"), and it is no Node.js file: ${NOT_NODE}`,
    );
  mapFile(m, found, script, interpreter);
  if (argsFound && args) {
    m.draft.args = args;
    m.mapped(
      argsFound,
      'args',
      typeof argsFound.value === 'string' ? 'split into words as PM2 splits them' : '',
    );
  }
}

// A file run as a program is Node.js when it is JavaScript by its name or its #! line.
function isNodeFile(file: string): boolean {
  return /\.(c|m)?js$/.test(file) || /^#!.*\bnode\b/.test(readHead(file) ?? '');
}

/** Maps name, cwd, script, interpreter, args, node_args and source_map_support. */
export function mapProcess(m: AppMapping, taken: ReadonlySet<string>): void {
  mapName(m, taken);
  const cwd = m.take('cwd');
  if (cwd && typeof cwd.value === 'string' && cwd.value !== '') {
    m.draft.cwd = cwd.value;
    m.mapped(cwd, 'cwd');
  } else if (cwd) m.unsupported(cwd, `${shownValue(cwd.value)} is not a path`);
  const nodeArgs = m.take('node_args');
  const nodeList = nodeArgs ? argList(nodeArgs.value) : null;
  if (nodeArgs && nodeList) {
    m.draft.nodeArgs = nodeList;
    m.mapped(
      nodeArgs,
      'nodeArgs',
      typeof nodeArgs.value === 'string' ? 'split into words as PM2 splits them' : '',
    );
  } else if (nodeArgs) m.unsupported(nodeArgs, 'not a string or a list of strings');
  const sourceMaps = m.take('source_map_support');
  if (sourceMaps?.value === true) {
    m.draft.nodeArgs = [...(m.draft.nodeArgs ?? []), '--enable-source-maps'];
    m.changed(
      sourceMaps,
      'nodeArgs',
      "Node.js's own --enable-source-maps instead of the source-map-support module",
    );
  } else if (sourceMaps) m.mapped(sourceMaps, '', 'off: clusterd adds no source map support of its own');
  const args = m.take('args');
  const list = args ? argList(args.value) : null;
  if (args && !list) m.unsupported(args, 'not a string or a list of strings');
  mapScript(m, list, list ? args : undefined);
}
