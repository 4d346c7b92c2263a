// What runs: the app's name, its script (a file, a directory, `npm start`, a command line), the
// interpreter, its arguments, Node.js's options and the working directory. An app that does not run on
// Node.js becomes a program (map-program.ts): the command PM2 spawns for it.
import { basename, extname, join, resolve } from 'node:path';
import type { Found } from './catalogue.js';
import {
  chdir,
  isNodeProgram,
  type Launch,
  type LaunchContext,
  type LaunchResult,
  packageRunner,
  resolveLine,
  resolveWords,
  scriptTarget,
} from './launch.js';
import {
  BY_EXTENSION,
  type Interpreter,
  type InterpreterUse,
  loaderPackage,
  mapInterpreter,
  needsTransform,
  TYPESCRIPT,
  typescriptLoader,
} from './map-interpreter.js';
import { mapName } from './map-name.js';
import { commandLine, executable, findOnPath, mapProgram, pythonInterpreter } from './map-program.js';
import type { AppMapping } from './mapping.js';
import { resolvePackageScript } from './npm.js';
import { directoryEntry, looksBinary, pathKind, projectContext, readHead } from './project.js';
import { argList, shownValue } from './values.js';

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

// Whatever PM2 runs as a program (npm, node, a bin, a command line): followed to its Node.js file, or,
// where it comes to a program that is not Node.js, the app becomes that program (`asProgram`).
function mapLaunch(
  m: AppMapping,
  found: Found,
  result: LaunchResult,
  how: string,
  argsFound: Found | undefined,
  argsNote: string,
  asProgram: (how: string) => void,
) {
  const { standIn } = context(m);
  if (!result.ok) {
    const why = `${how}, and ${result.reason}`;
    if (result.notNode) return asProgram(why);
    return m.drop(found, `${why}; set script to the Node.js file that serves`);
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

/** The app's script as PM2 runs it, for the mappers that follow it to a Node.js file or a program. */
interface Run {
  found: Found;
  script: string;
  args: string[] | null;
  argsFound: Found | undefined;
  /** interpreter_args (node_args): what PM2 passes to an interpreter before the script. */
  interpreterArgs: string[];
  /** The app becomes the program PM2 spawns for it; `how` says why it is one. */
  asProgram: (how: string) => void;
}

// A script that is a file (or a directory Node.js resolves to one), and the interpreter PM2 picks for it.
function mapFile(m: AppMapping, run: Run, interpreter: Interpreter) {
  const { found, script } = run;
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
  const byExtension = explicit ? undefined : BY_EXTENSION[ext];
  if (byExtension) return mapByExtension(m, run, byExtension, ext);
  if ((!explicit || interpreter === 'none') && kind === 'file' && !JAVASCRIPT.test(ext) && looksBinary(file))
    return run.asProgram(`${script} is a binary, which PM2 runs itself (interpreter "none")`);
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

const JAVASCRIPT = /^\.[cm]?[jt]s$/;

// A file without an interpreter that PM2 runs with one by its extension (.py, .sh, ...): a program.
function mapByExtension(m: AppMapping, run: Run, byExtension: string, ext: string) {
  const interpreter = byExtension === 'python' ? pythonInterpreter() : byExtension;
  const how =
    interpreter !== byExtension
      ? `PM2 runs a ${ext} file with python, or python3 where PATH has no python (as here)`
      : byExtension === 'coffee' || byExtension === 'lsc'
        ? `PM2 runs a ${ext} file with the ${byExtension} it bundles; clusterd runs ${byExtension} from PATH (install it)`
        : `PM2 runs a ${ext} file with ${byExtension}`;
  mapProgram(m, {
    found: run.found,
    how,
    interpreter,
    interpreterFound: undefined,
    command: [interpreter, ...run.interpreterArgs, m.draft.script ?? run.script, ...(run.args ?? [])],
    argsFound: run.argsFound,
  });
}

// A script run by an interpreter that is not Node.js (python3, bash, a virtualenv's python): the
// command PM2 spawns. A bare name that is no file is taken from PATH, as PM2 does (its `which`).
function mapInterpreted(m: AppMapping, run: Run, interpreter: string, interpreterFound: Found) {
  const { script } = run;
  const onPath =
    !script.includes('/') && pathKind(resolve(m.dir, script)) === 'missing' ? findOnPath(script) : null;
  mapProgram(m, {
    found: run.found,
    how: onPath
      ? `PM2 runs it with ${interpreter}; "${script}" is no file in ${m.dir}, so PM2 takes ${onPath} from PATH, as here`
      : `PM2 runs it with ${interpreter}`,
    interpreter,
    interpreterFound,
    command: [interpreter, ...run.interpreterArgs, onPath ?? script, ...(run.args ?? [])],
    argsFound: run.argsFound,
  });
}

// node_modules/.bin/<bin> as a script: the bin's JavaScript file (pnpm's .bin holds shell scripts).
const BIN_PATH = /(^|\/)node_modules\/\.bin\/([^/]+)$/;

function mapScript(
  m: AppMapping,
  args: string[] | null,
  argsFound: Found | undefined,
  interpreterArgs: string[],
) {
  const found = m.take('script');
  const interpreterFound = m.take('exec_interpreter');
  if (!found) return m.drop('(script not set)', 'an app needs a script; PM2 refuses it too');
  if (typeof found.value !== 'string' || found.value === '')
    return m.drop(found, `${shownValue(found.value)} is not a path; PM2 refuses it too`);
  const script = found.value;
  // `interpreter: 'bash'` with `script: 'pnpm'`: bash runs the package manager's own script.
  const shell =
    typeof interpreterFound?.value === 'string' && /^(ba|da|z)?sh$/.test(basename(interpreterFound.value))
      ? interpreterFound.value
      : null;
  const runsProgram =
    shell !== null && (packageRunner(script) !== null || isNodeProgram(script.split(' ')[0] ?? ''));
  const use: InterpreterUse | null =
    runsProgram && interpreterFound
      ? {
          kind: 'none',
          judge: () =>
            m.changed(
              interpreterFound,
              '',
              `${basename(String(interpreterFound.value))} runs ${basename(script)} as a program; clusterd runs the Node.js file it leads to`,
            ),
        }
      : mapInterpreter(m, interpreterFound);
  if (use === null) return;
  // The interpreter PM2 spawns the script with, when it is a program: bash for `bash pnpm start`, python3.
  const spawner =
    (runsProgram || use.kind === 'other') && interpreterFound ? String(interpreterFound.value) : null;
  const rest = args ?? [];
  const run: Run = {
    found,
    script,
    args,
    argsFound,
    interpreterArgs,
    asProgram: (how) =>
      mapProgram(m, {
        found,
        how,
        interpreter: spawner,
        // A Node.js interpreter (PM2 ran npm with node) is judged below: the program runs itself.
        interpreterFound: spawner !== null || use.kind === 'none' ? interpreterFound : undefined,
        command:
          spawner === null
            ? [executable(m, script), ...rest]
            : [spawner, ...interpreterArgs, script, ...rest],
        argsFound,
      }),
  };
  if (use.kind === 'other' && spawner !== null && interpreterFound)
    mapInterpreted(m, run, spawner, interpreterFound);
  else mapRun(m, run, use.kind, interpreterFound);
  if (m.dropped || !interpreterFound) return;
  if (!m.program) use.judge();
  else if (spawner === null && use.kind !== 'none')
    m.changed(
      interpreterFound,
      '',
      `PM2 runs ${basename(script)} with it; clusterd runs the program ${basename(script)} itself`,
    );
}

// The script followed to the Node.js file PM2 ends up running, or to the program it is.
function mapRun(m: AppMapping, run: Run, interpreter: Interpreter, interpreterFound: Found | undefined) {
  const { found, script, args, argsFound } = run;
  const { ctx } = context(m);
  const file = resolve(m.dir, script);
  const kind = pathKind(file);
  const words = [script, ...(args ?? [])];
  // PM2 runs a script with a space through `bash -c`, in place of its args.
  if (script.includes(' ') && kind !== 'file') {
    const result = resolveLine(script, ctx);
    const ignored = 'ignored: PM2 ignores args when script is a command line';
    return mapLaunch(
      m,
      found,
      result,
      'a command line PM2 runs with bash',
      argsFound,
      argsFound ? ignored : '',
      (how) => {
        const command = commandLine(script);
        mapProgram(m, {
          found,
          how: command[0] === 'bash' ? how : `${how}; clusterd runs its words, without a shell`,
          interpreter: null,
          interpreterFound: interpreter === 'none' ? interpreterFound : undefined,
          command,
          changed: command[0] !== 'bash',
        });
        if (argsFound) m.changed(argsFound, '', ignored);
      },
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
      run.asProgram,
    );
  }
  if (runner && kind !== 'file')
    return mapLaunch(
      m,
      found,
      resolveWords(words, {}, ctx),
      `PM2 runs ${words.join(' ')}`,
      argsFound,
      '',
      run.asProgram,
    );
  const bin = BIN_PATH.exec(script);
  if (bin || (kind === 'missing' && !script.includes('/') && extname(script) === '')) {
    if (script === 'serve' && !bin)
      return m.drop(
        found,
        `"serve" is PM2's static file server (pm2 serve): run a static file server as an app of its own`,
      );
    const result = resolveWords(bin ? [bin[2] as string, ...(args ?? [])] : words, {}, ctx);
    const how = bin
      ? `${script} is ${bin[2]}'s bin`
      : `"${script}" is no file in ${m.dir}, so PM2 runs it as a program from PATH`;
    return mapLaunch(m, found, result, how, argsFound, '', run.asProgram);
  }
  if (interpreter === 'none' && kind === 'file' && !looksBinary(file) && !isNodeFile(file))
    return run.asProgram(`PM2 runs ${script} itself (interpreter "none"), and it is no Node.js file`);
  // Not on this machine: what PM2 would run itself is a program, unless its name says JavaScript.
  if (interpreter === 'none' && kind === 'missing' && !/\.(c|m)?js$/.test(script))
    return run.asProgram(
      `PM2 runs ${script} itself (interpreter "none"), and it is no JavaScript file by its name (it is not on this machine to look into)`,
    );
  mapFile(m, run, interpreter);
  if (m.program || m.dropped) return;
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
  // Node.js's options, or, for a program, its interpreter's: judged once the script says which.
  const nodeArgs = m.take('node_args');
  const nodeList = nodeArgs ? argList(nodeArgs.value) : null;
  if (nodeArgs && nodeList) m.draft.nodeArgs = nodeList;
  else if (nodeArgs) m.unsupported(nodeArgs, 'not a string or a list of strings');
  const sourceMaps = m.take('source_map_support');
  if (sourceMaps?.value === true) m.draft.nodeArgs = [...(m.draft.nodeArgs ?? []), '--enable-source-maps'];
  const args = m.take('args');
  const list = args ? argList(args.value) : null;
  if (args && !list) m.unsupported(args, 'not a string or a list of strings');
  mapScript(m, list, list ? args : undefined, nodeList ?? []);
  const split = typeof nodeArgs?.value === 'string' ? 'split into words as PM2 splits them' : '';
  if (m.program) {
    const { interpreter } = m.program;
    if (nodeArgs && nodeList && interpreter !== null)
      m.mapped(
        nodeArgs,
        'command',
        `${interpreter}'s own, before the script, as PM2 passes them${split ? `; ${split}` : ''}`,
      );
    else if (nodeArgs && nodeList)
      m.ignored(nodeArgs, 'PM2 passes them to an interpreter only, and this program runs itself');
    if (sourceMaps?.value === true) m.ignored(sourceMaps, 'PM2 adds source map support to Node.js apps only');
    else if (sourceMaps) m.mapped(sourceMaps, '', 'off');
    return;
  }
  if (nodeArgs && nodeList) m.mapped(nodeArgs, 'nodeArgs', split);
  if (sourceMaps?.value === true)
    m.changed(
      sourceMaps,
      'nodeArgs',
      "Node.js's own --enable-source-maps instead of the source-map-support module",
    );
  else if (sourceMaps) m.mapped(sourceMaps, '', 'off: clusterd adds no source map support of its own');
}
