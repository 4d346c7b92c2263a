// `clusterd init [dir]`: a starter config for the project in dir, from its package.json (init/detect.ts),
// checked by clusterd's own validation and written where the config search finds it first; never over
// another config without --force (init/placement.ts). What was written and what to run next go to
// stdout; what the user should fix or know, to stderr.
import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { formatIssue } from '../../config/format-issues.js';
import { configFilesIn } from '../../config/search-places.js';
import { ClusterdError, ConfigError, type ConfigIssue, ErrorCode, ExitCode } from '../../errors.js';
import { checkDraft } from '../../import/pm2/check.js';
import { pathKind, projectContext, readPackageJson } from '../../import/pm2/project.js';
import { DEFAULT_FILES, OUTPUT_FORMATS, type OutputFormat } from '../../import/pm2/render.js';
import { type Detection, detectApp, isAppName } from '../../init/detect.js';
import { placement } from '../../init/placement.js';
import { renderStarter, starterConfig } from '../../init/render.js';
import type { Io } from '../io.js';
import { escapeText } from '../terminal-text.js';
import { writeNew } from './export-kubernetes.js';

export interface InitOptions {
  /** The project directory; default: the working directory. */
  dir: string | undefined;
  format: string | undefined;
  name: string | undefined;
  script: string | undefined;
  force: boolean;
}

/** JSON, as the README's and the docs' examples are (and `import pm2` writes by default). */
export const DEFAULT_FORMAT: OutputFormat = 'json';

const usage = (message: string) =>
  new ClusterdError(ErrorCode.USAGE, `${message}\nRun "clusterd help" for usage.`, ExitCode.USAGE);

function checkOptions(options: InitOptions): OutputFormat {
  if (options.name !== undefined && !isAppName(options.name))
    throw usage(
      `--name must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(options.name)}`,
    );
  if (options.script !== undefined && options.script.trim() === '')
    throw usage('--script needs the file that starts the app, relative to the project directory');
  if (options.format === undefined) return DEFAULT_FORMAT;
  if (!OUTPUT_FORMATS.includes(options.format as OutputFormat))
    throw usage(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got "${options.format}"`);
  return options.format as OutputFormat;
}

const noScript = (dir: string, reasons: readonly string[]) =>
  new ClusterdError(
    ErrorCode.INIT,
    `found no Node.js file to run in ${dir}:\n${reasons.map((r) => `  ${r}\n`).join('')}Pass the file that starts the app: clusterd init --script server.js`,
    ExitCode.NO_INPUT,
  );

// A TS config imports defineConfig from clusterd: the project must have it installed to load it.
function hasClusterd(dir: string): boolean {
  try {
    createRequire(join(dir, 'package.json')).resolve('clusterd/package.json');
    return true;
  } catch {
    return false;
  }
}

function warnings(
  found: Extract<Detection, { ok: true }>,
  machine: ConfigIssue[],
  shadowed: string[],
  build: boolean,
) {
  const lines = found.notes.map((note) => `note: ${note}`);
  for (const place of shadowed)
    lines.push(`note: ${place} is a clusterd config too; the new file comes first now`);
  if (machine.length) {
    lines.push('clusterd validate and start will fail on this machine until this is fixed:');
    lines.push(...machine.map((issue) => `  ${formatIssue(issue)}`));
    if (machine.some((issue) => issue.code === ErrorCode.CONFIG_SCRIPT_NOT_FOUND))
      lines.push(`  (if a build makes the script, run the build first${build ? ': npm run build' : ''})`);
  }
  return lines;
}

// A path as a word to paste into a shell.
const shellWord = (path: string) => (/^[\w./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`);

export async function initCommand(options: InitOptions, io: Io): Promise<number> {
  const format = checkOptions(options);
  const dir = resolve(options.dir ?? '.');
  if (pathKind(dir) !== 'directory')
    throw new ClusterdError(ErrorCode.INIT, `${dir} is not a directory`, ExitCode.NO_INPUT);
  const file = DEFAULT_FILES[format];
  const target = join(dir, file);
  const place = placement(
    [...configFilesIn(dir)].map((found) => basename(found)),
    file,
    options.force,
  );
  if (!place.ok)
    throw new ClusterdError(
      ErrorCode.USAGE,
      options.dir === undefined ? place.reason : `${dir}: ${place.reason}`,
      ExitCode.FAILURE,
    );

  const pkg = readPackageJson(dir);
  const isFile = (path: string) => pathKind(resolve(dir, path)) === 'file';
  if (pkg === null && options.script === undefined && isFile('package.json'))
    throw noScript(dir, ['package.json is not a JSON object (fix it, or name the file)']);
  const { readJson, binTarget } = projectContext(dir);
  const found = detectApp({ pkg, dirName: basename(dir), isFile, readJson, binTarget }, options);
  if (!found.ok) throw noScript(dir, found.reasons);
  const { machine, invalid } = checkDraft(starterConfig(found.app), target, format);
  // Only package.json or the flags can make an invalid config (a 40,000-character argument): the user's.
  if (invalid.length) throw new ConfigError(invalid);
  writeNew(target, renderStarter(found.app, format, found), options.force);

  const here = relative(process.cwd(), dir);
  const arg = here === '' ? '' : ` ${shellWord(here)}`;
  io.stdout(
    escapeText(
      [
        `wrote ${target}`,
        `  app ${found.app.name}: runs ${found.app.script}, from ${found.source}${found.command ? `: ${found.command}` : ''}`,
        'Next:',
        `  clusterd validate${arg}   check it, and see what it resolves to`,
        `  clusterd start${arg}      run it in the foreground (Ctrl-C stops it gracefully)`,
        '',
      ].join('\n'),
    ),
  );
  const notes = warnings(found, machine, place.shadowed, typeof pkg?.scripts?.build === 'string');
  if (format === 'json')
    notes.push(
      `note: JSON has no comments: each key is described in clusterd's docs/configuration.md, and editors complete and explain them through "$schema"; clusterd init --format yaml writes a commented config`,
    );
  if (format === 'ts' && !hasClusterd(dir))
    notes.push(
      `note: ${file} imports defineConfig from clusterd, which this project does not have: npm install clusterd`,
    );
  if (notes.length) io.stderr(escapeText(`${notes.join('\n')}\n`));
  return ExitCode.OK;
}
