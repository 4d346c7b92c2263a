// An app that does not run on Node.js (Python, a shell script, a binary, gunicorn) becomes a clusterd
// program: `command`, the argument vector PM2 spawns (lib/God/ForkMode.js): the interpreter, its
// arguments (interpreter_args), the script and the script's args; or the script and its args when PM2
// runs the script itself (interpreter "none", a binary). map-process.ts decides when an app is one.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, relative, resolve } from 'node:path';
import type { Found } from './catalogue.js';
import { shellWords } from './command.js';
import type { AppMapping } from './mapping.js';
import { pathKind } from './project.js';
import { shownValue } from './values.js';

/** What PM2 spawns for an app that is a program, and how each option took part in it. */
export interface ProgramSpec {
  /** The script option. */
  found: Found;
  /** How PM2 runs it: the note of the script's verdict. */
  how: string;
  /** The interpreter PM2 runs the script with (as the file gives it, or picked by PM2), or null. */
  interpreter: string | null;
  /** The interpreter option, when the file sets one. */
  interpreterFound: Found | undefined;
  command: string[];
  /** The args option, when it became the end of the command. */
  argsFound?: Found | undefined;
  /** The args option's note (default: the words follow the script). */
  argsNote?: string;
  /** The command differs from what PM2 spawns (the words of a line PM2 runs with bash -c). */
  changed?: boolean;
}

/** Whether `path` is `dir` or lies under it. */
const isInside = (path: string, dir: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** The executable file `name` is on the importing machine's PATH, or null (PM2's `which`). */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(isAbsolute)) {
    const file = resolve(dir, name);
    try {
      if (pathKind(file) !== 'file') continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return null;
}

/**
 * The interpreter PM2 picks for a `.py` file without one (lib/Common.js resolveInterpreter): python,
 * or python3 where PATH has no python. Read on this machine, as PM2 reads it where `pm2 start` runs.
 */
export const pythonInterpreter = (path = process.env.PATH ?? ''): string =>
  findOnPath('python', path) ? 'python' : 'python3';

/**
 * A script PM2 runs itself, as the first element of a command: a path keeps its slash; a bare name that
 * is a file in the app's directory becomes `./name` (a bare name is looked up on PATH, as PM2 does for a
 * name that is no file).
 */
export function executable(m: AppMapping, script: string): string {
  if (script.includes('/')) return script;
  return pathKind(resolve(m.dir, script)) === 'file' ? `./${script}` : script;
}

/**
 * A command line PM2 runs with `bash -c` (a script with spaces) as a command: its words when it is one
 * plain command, else bash with the line.
 */
export function commandLine(line: string): string[] {
  const unquoted = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
  const words = /[|&;<>()`$*?~#{}[\]\\]/.test(unquoted) ? null : shellWords(line);
  const first = words?.[0];
  if (!words || first === undefined || /=/.test(first) || SHELL_WORDS.has(first)) return ['bash', '-c', line];
  return words;
}

// Words a shell treats itself rather than as a program to run.
const SHELL_WORDS = new Set([
  'cd',
  'exec',
  'export',
  'source',
  '.',
  'set',
  'ulimit',
  'umask',
  'trap',
  'eval',
]);

// A relative interpreter is taken from the app's cwd (by PM2's spawn and by clusterd alike); one that
// climbs out of the project makes the config depend on what lies around it.
function outsideProject(m: AppMapping, interpreter: string): string | null {
  if (!interpreter.includes('/') || isAbsolute(interpreter)) return null;
  const base = isInside(m.dir, m.root) ? m.root : m.dir;
  const file = resolve(m.dir, interpreter);
  if (isInside(file, base)) return null;
  return `its interpreter ${shownValue(interpreter)} is a relative path that leads out of the project (${base}), to ${file}: give the interpreter's absolute path in the ecosystem file`;
}

/** The app becomes a program running `spec.command`; every option that went into it gets its verdict. */
export function mapProgram(m: AppMapping, spec: ProgramSpec): void {
  const { found, interpreter, interpreterFound, command } = spec;
  const first = command[0] ?? '';
  const outside = interpreter !== null ? outsideProject(m, interpreter) : null;
  if (outside) {
    m.drop(interpreterFound ?? found, outside);
    return;
  }
  delete m.draft.script;
  delete m.draft.args;
  delete m.draft.nodeArgs;
  m.draft.command = command as [string, ...string[]];
  m.program = { interpreter };
  const note = `${spec.how}: imported as a program, command ${shownValue(command)}`;
  if (spec.changed) m.changed(found, 'command', note);
  else m.mapped(found, 'command', note);
  if (interpreterFound) {
    const where = first.includes('/')
      ? isAbsolute(first)
        ? ''
        : `, relative to the app's cwd as PM2 takes it`
      : ', found on PATH when the config loads, as PM2 finds it';
    m.mapped(
      interpreterFound,
      'command',
      interpreter === null
        ? `"none": PM2 runs the script itself, the command's first element${where}`
        : `the command's first element${where}`,
    );
  }
  if (spec.argsFound)
    m.mapped(
      spec.argsFound,
      'command',
      spec.argsNote ?? 'the command ends with them, split as PM2 splits them',
    );
  // PM2 sets PYTHONUNBUFFERED=1 for an interpreter with "python" in its name (lib/Common.js).
  if (interpreter?.includes('python')) {
    m.draft.env = { ...m.draft.env, PYTHONUNBUFFERED: '1' };
    m.mapped(
      '(PYTHONUNBUFFERED: set by PM2)',
      'env.PYTHONUNBUFFERED',
      'PM2 sets it to 1 for a Python interpreter: output reaches the logs as it is printed',
    );
  }
}
