// What runs: the app's name, its script (a file, a directory, `npm start`, a command line), the
// interpreter, its arguments, Node.js's options and the working directory. An app that does not run on
// Node.js is dropped here, with the reason.
import { basename, extname, join, resolve } from 'node:path';
import type { Found } from './catalogue.js';
import type { NodeCommand } from './command.js';
import { parseNodeCommand } from './command.js';
import type { AppMapping } from './mapping.js';
import { packageRunner, resolvePackageScript } from './npm.js';
import { directoryEntry, looksBinary, pathKind } from './project.js';
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

type Interpreter = 'node' | 'other-node' | 'bun' | 'other';

function interpreterKind(value: string): Interpreter {
  if (value === 'node' || value === 'nodejs') return 'node';
  if (/^node@/.test(value) || /(^|\/)node(js)?(\.exe)?$/.test(value)) return 'other-node';
  if (/(^|\/)bun$/.test(value)) return 'bun';
  return 'other';
}

function mapInterpreter(m: AppMapping, found: Found | undefined) {
  if (!found) return;
  const value = typeof found.value === 'string' ? found.value : '';
  switch (interpreterKind(value)) {
    case 'node':
      return m.mapped(found, '', 'workers run on the Node.js that runs clusterd');
    case 'other-node':
      return m.changed(
        found,
        '',
        `workers run on the Node.js that runs clusterd, not on ${shownValue(value)}`,
      );
    case 'bun':
      return m.changed(found, '', 'workers run on Node.js, not Bun: check that the app uses no Bun APIs');
    default:
      return m.drop(found, `its interpreter is ${shownValue(found.value)}: ${NOT_NODE}`);
  }
}

// A Node.js command (from npm or a command line) becomes the app's script, arguments, options and env.
function applyCommand(m: AppMapping, command: NodeCommand) {
  m.draft.script = command.script;
  if (command.args.length) m.draft.args = command.args;
  if (command.nodeArgs.length) m.draft.nodeArgs = [...(m.draft.nodeArgs ?? []), ...command.nodeArgs];
  if (Object.keys(command.env).length) m.draft.env = { ...command.env };
}

// A script that is a file (or a directory Node.js resolves to one), and the interpreter PM2 picks for it.
function mapFile(m: AppMapping, found: Found, script: string, interpreter: Found | undefined) {
  const file = resolve(m.dir, script);
  const kind = pathKind(file);
  if (kind === 'missing' && !script.includes('/') && extname(script) === '') {
    if (script === 'serve') return m.drop(found, `"serve" is PM2's static file server: ${NOT_NODE}`);
    return m.drop(
      found,
      `"${script}" is no file in ${m.dir}, so PM2 runs it as a program from PATH: ${NOT_NODE}`,
    );
  }
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
  if (!interpreter && BY_EXTENSION[ext])
    return m.drop(found, `PM2 runs a ${ext} file with ${BY_EXTENSION[ext]}: ${NOT_NODE}`);
  if (!interpreter && ext === '' && kind === 'file' && looksBinary(file))
    return m.drop(found, `${script} is a binary (PM2 runs it with interpreter "none"): ${NOT_NODE}`);
  if (!interpreter && TYPESCRIPT.has(ext))
    note = `PM2 runs TypeScript with Bun; clusterd runs it on Node.js, which strips the types (Node.js 22.18 and later)${note ? `; ${note}` : ''}`;
  if (note) m.changed(found, 'script', note);
  else m.mapped(found, 'script');
}

function mapScript(m: AppMapping, args: string[] | null, argsFound: Found | undefined) {
  const found = m.take('script');
  const interpreter = m.take('exec_interpreter');
  if (!found) return m.drop('(script not set)', 'an app needs a script; PM2 refuses it too');
  if (typeof found.value !== 'string' || found.value === '')
    return m.drop(found, `${shownValue(found.value)} is not a path; PM2 refuses it too`);
  mapInterpreter(m, interpreter);
  if (m.dropped) return;
  const script = found.value;
  const runner = packageRunner(script);
  if (runner && pathKind(resolve(m.dir, script)) !== 'file') {
    const resolved = resolvePackageScript(m.dir, runner, args ?? []);
    if (!resolved.ok)
      return m.drop(found, `${resolved.reason}; clusterd runs a Node.js file: set script to it`);
    applyCommand(m, resolved.command);
    const notes = [`clusterd runs ${resolved.command.script} itself, without ${runner}`, ...resolved.notes];
    m.changed(found, 'script, args', `${runner} runs package.json's "${resolved.line}": ${notes.join('; ')}`);
    if (argsFound)
      m.changed(argsFound, 'args', 'picked the package.json script; what follows it became args');
    return;
  }
  // PM2 runs a script with a space through `bash -c`, in place of its args.
  if (script.includes(' ')) {
    const parsed = parseNodeCommand(script);
    if (!parsed.ok)
      return m.drop(found, `PM2 runs this command line with bash, and ${parsed.reason}: ${NOT_NODE}`);
    applyCommand(m, parsed.command);
    m.changed(
      found,
      'script, args',
      'a command line PM2 runs with bash: clusterd runs its Node.js file itself',
    );
    if (argsFound) m.changed(argsFound, '', 'ignored: PM2 ignores args when script is a command line');
    return;
  }
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
