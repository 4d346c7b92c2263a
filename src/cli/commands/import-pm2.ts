// `clusterd import pm2 <file>`: a PM2 ecosystem file read (import/pm2/read.ts), converted, checked by
// clusterd's own validation and written as a clusterd config (beside it, -o FILE, or -o - for stdout);
// what became of each PM2 option is a table on stderr, so stdout carries the config alone.
import { lstatSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatIssue } from '../../config/format-issues.js';
import { ClusterdError, type ConfigIssue, ErrorCode, ExitCode } from '../../errors.js';
import { checkImported } from '../../import/pm2/check.js';
import { type Conversion, convertEcosystem, projectRoot } from '../../import/pm2/convert.js';
import { pathKind } from '../../import/pm2/project.js';
import { readEcosystem } from '../../import/pm2/read.js';
import {
  countVerdicts,
  DEFAULT_FILES,
  formatOf,
  OUTPUT_FORMATS,
  type OutputFormat,
  renderConfig,
  verdictTable,
} from '../../import/pm2/render.js';
import type { Io } from '../io.js';
import { escapeText } from '../terminal-text.js';
import { writeNew } from './export-kubernetes.js';

export interface ImportPm2Options {
  file: string;
  format: string | undefined;
  /** A file to write, or '-' for stdout; default: cluster.config.<format> beside the ecosystem file. */
  output: string | undefined;
  force: boolean;
  /** Where pm2 start ran (PM2 takes relative paths from there); default: the project root. */
  cwd?: string | undefined;
}

const usage = (message: string) =>
  new ClusterdError(ErrorCode.USAGE, `${message}\nRun "clusterd help" for usage.`, ExitCode.USAGE);

function chooseFormat(options: ImportPm2Options): OutputFormat {
  if (options.format === undefined)
    return (options.output && options.output !== '-' && formatOf(options.output)) || 'json';
  if (!OUTPUT_FORMATS.includes(options.format as OutputFormat))
    throw usage(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got "${options.format}"`);
  return options.format as OutputFormat;
}

const exists = (file: string) => {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
};

function report(
  conversion: Conversion,
  machine: readonly ConfigIssue[],
  written: string | null,
  root: string,
): string {
  const counts = countVerdicts(conversion.verdicts);
  const apps = conversion.config.apps.length;
  const left = conversion.dropped.length
    ? ` (${conversion.dropped.length} left out: ${conversion.dropped.join(', ')})`
    : '';
  const lines = [
    verdictTable(conversion.verdicts),
    `${apps} app${apps === 1 ? '' : 's'} imported${left}; options: ${counts.mapped} mapped, ${counts.changed} changed, ${counts.ignored} ignored, ${counts.unsupported} unsupported`,
    `PM2 took relative paths from where pm2 start ran, taken as ${root} (--cwd DIR to change it); the config has them from its own directory.`,
  ];
  if (machine.length)
    lines.push(
      'This machine cannot run the config yet:',
      ...machine.map((issue) => `  ${formatIssue(issue)}`),
    );
  if (written) lines.push(`wrote ${written}`);
  return `${lines.join('\n')}\n`;
}

export async function importPm2Command(options: ImportPm2Options, io: Io): Promise<number> {
  const toStdout = options.output === '-';
  if (toStdout && options.force) throw usage('--force applies to writing a file, not to -o - (stdout)');
  const format = chooseFormat(options);
  const source = resolve(options.file);
  const root = options.cwd === undefined ? projectRoot(dirname(source)) : resolve(options.cwd);
  if (options.cwd !== undefined && pathKind(root) !== 'directory')
    throw usage(`--cwd must be a directory (where pm2 start ran), got "${options.cwd}"`);
  const target =
    options.output === undefined || toStdout ? join(root, DEFAULT_FILES[format]) : resolve(options.output);
  // Before the ecosystem file runs: a refusal should not wait for (or follow) a module's side effects.
  if (!toStdout && !options.force && exists(target))
    throw new ClusterdError(
      ErrorCode.USAGE,
      `${target} exists; pass --force to overwrite it`,
      ExitCode.FAILURE,
    );
  const ecosystem = await readEcosystem(source);
  const conversion = convertEcosystem(ecosystem, dirname(target), root);
  const machine = checkImported(conversion.config, target, format);
  const text = renderConfig(conversion.config, format, source);
  if (toStdout) io.stdout(text);
  else writeNew(target, text, options.force);
  io.stderr(escapeText(report(conversion, machine, toStdout ? null : target, root)));
  io.stderr(escapeText(`${verdictLine(conversion, machine)}\n`));
  const lost = conversion.dropped.length > 0 || countVerdicts(conversion.verdicts).unsupported > 0;
  return !lost && machine.length === 0 ? ExitCode.OK : ExitCode.IMPORT_INCOMPLETE;
}

/** The one line that ends the report: whether every app runs as under PM2, and if not, what was lost. */
export function verdictLine(conversion: Conversion, machine: readonly ConfigIssue[]): string {
  const lost = [
    ...conversion.dropped.map((name) => `app ${name} left out`),
    ...conversion.verdicts
      .filter((v) => v.kind === 'unsupported' && !conversion.dropped.includes(v.app ?? ''))
      .map((v) => (v.app ? `${v.app}.${v.option}` : v.option)),
  ];
  if (lost.length) {
    const shown = lost.length > 6 ? [...lost.slice(0, 6), `${lost.length - 6} more`] : lost;
    return `clusterd: not everything was imported, behaviour is lost: ${shown.join(', ')} (see "unsupported" above)`;
  }
  if (machine.length)
    return 'clusterd: the config is written, but this machine cannot run it yet (see above)';
  const changed = countVerdicts(conversion.verdicts).changed;
  return `clusterd: every app runs as it did under PM2${changed ? ` (${changed} option${changed === 1 ? '' : 's'} work${changed === 1 ? 's' : ''} differently: see "changed" above)` : ''}`;
}
